// The log console's data: a bounded table of LogEntry rows (time, level, source, message).
// QtCore only, so tests can read what the workbench reported without any widget.
// Threading: append() must run on the thread that owns the model (the GUI thread);
// WorkbenchContext::log() marshals calls from other threads there.
#pragma once

#include <QAbstractTableModel>
#include <QList>

#include "log_entry.h"

namespace kanana::gui {

class LogModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { TimeColumn = 0, LevelColumn, SourceColumn, MessageColumn, ColumnCount };
  static constexpr int LevelRole = Qt::UserRole + 1;  // int(LogLevel) of a row

  explicit LogModel(QObject* parent = nullptr, int maxEntries = 20000);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

  const QList<LogEntry>& entries() const { return entries_; }
  // "15:50:33.120 [error] plugins: ..." — the form the console copies to the clipboard.
  static QString format(const LogEntry& entry);
  // Whether any entry's message contains `text` (optionally only at `level` or worse).
  bool contains(const QString& text, LogLevel atLeast = LogLevel::Debug) const;

 public Q_SLOTS:
  void append(const kanana::gui::LogEntry& entry);
  void clear();

 private:
  QList<LogEntry> entries_;
  int maxEntries_;
};

}  // namespace kanana::gui
