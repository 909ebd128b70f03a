// DocumentTableModel: the inspector's virtualized document table. rowCount() follows the
// CorpusIndex as it grows; data() never blocks: a row whose signals are not computed yet
// shows "…" and asks the SignalsCache for it (coalesced per event-loop turn), and the row
// is refreshed by dataChanged when the cache reports it ready. A row filter shows only
// kept documents, or only those a given rule removed (the "kept vs removed" view), or the
// members of one duplicate cluster.
//
// Threading contract: GUI thread only; it reads the index and cache through their
// thread-safe accessors and reacts to their queued signals.
#pragma once

#include <QAbstractTableModel>
#include <vector>

namespace kanana::datainspector {

class CorpusIndex;
class SignalsCache;
class FilterModel;

class DocumentTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { kNumber, kLanguage, kLength, kWords, kHangul, kDupLines, kDecision, kRule, kCluster, kPii, kColumnCount };
  enum class RowFilter { kAll, kKept, kRemovedByRule, kCluster };
  static constexpr int kSourceRowRole = Qt::UserRole + 1;  // the corpus row behind a table row

  DocumentTableModel(CorpusIndex* index, SignalsCache* cache, FilterModel* filter, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  // `arg`: the rule index for kRemovedByRule, the cluster's first row for kCluster.
  void setRowFilter(RowFilter filter, qint64 arg = -1);
  RowFilter rowFilter() const { return filter_; }
  qint64 sourceRow(int tableRow) const;
  int tableRow(qint64 sourceRow) const;  // -1 when filtered out

 private:
  void onIndexProgress(qint64 rows);
  void onRowsReady(qint64 first, qint64 last);
  void onEvaluated();
  void rebuildMapping();
  void flushRequests();

  CorpusIndex* index_;
  SignalsCache* cache_;
  FilterModel* filterModel_;
  RowFilter filter_ = RowFilter::kAll;
  qint64 filterArg_ = -1;
  qint64 shownRows_ = 0;               // kAll: rows announced to views
  std::vector<qint64> mapping_;        // other filters: table row → corpus row
  mutable qint64 requestLo_ = -1, requestHi_ = -1;
  mutable bool requestPosted_ = false;
};

}  // namespace kanana::datainspector
