// DocumentTableModel: a view of CorpusIndex + SignalsCache + FilterModel, never blocking.
#include "document_table_model.h"

#include <QColor>
#include <QTimer>
#include <algorithm>
#include <cmath>

#include "corpus_index.h"
#include "filter_model.h"
#include "signals_cache.h"

namespace kanana::datainspector {

namespace {
const QString kEllipsis = QStringLiteral("…");
}

DocumentTableModel::DocumentTableModel(CorpusIndex* index, SignalsCache* cache, FilterModel* filter, QObject* parent)
    : QAbstractTableModel(parent), index_(index), cache_(cache), filterModel_(filter) {
  connect(index_, &CorpusIndex::progress, this, [this](qint64 rows, qint64, qint64) { onIndexProgress(rows); });
  connect(index_, &CorpusIndex::completed, this, [this](qint64 rows, qint64) { onIndexProgress(rows); });
  connect(cache_, &SignalsCache::rowsReady, this, &DocumentTableModel::onRowsReady);
  connect(filterModel_, &FilterModel::evaluated, this, &DocumentTableModel::onEvaluated);
  shownRows_ = index_->rowCount();
}

int DocumentTableModel::rowCount(const QModelIndex& parent) const {
  if (parent.isValid()) return 0;
  const qint64 n = filter_ == RowFilter::kAll ? shownRows_ : static_cast<qint64>(mapping_.size());
  return static_cast<int>(std::min<qint64>(n, INT32_MAX));
}

int DocumentTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumnCount; }

qint64 DocumentTableModel::sourceRow(int tableRow) const {
  if (tableRow < 0) return -1;
  if (filter_ == RowFilter::kAll) return tableRow < shownRows_ ? tableRow : -1;
  return tableRow < static_cast<int>(mapping_.size()) ? mapping_[static_cast<size_t>(tableRow)] : -1;
}

int DocumentTableModel::tableRow(qint64 sourceRow) const {
  if (filter_ == RowFilter::kAll) return sourceRow >= 0 && sourceRow < shownRows_ ? static_cast<int>(sourceRow) : -1;
  auto it = std::lower_bound(mapping_.begin(), mapping_.end(), sourceRow);
  return it != mapping_.end() && *it == sourceRow ? static_cast<int>(it - mapping_.begin()) : -1;
}

QVariant DocumentTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case kNumber: return tr("#");
    case kLanguage: return tr("Lang");
    case kLength: return tr("Chars");
    case kWords: return tr("Words");
    case kHangul: return tr("Hangul");
    case kDupLines: return tr("Dup lines");
    case kDecision: return tr("Decision");
    case kRule: return tr("Removed by");
    case kCluster: return tr("Dup cluster");
    case kPii: return tr("PII");
  }
  return {};
}

