// The drill-down: one row per item of a (checkpoint, task) results samples file.
//  - multiple choice: line, prompt, gold, prediction, correct, then the log-prob of every
//    choice (the predicted one in bold, the gold one shaded);
//  - generation: line, prompt, target, response, extracted answer, exact match;
//  - perplexity: document, source, language, tokens, bytes, bits per byte.
// detail(row) is the full text shown under the table. GUI thread only.
#pragma once

#include <QAbstractTableModel>
#include <QStringList>
#include <vector>

#include "base/json.h"

namespace kanana::evaluation {

class SamplesModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum class Kind { kEmpty, kMultipleChoice, kGeneration, kPerplexity };

  explicit SamplesModel(QObject* parent = nullptr);

  // `filter` keeps perplexity documents matching "lang=ko", "source=web" (see comparison.h).
  void setSamples(std::vector<Json> samples, const QString& title, const QString& filter = {});
  void clear();
  Kind kind() const { return kind_; }
  QString title() const { return title_; }
  const Json& sample(int row) const { return samples_.at(size_t(row)); }
  // Prompt, choices with log-probs (or response / target), for the detail view.
  QString detail(int row) const;
  int choiceColumns() const { return choices_; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<Json> samples_;
  Kind kind_ = Kind::kEmpty;
  QString title_;
  QStringList headers_;
  int choices_ = 0;
};

}  // namespace kanana::evaluation
