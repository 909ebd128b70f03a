// See eval_controller.h.
#include "eval_controller.h"

#include <QMetaObject>

#include <set>

#include "eval/results.h"
#include "store/workspace.h"

namespace kanana::evaluation {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

}  // namespace

EvalWorker::EvalWorker() = default;
EvalWorker::~EvalWorker() = default;

void EvalWorker::setWorkspace(const QString& path) {
  ws_.reset();
  if (path.isEmpty()) {
    Q_EMIT comparisonLoaded(std::make_shared<const ComparisonData>());
    Q_EMIT checkpointsListed({}, {});
    return;
  }
  auto ws = store::Workspace::open(path.toStdString());
  if (!ws.is_ok()) {
    Q_EMIT error(qs(ws.status().to_string()));
    return;
  }
  ws_ = std::move(ws).value();
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
  if (auto all = ws_->list_present_checkpoints(); all.is_ok()) {
    for (const auto& c : *all) checkpoints.append({c.id, c.name, ws_->resolve(c.path).string(), c.step});
  }
  QStringList datasets;
  if (auto ds = ws_->list_datasets("eval"); ds.is_ok()) {
    for (const auto& d : *ds) datasets << qs(ws_->resolve(d.path).string());
  }
  Q_EMIT checkpointsListed(checkpoints, datasets);
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
  qRegisterMetaType<kanana::evaluation::CheckpointEntry>();
  qRegisterMetaType<QList<kanana::evaluation::CheckpointEntry>>();
  EvalWorker* w = worker_.worker();
  connect(w, &EvalWorker::comparisonLoaded, this, &EvalController::comparisonLoaded);
  connect(w, &EvalWorker::checkpointsListed, this, &EvalController::checkpointsListed);
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
void EvalController::loadSamples(const QString& path, const QString& title, const QString& filter) {
  worker_.post([path, title, filter](EvalWorker* w) { w->loadSamples(path, title, filter); });
}

}  // namespace kanana::evaluation
