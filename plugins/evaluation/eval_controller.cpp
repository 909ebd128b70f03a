// See eval_controller.h.
#include "eval_controller.h"

#include <QMetaObject>

#include <set>

#include "eval/results.h"
#include "jobs/run_registry.h"
#include "store/workspace.h"

namespace kanana::evaluation {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

// The GUI polls often: keep each helper command (ssh, squeue) short.
jobs::LauncherOptions guiLauncherOptions() {
  jobs::LauncherOptions o;
  o.command_timeout_s = 15;
  return o;
}

}  // namespace

EvalWorker::EvalWorker() = default;
EvalWorker::~EvalWorker() = default;

void EvalWorker::setWorkspace(const QString& path) {
  registry_.reset();
  ws_.reset();
  if (path.isEmpty()) {
    Q_EMIT comparisonLoaded(std::make_shared<const ComparisonData>());
    Q_EMIT checkpointsListed({}, {});
    Q_EMIT runsListed({}, false);
    return;
  }
  auto ws = store::Workspace::open(path.toStdString());
  if (!ws.is_ok()) {
    Q_EMIT error(qs(ws.status().to_string()));
    return;
  }
  ws_ = std::move(ws).value();
  registry_ = std::make_unique<jobs::RunRegistry>(*ws_, guiLauncherOptions());
  reload();
}

void EvalWorker::reload() {
  if (!ws_) return;
  auto data = load_comparison(*ws_);
  if (!data.is_ok()) {
    Q_EMIT error(qs(data.status().to_string()));
  } else {
    Q_EMIT comparisonLoaded(std::make_shared<const ComparisonData>(std::move(data).value()));
  }
  QList<CheckpointEntry> checkpoints;
  if (auto all = ws_->list_checkpoints(); all.is_ok()) {
    for (const auto& c : *all) checkpoints.append({c.id, c.name, ws_->resolve(c.path).string(), c.step});
  }
  QStringList datasets;
  if (auto ds = ws_->list_datasets("eval"); ds.is_ok()) {
    for (const auto& d : *ds) datasets << qs(ws_->resolve(d.path).string());
  }
  Q_EMIT checkpointsListed(checkpoints, datasets);
  listRuns();
}

void EvalWorker::listRuns() {
  QList<EvalRunRow> rows;
  bool active = false;
  auto runs = ws_->list_runs();
  if (!runs.is_ok()) {
    Q_EMIT error(qs(runs.status().to_string()));
    return;
  }
  for (auto it = runs->rbegin(); it != runs->rend(); ++it) {
    if (it->kind != "eval") continue;
    EvalRunRow row;
    row.id = it->id;
    row.name = qs(it->name);
    row.state = QString::fromLatin1(store::run_state_name(it->state));
    Json meta = Json::parse(it->meta_json.empty() ? "{}" : it->meta_json, nullptr, false);
    if (meta.is_object() && meta.contains("reason") && meta["reason"].is_string()) row.reason = qs(meta["reason"].get<std::string>());
    active = active || it->state == store::RunState::kQueued || it->state == store::RunState::kRunning;
    rows.append(row);
  }
  Q_EMIT runsListed(rows, active);
}

void EvalWorker::launch(const JobSpecs& specs) {
  if (!registry_) {
    Q_EMIT launchFailed(tr("no workspace is open"));
    return;
  }
  QList<qint64> ids;
  for (const auto& spec : specs) {
    auto id = registry_->launch(spec);
    if (!id.is_ok()) {
      Q_EMIT launchFailed(qs(spec.name + ": " + id.status().to_string()));
      break;
    }
    ids.append(*id);
  }
  if (!ids.isEmpty()) Q_EMIT launched(ids);
  listRuns();
}

void EvalWorker::poll() {
  if (!registry_ || !ws_) return;
  bool ended = false;
  for (store::RunState s : {store::RunState::kQueued, store::RunState::kRunning}) {
    auto runs = ws_->list_runs(s);
    if (!runs.is_ok()) continue;
    for (const auto& run : *runs) {
      if (run.kind != "eval") continue;
      auto r = registry_->refresh(run.id);
      if (r.is_ok() && jobs::is_final(r->state)) ended = true;
    }
  }
  if (ended) {
    reload();
  } else {
    listRuns();
  }
}

void EvalWorker::loadSamples(const QString& path, const QString& title, const QString& filter) {
  auto s = eval::read_samples(path.toStdString());
  if (!s.is_ok()) {
    Q_EMIT error(qs(s.status().to_string()));
    return;
  }
  Q_EMIT samplesLoaded(std::make_shared<const std::vector<Json>>(std::move(s).value()), title, filter);
}

// ---- controller

EvalController::EvalController(QObject* parent) : QObject(parent), worker_(this, QStringLiteral("kanana-eval")) {
  qRegisterMetaType<kanana::evaluation::ComparisonPtr>();
  qRegisterMetaType<kanana::evaluation::SamplesPtr>();
  qRegisterMetaType<kanana::evaluation::JobSpecs>();
  qRegisterMetaType<kanana::evaluation::EvalRunRow>();
  qRegisterMetaType<QList<kanana::evaluation::EvalRunRow>>();
  qRegisterMetaType<kanana::evaluation::CheckpointEntry>();
  qRegisterMetaType<QList<kanana::evaluation::CheckpointEntry>>();
  EvalWorker* w = worker_.worker();
  connect(w, &EvalWorker::comparisonLoaded, this, &EvalController::comparisonLoaded);
  connect(w, &EvalWorker::checkpointsListed, this, &EvalController::checkpointsListed);
  connect(w, &EvalWorker::runsListed, this, &EvalController::runsListed);
  connect(w, &EvalWorker::launched, this, &EvalController::launched);
  connect(w, &EvalWorker::launchFailed, this, &EvalController::launchFailed);
  connect(w, &EvalWorker::samplesLoaded, this, &EvalController::samplesLoaded);
  connect(w, &EvalWorker::error, this, &EvalController::error);
  worker_.start();
}

EvalController::~EvalController() = default;

void EvalController::setWorkspace(const QString& path) {
  worker_.post([path](EvalWorker* w) { w->setWorkspace(path); });
}
void EvalController::reload() {
  worker_.post([](EvalWorker* w) { w->reload(); });
}
void EvalController::launch(const JobSpecs& specs) {
  worker_.post([specs](EvalWorker* w) { w->launch(specs); });
}
void EvalController::poll() {
  worker_.post([](EvalWorker* w) { w->poll(); });
}
void EvalController::loadSamples(const QString& path, const QString& title, const QString& filter) {
  worker_.post([path, title, filter](EvalWorker* w) { w->loadSamples(path, title, filter); });
}

}  // namespace kanana::evaluation
