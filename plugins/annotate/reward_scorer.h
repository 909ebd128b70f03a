// Best-of-N scoring of candidates for the annotation page, in the background. The scorer is a
// function (prompt messages, candidate replies) → one score per reply; loadModel() makes it a
// Bradley–Terry reward model (posttrain::RewardModel: an HF LlamaForSequenceClassification
// folder or a "reward" training checkpoint), and setFunction() accepts any other scorer (a
// remote judge, a heuristic, a test double).
//
// Threading: call everything on the GUI thread. Loading and scoring run on the scorer's own
// thread, one request after another; results arrive as queued signals.
#pragma once

#include <QList>
#include <QObject>
#include <QString>
#include <QThread>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/progress.h"
#include "base/status.h"

namespace kanana::annotate {

using RewardFunction = std::function<Result<std::vector<double>>(const Json& prompt_messages,
                                                                 const std::vector<std::string>& replies,
                                                                 const CancelToken* cancel)>;

class RewardScorer : public QObject {
  Q_OBJECT
 public:
  explicit RewardScorer(QObject* parent = nullptr);
  ~RewardScorer() override;

  void setFunction(RewardFunction function, const QString& label);
  void loadModel(const QString& dir);  // ready() or failed() follows
  void clear();
  bool available() const { return static_cast<bool>(function_); }
  QString label() const { return label_; }

  void score(qint64 promptId, const Json& promptMessages, const std::vector<std::pair<qint64, std::string>>& candidates);

 Q_SIGNALS:
  void ready(const QString& label);
  void scored(qint64 promptId, const QList<qint64>& candidateIds, const QList<double>& scores);
  void failed(const QString& message);

 private:
  QThread thread_;
  QObject* worker_ = nullptr;
  RewardFunction function_;
  QString label_;
  std::shared_ptr<CancelToken> cancel_ = std::make_shared<CancelToken>();
  std::shared_ptr<std::atomic<uint64_t>> generation_ = std::make_shared<std::atomic<uint64_t>>(0);
};

}  // namespace kanana::annotate
