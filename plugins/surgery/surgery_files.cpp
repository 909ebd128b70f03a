// See surgery_files.h.
#include "surgery_files.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>

#include <algorithm>
#include <filesystem>

namespace kanana::surgeryplugin {
namespace {

namespace fs = std::filesystem;

bool isModelDir(const fs::path& dir) {
  std::error_code ec;
  return fs::exists(dir / "config.json", ec) &&
         (fs::exists(dir / "model.safetensors", ec) || fs::exists(dir / "model.safetensors.index.json", ec));
}

QString rel(const fs::path& root, const fs::path& p) {
  return QString::fromStdString(p.lexically_relative(root).string());
}

std::vector<fs::path> subdirs(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_directory(ec)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

QString safeName(const QString& s) {
  QString out;
  for (QChar c : s) out.append(c.isLetterOrNumber() || c == QLatin1Char('-') || c == QLatin1Char('_') ? c : QLatin1Char('_'));
  return out;
}

}  // namespace

QList<FoundItem> findModels(const QString& workspaceDir) {
  QList<FoundItem> out;
  if (workspaceDir.isEmpty()) return out;
  const fs::path root = workspaceDir.toStdString();
  auto add = [&](const fs::path& p) {
    if (isModelDir(p)) out.append({rel(root, p), QString::fromStdString(fs::absolute(p).string())});
  };
  for (const auto& m : subdirs(root / "models")) add(m);
  for (const auto& run : subdirs(root / "runs")) {
    add(run / "student");
    auto ckpts = subdirs(run / "checkpoints");
    std::reverse(ckpts.begin(), ckpts.end());  // step-NNN sorts by step: newest first
    for (const auto& c : ckpts) add(c);
  }
  return out;
}

QList<FoundItem> findPacks(const QString& workspaceDir) {
  QList<FoundItem> out;
  if (workspaceDir.isEmpty()) return out;
  const fs::path root = workspaceDir.toStdString();
  std::error_code ec;
  if (!fs::is_directory(root / "data", ec)) return out;
  for (auto it = fs::recursive_directory_iterator(root / "data", ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    if (it.depth() > 4) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || it->path().filename() != "manifest.json") continue;
    auto j = read_json_file(it->path());
    if (j && j->is_object() && j->value("format", "") == "kanana-token-shards")
      out.append({rel(root, it->path().parent_path()), QString::fromStdString(fs::absolute(it->path().parent_path()).string())});
  }
  std::sort(out.begin(), out.end(), [](const FoundItem& a, const FoundItem& b) { return a.label < b.label; });
  return out;
}

QString importanceFileFor(const QString& workspaceDir, const QString& modelDir) {
  const QDir model(modelDir);
  QString name = model.dirName();
  QDir parent = model;
  if (parent.cdUp() && parent.dirName() == QLatin1String("checkpoints") && parent.cdUp()) name = parent.dirName() + QLatin1Char('-') + name;
  return QDir(workspaceDir).filePath(QStringLiteral("surgery/importance-") + safeName(name) + QLatin1Char('-') +
                                     QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmss")) +
                                     QStringLiteral(".json"));
}

QStringList importanceFilesFor(const QString& workspaceDir, const model::LlamaConfig& config) {
  QStringList out;
  if (workspaceDir.isEmpty()) return out;
  auto key = [](model::LlamaConfig c) {
    c.torch_dtype = "float32";
    return model::llama_config_to_json(c);
  };
  const Json want = key(config);
  const QDir dir(QDir(workspaceDir).filePath(QStringLiteral("surgery")));
  for (const QFileInfo& f : dir.entryInfoList({QStringLiteral("importance-*.json")}, QDir::Files, QDir::Time)) {
    auto j = read_json_file(f.absoluteFilePath().toStdString());
    if (!j || !j->is_object() || !j->contains("config")) continue;
    auto c = model::parse_llama_config((*j)["config"], f.fileName().toStdString());
    if (c && key(*c) == want) out << f.absoluteFilePath();
  }
  return out;
}

Result<Json> pipelineSpecJson(const PipelineSettings& s) {
  auto abs = [](const QString& p) { return QFileInfo(p).absoluteFilePath().toStdString(); };
  if (s.teacher.isEmpty()) return invalid_argument("pipeline: choose a teacher model");
  if (s.calibrationPack.isEmpty()) return invalid_argument("pipeline: choose a calibration pack");
  if (s.trainPacks.isEmpty()) return invalid_argument("pipeline: choose the distillation data (token packs)");
  if (s.steps < 1) return invalid_argument("pipeline: pruning steps must be at least 1");
  if (s.tokenBudget < s.seqLen * s.microBatch)
    return invalid_argument("pipeline: the token budget is smaller than one batch (" + std::to_string(s.seqLen * s.microBatch) + " tokens)");
  if (!(s.peakLr > 0)) return invalid_argument("pipeline: the learning rate must be positive");
  Json importance = {{"batch", surgery::aggregation_name(s.importance.batch)},
                     {"sequence", surgery::aggregation_name(s.importance.sequence)},
                     {"sum_channels_over_layers", s.importance.sum_channels_over_layers},
                     {"layer_loss", s.importance.layer_loss},
                     {"batch_size", s.importance.batch_size}};
  Json prune = {{"steps", s.steps},
                {"importance", importance},
                {"calibration", {{"pack", abs(s.calibrationPack)}, {"samples", s.calibrationSamples}, {"seq_len", s.calibrationSeqLen}}}};
  if (!s.importanceFile.isEmpty()) prune["importance_file"] = abs(s.importanceFile);
  Json sources = Json::array();
  for (const QString& p : s.trainPacks)
    sources.push_back({{"name", QFileInfo(p).fileName().toStdString()}, {"path", abs(p)}, {"weight", 1.0}});
  Json val = Json::array();
  for (const QString& p : s.trainPacks) val.push_back(abs(p));
  Json distill = {{"seq_len", s.seqLen},
                  {"micro_batch_size", s.microBatch},
                  {"grad_accum", 1},
                  {"seed", 1234},
                  {"optimizer", {{"beta1", 0.9}, {"beta2", 0.95}, {"weight_decay", 1e-4}, {"weight_decay_mode", "independent"}}},
                  {"grad_clip", 1.0},
                  {"distill", {{"temperature", s.temperature}, {"alpha", s.alpha}, {"top_k", s.topK}}},
                  {"stages", Json::array({Json{{"name", "distill"},
                                               {"token_budget", s.tokenBudget},
                                               {"sources", sources},
                                               {"schedule", {{"kind", "cosine"}, {"peak_lr", s.peakLr}, {"warmup_steps", 10},
                                                             {"min_lr_ratio", 0.1}}}}})},
                  {"validation", {{"paths", val}, {"interval", s.validationInterval}, {"batches", 8}}},
                  {"checkpoint", {{"interval", 0}, {"keep_last", 1}}},
                  {"runtime", {{"dtype", "float32"}, {"log_interval", 1}}}};
  return Json{{"teacher", abs(s.teacher)}, {"target", surgery::target_shape_to_json(s.target)}, {"prune", prune},
              {"distill", distill}};
}

QString kananaBinary() {
  if (QCoreApplication::instance()) {
    const QString dir = QCoreApplication::applicationDirPath();
    for (const QString& c : {dir + QStringLiteral("/kanana"), dir + QStringLiteral("/../bin/kanana")})
      if (QFileInfo(c).isExecutable()) return QFileInfo(c).canonicalFilePath();
  }
  if (qEnvironmentVariableIsSet("KANANA_BINARY")) return qEnvironmentVariable("KANANA_BINARY");
  return QStringLiteral("kanana");
}

}  // namespace kanana::surgeryplugin
