// Background reward scoring (see reward_scorer.h).
#include "reward_scorer.h"

#include <QMetaObject>
#include <atomic>

#include "posttrain/reward_model.h"
#include "tokenizer/chat_template.h"

namespace kanana::annotate {

RewardScorer::RewardScorer(QObject* parent) : QObject(parent) {
  worker_ = new QObject;
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.setObjectName(QStringLiteral("annotate-reward"));
  thread_.start(QThread::LowPriority);
}

RewardScorer::~RewardScorer() {
  cancel_->cancel();
  thread_.quit();
  thread_.wait();
}

void RewardScorer::setFunction(RewardFunction function, const QString& label) {
  function_ = std::move(function);
  label_ = label;
  ++*generation_;  // results of an older scorer are dropped
  Q_EMIT ready(label_);
}

void RewardScorer::clear() {
  function_ = {};
  label_.clear();
  ++*generation_;
}

void RewardScorer::loadModel(const QString& dir) {
  auto cancel = cancel_;
  QMetaObject::invokeMethod(worker_, [this, dir, cancel] {
    auto rm = posttrain::RewardModel::load(dir.toStdString());
    if (!rm.is_ok()) {
      const QString message = QString::fromStdString(rm.status().message());
      QMetaObject::invokeMethod(this, [this, message] { Q_EMIT failed(message); }, Qt::QueuedConnection);
      return;
    }
    std::shared_ptr<posttrain::RewardModel> model = std::move(rm).value();
    RewardFunction f = [model](const Json& prompt, const std::vector<std::string>& replies,
                               const CancelToken* c) -> Result<std::vector<double>> {
      KANANA_ASSIGN_OR_RETURN(auto messages, tok::parse_chat_messages(prompt, "prompt"));
      return model->score_candidates(messages, replies, c);
    };
    const QString label = QStringLiteral("reward model %1").arg(dir);
    QMetaObject::invokeMethod(this, [this, f, label] { setFunction(f, label); }, Qt::QueuedConnection);
  }, Qt::QueuedConnection);
}

void RewardScorer::score(qint64 promptId, const Json& promptMessages,
                         const std::vector<std::pair<qint64, std::string>>& candidates) {
  if (!function_ || candidates.empty()) return;
  RewardFunction f = function_;
  auto cancel = cancel_;
  auto generation = generation_;
  const uint64_t asked = generation->load();
  QMetaObject::invokeMethod(worker_, [this, f, cancel, generation, asked, promptId, promptMessages, candidates] {
    if (generation->load() != asked) return;
    std::vector<std::string> replies;
    for (const auto& c : candidates) replies.push_back(c.second);
    Result<std::vector<double>> scores = internal_error("no scores");
    try {
      scores = f(promptMessages, replies, cancel.get());
    } catch (const std::exception& e) {
      scores = internal_error(std::string("scorer failed: ") + e.what());
    }
    if (!scores.is_ok()) {
      const QString message = QString::fromStdString(scores.status().message());
      QMetaObject::invokeMethod(this, [this, message] { Q_EMIT failed(message); }, Qt::QueuedConnection);
      return;
    }
    if (scores->size() != candidates.size()) {
      const QString message = tr("the scorer returned %1 scores for %2 candidates").arg(scores->size()).arg(candidates.size());
      QMetaObject::invokeMethod(this, [this, message] { Q_EMIT failed(message); }, Qt::QueuedConnection);
      return;
    }
    QList<qint64> ids;
    QList<double> values;
    for (size_t i = 0; i < candidates.size(); ++i) {
      ids << candidates[i].first;
      values << (*scores)[i];
    }
    QMetaObject::invokeMethod(this, [this, generation, asked, promptId, ids, values] {
      if (generation->load() == asked) Q_EMIT scored(promptId, ids, values);
    }, Qt::QueuedConnection);
  }, Qt::QueuedConnection);
}

}  // namespace kanana::annotate
