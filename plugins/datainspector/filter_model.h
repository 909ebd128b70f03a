// FilterModel: the filter recipe being edited in the inspector and its live evaluation over
// SignalsCache's columns. Re-evaluating walks the columns rule by rule (no text is read and
// the pipeline is not re-run), giving the keep-rate, each rule's removed count (documents
// whose FIRST failing rule it is, as data::apply_filters records) and its total failures.
// Also writes the edited recipe and the kept documents.
//
// Threading contract: GUI thread (or a test's thread). reevaluate() is synchronous and takes
// the cache's shared lock for its duration; scheduleReevaluate() coalesces bursts of
// rowsReady into one evaluation per `coalesce_ms`.
#pragma once

#include <QObject>
#include <QString>
#include <QTimer>
#include <optional>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "data/filters.h"

namespace kanana::datainspector {

class CorpusIndex;
class SignalsCache;

// A recipe as JSON, in the shape parse_filter_recipe reads (round-trips).
Json recipe_to_json(const data::FilterRecipe& recipe);

// Per-row outcome codes in Evaluation::firstRule besides a rule index.
inline constexpr int16_t kRowKept = -1;
inline constexpr int16_t kRowPending = -2;  // signals not computed yet
inline constexpr int16_t kRowBad = -3;      // the line did not parse

struct Evaluation {
  qint64 rows = 0;                  // rows the cache knows (pending ones included)
  qint64 evaluated = 0;             // rows with signals
  qint64 bad = 0;
  qint64 kept = 0;
  std::vector<qint64> removedBy;    // per rule: documents whose first failing rule it is
  std::vector<qint64> failedBy;     // per rule: documents failing it at all
  std::vector<int16_t> firstRule;   // per row: rule index, kRowKept, kRowPending or kRowBad
  // per rule, per row: 1 when the rule's when-condition (language, guard signal) holds, so the
  // rule can remove the row (the histogram paints only these outside the bounds)
  std::vector<std::vector<uint8_t>> subject;
  double keepRate() const { return evaluated ? double(kept) / double(evaluated) : 0.0; }
};

class FilterModel : public QObject {
  Q_OBJECT
 public:
  explicit FilterModel(SignalsCache* cache, QObject* parent = nullptr);

  bool loadRecipe(const QString& path, QString* error);
  void setRecipe(data::FilterRecipe recipe);
  const data::FilterRecipe& recipe() const { return recipe_; }
  QString recipePath() const { return recipePath_; }

  // Edit a threshold rule's bounds (nullopt removes the bound) or switch a rule on/off;
  // both re-evaluate at once and emit recipeChanged().
  void setThreshold(int rule, std::optional<double> min, std::optional<double> max);
  void setRuleEnabled(int rule, bool enabled);
  // Rules (indices) whose signal is `signal`.
  std::vector<int> rulesForSignal(const std::string& signal) const;

  void reevaluate();
  void scheduleReevaluate();
  const Evaluation& evaluation() const { return eval_; }
  int16_t outcome(qint64 row) const;

  std::vector<qint64> rowsRemovedBy(int rule) const;  // first failing rule == rule
  std::vector<qint64> rowsKept() const;

  Status exportRecipe(const QString& path) const;
  // Writes the original lines of the kept documents, in input order, atomically. Refuses
  // while signals are still being computed (the set would be incomplete).
  Status exportKept(const CorpusIndex& index, const QString& path) const;

 Q_SIGNALS:
  void recipeChanged();
  void evaluated();

 private:
  SignalsCache* cache_;
  data::FilterRecipe recipe_;
  QString recipePath_;
  Evaluation eval_;
  QTimer timer_;
};

}  // namespace kanana::datainspector