QVariant DocumentTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid()) return {};
  const qint64 row = sourceRow(index.row());
  if (row < 0) return {};
  if (role == kSourceRowRole) return row;
  if (role == Qt::TextAlignmentRole)
    return index.column() == kNumber || (index.column() >= kLength && index.column() <= kDupLines) || index.column() == kPii
               ? QVariant(int(Qt::AlignRight | Qt::AlignVCenter))
               : QVariant(int(Qt::AlignLeft | Qt::AlignVCenter));
  if (role != Qt::DisplayRole && role != Qt::ForegroundRole && role != Qt::ToolTipRole) return {};
  if (index.column() == kNumber) return role == Qt::DisplayRole ? QVariant(row + 1) : QVariant();
  const RowInfo info = cache_->row(row);
  if (info.state == RowState::kPending) {
    if (role != Qt::DisplayRole) return {};
    // Ask for this row (and its neighbours) once per event-loop turn.
    requestLo_ = requestLo_ < 0 ? row : std::min(requestLo_, row);
    requestHi_ = std::max(requestHi_, row);
    if (!requestPosted_) {
      requestPosted_ = true;
      QTimer::singleShot(0, const_cast<DocumentTableModel*>(this), &DocumentTableModel::flushRequests);
    }
    return kEllipsis;
  }
  const int16_t outcome = filterModel_->outcome(row);
  if (info.state == RowState::kBad) {
    if (role == Qt::ForegroundRole) return QColor(0xb0, 0x30, 0x30);
    if (role == Qt::ToolTipRole) return cache_->badReason(row);
    return index.column() == kDecision ? QVariant(tr("bad line")) : QVariant();
  }
  if (role == Qt::ForegroundRole) {
    if (index.column() == kDecision) return outcome == kRowKept ? QColor(0x2e, 0x7d, 0x32) : QColor(0xc6, 0x28, 0x28);
    return {};
  }
  if (role == Qt::ToolTipRole) {
    if (index.column() == kRule && outcome >= 0)
      return QString::fromStdString(filterModel_->recipe().rules[static_cast<size_t>(outcome)].description);
    return {};
  }
  auto number = [&](int column, int decimals) {
    const double v = cache_->value(column, row);
    return std::isnan(v) ? QVariant(kEllipsis) : QVariant(QString::number(v, 'f', decimals));
  };
  switch (index.column()) {
    case kLanguage: {
      const QStringList langs = cache_->languages();
      return info.lang >= 0 && info.lang < langs.size() ? langs[info.lang] : QStringLiteral("?");
    }
    case kLength: return number(SignalsCache::columnOf("chars"), 0);
    case kWords: return number(SignalsCache::columnOf("words"), 0);
    case kHangul: return number(SignalsCache::columnOf("hangul_ratio"), 2);
    case kDupLines: return number(SignalsCache::columnOf("dup_line_frac"), 2);
    case kDecision:
      return outcome == kRowKept ? tr("keep") : outcome >= 0 ? tr("remove") : kEllipsis;
    case kRule:
      return outcome >= 0 ? QString::fromStdString(filterModel_->recipe().rules[static_cast<size_t>(outcome)].name) : QString();
    case kCluster:
      if (!info.dedupDone) return kEllipsis;
      // Only duplicates name their cluster; first documents stay blank (the list has sizes).
      if (info.cluster < 0 || info.dupKind == data::DupKind::kNone) return QString();
      return QStringLiteral("#%1 (%2)").arg(info.cluster + 1).arg(QString::fromLatin1(data::dup_kind_name(info.dupKind)));
    case kPii: return info.piiCount;
  }
  return {};
}

void DocumentTableModel::flushRequests() {
  requestPosted_ = false;
  if (requestLo_ < 0) return;
  // Neighbours too: a scroll usually shows the next screenful next.
  cache_->requestRows(std::max<qint64>(0, requestLo_ - 16), requestHi_ + 64);
  requestLo_ = requestHi_ = -1;
}

void DocumentTableModel::onIndexProgress(qint64 rows) {
  if (filter_ != RowFilter::kAll) return;
  rows = std::min<qint64>(rows, INT32_MAX);
  if (rows <= shownRows_) return;
  beginInsertRows({}, static_cast<int>(shownRows_), static_cast<int>(rows - 1));
  shownRows_ = rows;
  endInsertRows();
}

void DocumentTableModel::onRowsReady(qint64 first, qint64 last) {
  if (filter_ != RowFilter::kAll) return;
  first = std::max<qint64>(0, first);
  last = std::min(last, shownRows_ - 1);
  if (first > last) return;
  Q_EMIT dataChanged(index(static_cast<int>(first), 0), index(static_cast<int>(last), kColumnCount - 1));
}

void DocumentTableModel::onEvaluated() {
  if (filter_ == RowFilter::kAll) {
    if (shownRows_ > 0) Q_EMIT dataChanged(index(0, kDecision), index(static_cast<int>(shownRows_ - 1), kRule));
    return;
  }
  beginResetModel();
  rebuildMapping();
  endResetModel();
}

void DocumentTableModel::setRowFilter(RowFilter filter, qint64 arg) {
  beginResetModel();
  filter_ = filter;
  filterArg_ = arg;
  shownRows_ = std::min<qint64>(index_->rowCount(), INT32_MAX);
  rebuildMapping();
  endResetModel();
}

void DocumentTableModel::rebuildMapping() {
  mapping_.clear();
  switch (filter_) {
    case RowFilter::kAll: break;
    case RowFilter::kKept: mapping_ = filterModel_->rowsKept(); break;
    case RowFilter::kRemovedByRule: mapping_ = filterModel_->rowsRemovedBy(static_cast<int>(filterArg_)); break;
    case RowFilter::kCluster:
      for (const auto& c : cache_->duplicateClusters())
        if (c.first == filterArg_) mapping_ = c.members;
      break;
  }
}

}  // namespace kanana::datainspector
