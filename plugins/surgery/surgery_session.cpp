// See surgery_session.h.
#include "surgery_session.h"

#include <QDir>

namespace kanana::surgeryplugin {

QString humanCount(double n) {
  if (n >= 1e9) return QString::number(n / 1e9, 'f', 2) + QLatin1Char('B');
  if (n >= 1e6) return QString::number(n / 1e6, 'f', 2) + QLatin1Char('M');
  if (n >= 1e3) return QString::number(n / 1e3, 'f', 1) + QLatin1Char('K');
  return QString::number(n, 'f', 0);
}

TargetPreview computePreview(const model::LlamaConfig& source, const surgery::TargetShape& target,
                             const surgery::ImportanceScores* scores, int64_t context, bool depthByLoss) {
  TargetPreview p;
  p.source = surgery::shape_stats(source, context);
  auto cfg = surgery::target_config(source, target);
  if (!cfg) {
    p.error = QString::fromStdString(cfg.status().message());
    return p;
  }
  p.valid = true;
  p.config = *cfg;
  p.target = surgery::shape_stats(*cfg, context);
  surgery::PlanOptions po;
  po.depth_by_loss = depthByLoss;
  auto plan = surgery::plan_from_importance(source, *cfg, scores, po);
  if (plan) {
    p.plan = *plan;
    if (scores) p.removed = surgery::removed_mass(*plan, *scores, depthByLoss);
  }
  return p;
}

SurgerySession::SurgerySession(QObject* parent) : QObject(parent) {}

bool SurgerySession::openModel(const QString& dir, QString* error) {
  auto cfg = model::read_llama_config(QDir(dir).absolutePath().toStdString());
  if (!cfg) {
    if (error) *error = QString::fromStdString(cfg.status().message());
    return false;
  }
  modelPath_ = QDir(dir).absolutePath();
  config_ = *cfg;
  scores_.reset();
  scoresFile_.clear();
  target_ = {};
  Q_EMIT modelChanged();
  Q_EMIT scoresChanged();
  update();
  return true;
}

void SurgerySession::setScores(std::shared_ptr<const surgery::ImportanceScores> scores, const QString& file) {
  scores_ = std::move(scores);
  scoresFile_ = file;
  Q_EMIT scoresChanged();
  update();
}

void SurgerySession::clearScores() { setScores(nullptr, {}); }

void SurgerySession::setTarget(const surgery::TargetShape& target) {
  target_ = target;
  update();
}

void SurgerySession::setContextLength(int64_t tokens) {
  context_ = std::max<int64_t>(0, tokens);
  update();
}

void SurgerySession::setDepthByLoss(bool on) {
  depthByLoss_ = on;
  update();
}

void SurgerySession::update() {
  if (!config_) return;
  const surgery::ImportanceScores* s = scores_ ? scores_.get() : nullptr;
  // Scores of another shape (stale) are not used for the plan.
  if (s && (s->config.hidden_size != config_->hidden_size || s->config.num_hidden_layers != config_->num_hidden_layers ||
            s->config.intermediate_size != config_->intermediate_size ||
            s->config.num_attention_heads != config_->num_attention_heads))
    s = nullptr;
  preview_ = computePreview(*config_, target_, s, context_, depthByLoss_);
  Q_EMIT previewChanged();
}

}  // namespace kanana::surgeryplugin
