// See surgery_controller.h. The only LibTorch translation unit of the plugin.
#include "surgery_controller.h"

#include <torch/torch.h>

#include <QDateTime>
#include <QDir>
#include <QFileInfo>

#include <map>

#include "jobs/job_spec.h"
#include "sdk/job_service.h"
#include "model/checkpoint.h"
#include "model/generate.h"
#include "store/workspace.h"
#include "surgery/importance_estimation.h"
#include "surgery/pipeline.h"
#include "tokenizer/tokenizer.h"

namespace kanana::surgeryplugin {
namespace {

namespace fs = std::filesystem;

// Estimation progress as signals on the controller's thread, at most ~10 per second.
class SignalProgress final : public Progress {
 public:
  explicit SignalProgress(SurgeryController* c) : c_(c) {}
  void update(int64_t done, int64_t total, const std::string& note) override {
    const auto now = std::chrono::steady_clock::now();
    if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    QMetaObject::invokeMethod(
        c_, [c = c_, done, total, note = QString::fromStdString(note)] { Q_EMIT c->progress(done, total, note); },
        Qt::QueuedConnection);
  }
  void finish(const std::string&) override {}

 private:
  SurgeryController* c_;
  std::chrono::steady_clock::time_point last_{};
};

model::LoadOptions cpuFloat() {
  model::LoadOptions lo;
  lo.dtype = torch::kFloat32;  // CPU: bf16 matmuls are slow, and fp32 equals bf16 weights exactly
  return lo;
}

QString folderName(const QString& name) {
  QString clean;
  for (QChar c : name.isEmpty() ? QStringLiteral("surgery") : name)
    clean.append(c.isLetterOrNumber() || c == QLatin1Char('-') || c == QLatin1Char('_') ? c : QLatin1Char('_'));
  return clean + QLatin1Char('-') + QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmss"));
}

}  // namespace

struct SurgeryController::Models {
  std::map<std::string, model::LlamaForCausalLM> loaded;
  std::map<std::string, std::shared_ptr<const tok::Tokenizer>> tokenizers;
  Result<model::LlamaForCausalLM> get(const std::string& dir) {
    auto it = loaded.find(dir);
    if (it != loaded.end()) return it->second;
    KANANA_ASSIGN_OR_RETURN(auto m, model::load_model(dir, cpuFloat()));
    m.model->eval();
    if (loaded.size() >= 4) loaded.clear();  // a handful of small models at most
    loaded.insert_or_assign(dir, m.model);
    return m.model;
  }
};

SurgeryController::SurgeryController(gui::JobService* jobs, QObject* parent)
    : QObject(parent), jobs_(jobs), worker_(new QObject), models_(std::make_shared<Models>()) {
  qRegisterMetaType<std::shared_ptr<const surgery::ImportanceScores>>();
  qRegisterMetaType<GenerationPair>();
  thread_.setObjectName(QStringLiteral("surgery-worker"));
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.start();
  // A pipeline counts as in flight until the service has launched it (or failed to).
  auto done = [this](quint64 ticket) {
    if (!launches_.contains(ticket)) return false;
    if (--pending_ == 0) Q_EMIT idle();
    return true;
  };
  connect(jobs_, &gui::JobService::launched, this, [this, done](quint64 ticket, qint64 id) {
    if (!done(ticket)) return;
    Q_EMIT pipelineLaunched(id, launches_.take(ticket));
  });
  connect(jobs_, &gui::JobService::launchFailed, this, [this, done](quint64 ticket, const QString& error) {
    if (!done(ticket)) return;
    launches_.remove(ticket);
    Q_EMIT failed(QStringLiteral("pipeline"), error);
  });
}

SurgeryController::~SurgeryController() {
  cancel_.cancel();
  thread_.quit();
  thread_.wait();
}

template <typename F>
void SurgeryController::deliver(F&& f) {
  QMetaObject::invokeMethod(this, std::forward<F>(f), Qt::QueuedConnection);
}

void SurgeryController::fail(const QString& what, const std::string& error) {
  deliver([this, what, e = QString::fromStdString(error)] { Q_EMIT failed(what, e); });
}

template <typename F>
void SurgeryController::post(F&& work) {
  ++pending_;
  QMetaObject::invokeMethod(
      worker_,
      [this, work = std::forward<F>(work)]() mutable {
        cancel_.reset();
        try {
          work();
        } catch (const std::exception& e) {
          fail(QStringLiteral("internal"), e.what());
        }
        deliver([this] {
          if (--pending_ == 0) Q_EMIT idle();
        });
      },
      Qt::QueuedConnection);
}

void SurgeryController::computeImportance(const ImportanceRequest& r) {
  post([this, r] {
    if (r.threads > 0) torch::set_num_threads(r.threads);
    surgery::CalibrationSpec cs;
    cs.pack = r.pack.toStdString();
    cs.samples = r.samples;
    cs.seq_len = r.seqLen;
    auto source = surgery::open_calibration(cs);
    if (!source) return fail(QStringLiteral("importance"), source.status().message());
    auto m = models_->get(r.model.toStdString());
    if (!m) return fail(QStringLiteral("importance"), m.status().message());
    SignalProgress progress(this);
    auto scores = surgery::estimate_importance(*m, **source, r.options, &progress, &cancel_);
    if (!scores) return fail(QStringLiteral("importance"), scores.status().message());
    if (!r.outFile.isEmpty()) {
      if (auto st = surgery::write_importance(r.outFile.toStdString(), *scores); !st)
        return fail(QStringLiteral("importance"), st.message());
    }
    deliver([this, s = std::make_shared<const surgery::ImportanceScores>(std::move(*scores)), file = r.outFile] {
      Q_EMIT importanceReady(s, file);
    });
  });
}

void SurgeryController::loadScores(const QString& modelDir, const QString& file) {
  post([this, modelDir, file] {
    auto scores = surgery::read_importance(file.toStdString());
    if (!scores) return fail(QStringLiteral("scores"), scores.status().message());
    auto m = models_->get(modelDir.toStdString());
    if (!m) return fail(QStringLiteral("scores"), m.status().message());
    auto st = surgery::check_importance_matches(*scores, surgery::model_fingerprint(*m), (*m)->config(),
                                                QFileInfo(file).fileName().toStdString());
    if (!st) return fail(QStringLiteral("scores"), st.message());
    deliver([this, s = std::make_shared<const surgery::ImportanceScores>(std::move(*scores)), file] {
      Q_EMIT scoresLoaded(s, file);
    });
  });
}

void SurgeryController::findSavedScores(const QString& modelDir, const QStringList& files) {
  post([this, modelDir, files] {
    auto m = models_->get(modelDir.toStdString());
    if (!m) return;
    const auto fp = surgery::model_fingerprint(*m);
    for (const QString& file : files) {
      auto scores = surgery::read_importance(file.toStdString());
      if (!scores || !surgery::check_importance_matches(*scores, fp, (*m)->config(), "saved scores").is_ok()) continue;
      return deliver([this, s = std::make_shared<const surgery::ImportanceScores>(std::move(*scores)), file] {
        Q_EMIT scoresLoaded(s, file);
      });
    }
  });
}

void SurgeryController::generate(const QString& teacher, const QString& student, const QString& prompt, int maxNew) {
  post([this, teacher, student, prompt, maxNew] {
    GenerationPair pair;
    pair.prompt = prompt;
    for (int which = 0; which < 2; ++which) {
      const std::string dir = (which == 0 ? teacher : student).toStdString();
      auto m = models_->get(dir);
      if (!m) return fail(QStringLiteral("generate"), m.status().message());
      auto& toks = models_->tokenizers;
      if (!toks.count(dir)) {
        // A distillation checkpoint may lack tokenizer files: the teacher's is the same tokenizer.
        auto t = tok::load_tokenizer(dir);
        if (!t) t = tok::load_tokenizer(teacher.toStdString());
        if (!t) return fail(QStringLiteral("generate"), t.status().message());
        toks[dir] = *t;
      }
      auto tk = toks[dir];
      tok::EncodeOptions eo;
      eo.add_bos = tk->bos_id().has_value();
      model::GenerationOptions go;
      go.max_new_tokens = maxNew;
      go.temperature = 0.8;
      go.top_p = 0.95;
      go.seed = 1;  // the same sampling stream for both models
      auto r = model::generate(*m, {tk->encode(prompt.toStdString(), eo)}, go, tk, {}, &cancel_);
      if (!r) return fail(QStringLiteral("generate"), r.status().message());
      (which == 0 ? pair.teacher : pair.student) = QString::fromStdString(r->sequences.at(0).text);
    }
    deliver([this, pair] { Q_EMIT generated(pair); });
  });
}

void SurgeryController::launchPipeline(const QString& name, const PipelineSettings& settings) {
  const QString workspace = jobs_->workspacePath();
  if (workspace.isEmpty()) return fail(QStringLiteral("pipeline"), "open a workspace first: runs are recorded there");
  post([this, workspace, name, settings] {
    auto fail = [this](const std::string& m) { this->fail(QStringLiteral("pipeline"), m); };
    auto spec_json = pipelineSpecJson(settings);
    if (!spec_json) return fail(spec_json.status().message());
    // The spec is checked (teacher, target, recipe keys) before anything is launched.
    if (auto parsed = surgery::parse_pipeline_spec(*spec_json, "pipeline spec", {}); !parsed) return fail(parsed.status().message());
    auto ws = store::Workspace::open(workspace.toStdString());
    if (!ws) return fail(ws.status().message());
    const fs::path run_dir = (*ws)->runs_dir() / folderName(name).toStdString();
    std::error_code ec;
    fs::create_directories(run_dir, ec);
    if (ec) return fail("creating " + run_dir.string() + ": " + ec.message());
    const fs::path spec_file = run_dir / "pipeline-spec.json";
    if (auto st = write_json_file(spec_file, *spec_json); !st) return fail(st.message());
    jobs::JobSpec spec;
    spec.name = name.isEmpty() ? "prune-distill" : name.toStdString();
    spec.kind = "distill";
    spec.run_dir = run_dir.string();
    spec.recipe_path = spec_file.string();
    spec.recipe = *spec_json;
    const int threads = std::max(1, QThread::idealThreadCount());
    spec.command = {"kanana", "surgery", "pipeline", "--spec", spec_file.string(), "--run-dir", "{run_dir}", "--threads",
                    std::to_string(threads), "--quiet"};
    spec.env["OMP_NUM_THREADS"] = std::to_string(threads);
    for (const QString& p : settings.trainPacks) spec.inputs.push_back(QFileInfo(p).absoluteFilePath().toStdString());
    ++pending_;  // until the service answers
    deliver([this, spec, dir = QString::fromStdString(run_dir.string())] {
      gui::JobLaunch launch;
      launch.spec = spec;
      launch.localDir = dir;
      launches_.insert(jobs_->launch(launch), dir);
    });
  });
}

}  // namespace kanana::surgeryplugin
