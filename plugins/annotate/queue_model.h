// The annotation queue as a table for the page's queue view: one row per visible item of the
// session (prompt, candidates, state, best-of-N). Rebuilt whenever the session's queue changes.
#pragma once

#include <QAbstractTableModel>

namespace kanana::annotate {

class AnnotationSession;

class QueueModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { kPrompt, kCandidates, kState, kBest, kColumnCount };

  explicit QueueModel(AnnotationSession* session, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  AnnotationSession* session_;
};

}  // namespace kanana::annotate
