// See log_model.h.
#include "log_model.h"

#include <QBrush>
#include <QColor>

namespace kanana::gui {

QString logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::Debug: return QStringLiteral("debug");
    case LogLevel::Info: return QStringLiteral("info");
    case LogLevel::Warning: return QStringLiteral("warning");
    case LogLevel::Error: return QStringLiteral("error");
  }
  return QStringLiteral("info");
}

LogModel::LogModel(QObject* parent, int maxEntries)
    : QAbstractTableModel(parent), maxEntries_(qMax(1, maxEntries)) {}

int LogModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(entries_.size());
}

int LogModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColumnCount;
}

QVariant LogModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= entries_.size()) return {};
  const LogEntry& e = entries_.at(index.row());
  if (role == LevelRole) return int(e.level);
  if (role == Qt::DisplayRole || role == Qt::ToolTipRole) {
    switch (index.column()) {
      case TimeColumn: return e.time.toString(QStringLiteral("HH:mm:ss.zzz"));
      case LevelColumn: return logLevelName(e.level);
      case SourceColumn: return e.source;
      case MessageColumn: return e.message;
    }
  }
  if (role == Qt::ForegroundRole) {
    // Colours readable on both light and dark palettes.
    switch (e.level) {
      case LogLevel::Debug: return QBrush(QColor(0x80, 0x86, 0x8f));
      case LogLevel::Warning: return QBrush(QColor(0xc7, 0x7c, 0x02));
      case LogLevel::Error: return QBrush(QColor(0xd9, 0x3a, 0x3a));
      case LogLevel::Info: return {};
    }
  }
  return {};
}

QVariant LogModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case TimeColumn: return tr("Time");
    case LevelColumn: return tr("Level");
    case SourceColumn: return tr("Source");
    case MessageColumn: return tr("Message");
  }
  return {};
}

QString LogModel::format(const LogEntry& e) {
  return QStringLiteral("%1 [%2] %3: %4")
      .arg(e.time.toString(QStringLiteral("HH:mm:ss.zzz")), logLevelName(e.level), e.source, e.message);
}

bool LogModel::contains(const QString& text, LogLevel atLeast) const {
  for (const LogEntry& e : entries_)
    if (int(e.level) >= int(atLeast) && e.message.contains(text)) return true;
  return false;
}

void LogModel::append(const LogEntry& entry) {
  if (entries_.size() >= maxEntries_) {
    // Drop the oldest tenth at once so a chatty source does not cost a removal per line.
    const int drop = qMax(1, maxEntries_ / 10);
    beginRemoveRows({}, 0, drop - 1);
    entries_.remove(0, drop);
    endRemoveRows();
  }
  const int row = int(entries_.size());
  beginInsertRows({}, row, row);
  entries_.append(entry);
  endInsertRows();
}

void LogModel::clear() {
  beginResetModel();
  entries_.clear();
  endResetModel();
}

}  // namespace kanana::gui
