// Queue rows for the view (see queue_model.h).
#include "queue_model.h"

#include <QBrush>
#include <QColor>
#include <QFont>

#include "annotation_session.h"
#include "prefs/conversation.h"

namespace kanana::annotate {

QueueModel::QueueModel(AnnotationSession* session, QObject* parent) : QAbstractTableModel(parent), session_(session) {
  connect(session_, &AnnotationSession::queueChanged, this, [this] {
    beginResetModel();
    endResetModel();
  });
  connect(session_, &AnnotationSession::scoresChanged, this, [this] {
    if (rowCount() > 0) Q_EMIT dataChanged(index(0, kBest), index(rowCount() - 1, kBest));
  });
}

int QueueModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : session_->rowCount(); }
int QueueModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : kColumnCount; }

QVariant QueueModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return QAbstractTableModel::headerData(section, orientation, role);
  switch (section) {
    case kPrompt: return tr("Prompt");
    case kCandidates: return tr("Replies");
    case kState: return tr("State");
    case kBest: return tr("Best-of-N");
  }
  return {};
}

QVariant QueueModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= session_->rowCount()) return {};
  const QueueItem& it = session_->item(index.row());
  const prefs::Prompt* p = session_->prompt(it.promptId);
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case kPrompt: {
        QString text = p ? QString::fromStdString(p->row.text).simplified() : QString();
        const int turns = p ? int(p->messages.size()) : 0;
        if (turns > 2) text = tr("[turn %1] ").arg((turns + 1) / 2) + text;
        return QStringLiteral("#%1  %2").arg(it.promptId).arg(text.left(90));
      }
      case kCandidates: {
        if (it.state == ItemState::kWaiting) return tr("%1 so far").arg(it.candidates.size());
        QStringList ids;
        for (qint64 id : it.candidates) ids << QString::number(id);
        return ids.join(session_->mode() == Mode::kPairwise ? QStringLiteral(" vs ") : QStringLiteral(", "));
      }
      case kState: {
        QString s = itemStateName(it.state);
        if (it.disagreement) s += tr(" · disagreement");
        return s;
      }
      case kBest: {
        auto best = session_->best(it.promptId);
        if (!best) return QString();
        const auto cands = session_->candidatesOf(it.promptId);
        int pos = 0;
        for (size_t i = 0; i < cands.size(); ++i)
          if (cands[i]->row.id == best->first) pos = int(i) + 1;
        return tr("reply %1 of %2: %3").arg(pos).arg(cands.size()).arg(best->second, 0, 'f', 3);
      }
    }
  }
  if (role == Qt::ToolTipRole) {
    if (index.column() == kState && it.disagreement) return session_->labelsOf(it).join(QLatin1Char('\n'));
    if (p) return QString::fromStdString(prefs::canonical_json(p->messages)).left(2000);
  }
  if (role == Qt::ForegroundRole) {
    switch (it.state) {
      case ItemState::kWaiting: return QBrush(QColor(0x80, 0x80, 0x80));
      case ItemState::kLabelled: return QBrush(QColor(0x2e, 0x7d, 0x32));
      case ItemState::kSkipped: return QBrush(QColor(0xa0, 0x6a, 0x00));
      case ItemState::kToLabel: break;
    }
    if (it.disagreement && index.column() == kState) return QBrush(QColor(0xc6, 0x28, 0x28));
  }
  if (role == Qt::FontRole && index.row() == session_->currentRow()) {
    QFont f;
    f.setBold(true);
    return f;
  }
  return {};
}

}  // namespace kanana::annotate
