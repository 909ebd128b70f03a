// The Surgery page's state without widgets (QtCore only, no LibTorch): the selected
// checkpoint's config, the importance scores shown, the target shape being edited and its
// live preview — parameters and FLOPs per token of source and target, the error that makes a
// target invalid, and, when scores of this model are loaded, the prune plan and the share of
// importance mass it would remove. Everything here is cheap enough to recompute on every
// keystroke (top-k over the scores of each layer).
//
// Threading: GUI thread only. Scores arrive already checked against the model (the
// SurgeryController loads the weights for the fingerprint on its own thread).
#pragma once

#include <QObject>
#include <QString>

#include <memory>
#include <optional>

#include "model/config.h"
#include "surgery/importance.h"
#include "surgery/prune_plan.h"
#include "surgery/shape.h"

namespace kanana::surgeryplugin {

struct TargetPreview {
  bool valid = false;
  QString error;                                  // why the target is refused (empty when valid)
  model::LlamaConfig config;                      // the target's config.json
  surgery::ShapeStats source, target;
  std::optional<surgery::PrunePlan> plan;         // with scores (or when nothing needs them)
  std::optional<surgery::RemovedMass> removed;    // with scores
};

TargetPreview computePreview(const model::LlamaConfig& source, const surgery::TargetShape& target,
                             const surgery::ImportanceScores* scores, int64_t context, bool depthByLoss);

// "1.39M", "2.09B", "870K".
QString humanCount(double n);

class SurgerySession : public QObject {
  Q_OBJECT
 public:
  explicit SurgerySession(QObject* parent = nullptr);

  // Reads <dir>/config.json; on error the previous model stays and *error says why.
  bool openModel(const QString& dir, QString* error);
  QString modelPath() const { return modelPath_; }
  bool hasModel() const { return config_.has_value(); }
  const model::LlamaConfig& config() const { return *config_; }

  // Scores computed on (or checked against) the current model.
  void setScores(std::shared_ptr<const surgery::ImportanceScores> scores, const QString& file);
  void clearScores();
  std::shared_ptr<const surgery::ImportanceScores> scores() const { return scores_; }
  QString scoresFile() const { return scoresFile_; }

  void setTarget(const surgery::TargetShape& target);
  const surgery::TargetShape& target() const { return target_; }
  void setContextLength(int64_t tokens);
  int64_t contextLength() const { return context_; }
  void setDepthByLoss(bool on);
  bool depthByLoss() const { return depthByLoss_; }
  const TargetPreview& preview() const { return preview_; }

 Q_SIGNALS:
  void modelChanged();
  void scoresChanged();
  void previewChanged();

 private:
  void update();

  QString modelPath_;
  std::optional<model::LlamaConfig> config_;
  std::shared_ptr<const surgery::ImportanceScores> scores_;
  QString scoresFile_;
  surgery::TargetShape target_;
  int64_t context_ = 0;
  bool depthByLoss_ = true;
  TargetPreview preview_;
};

}  // namespace kanana::surgeryplugin
