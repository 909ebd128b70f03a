// See surgery_files.h.
#include "surgery_files.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>

#include <algorithm>
#include <filesystem>

#include "surgery/distill_spec.h"
#include "train/recipe.h"

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
  // The distillation recipe's keys from the recipe layer's own structs and field tables: only
  // the page's settings are set here, every other value is the recipe default.
  train::Recipe recipe;
  recipe.seq_len = s.seqLen;
  recipe.micro_batch_size = s.microBatch;
  Json distill = options_to_json(recipe, train::recipe_option_fields());
  distill.erase("name");  // the pipeline names its runs
  distill["optimizer"] = options_to_json(recipe.optimizer, train::adamw_option_fields());
  surgery::DistillOptions d;
  d.temperature = s.temperature;
  d.alpha = s.alpha;
  d.top_k = s.topK;
  distill["distill"] = options_to_json(d, surgery::distill_option_fields());
  train::LrSchedule schedule;
  schedule.kind = "cosine";
  schedule.peak_lr = s.peakLr;
  schedule.warmup_steps = 10;
  distill["stages"] = Json::array({Json{{"name", "distill"}, {"token_budget", s.tokenBudget}, {"sources", sources},
                                        {"schedule", train::lr_schedule_to_json(schedule)}}});
  train::ValidationSpec validation;
  validation.interval = s.validationInterval;
  validation.batches = 8;
  distill["validation"] = options_to_json(validation, train::validation_option_fields());
  distill["validation"]["paths"] = val;
  train::CheckpointSpec checkpoint;
  checkpoint.keep_last = 1;  // the pipeline keeps the final student only
  distill["checkpoint"] = options_to_json(checkpoint, train::checkpoint_option_fields());
  train::RuntimeSpec runtime;
  runtime.log_interval = 1;
  distill["runtime"] = options_to_json(runtime, train::runtime_option_fields());
  return Json{{"teacher", abs(s.teacher)}, {"target", surgery::target_shape_to_json(s.target)}, {"prune", prune},
              {"distill", distill}};
}

}  // namespace kanana::surgeryplugin
