// The Workspace page's tables: one model per record kind (datasets, tokenizers, runs,
// checkpoints) filled from a store::Workspace. QtCore only; tests drive it directly.
// reload() reads on the calling thread (the GUI thread owns the Workspace handle).
#pragma once

#include <QAbstractTableModel>
#include <QList>
#include <QVariant>

namespace kanana::store {
class Workspace;
}

namespace kanana::workspace {

class WorkspaceTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum class Kind { Datasets, Tokenizers, Runs, Checkpoints };
  static constexpr int SortRole = Qt::UserRole + 1;  // raw numbers for sorting sizes and counts
  static constexpr int IdRole = Qt::UserRole + 2;    // the record's id in its table

  explicit WorkspaceTableModel(Kind kind, QObject* parent = nullptr);

  // Re-read the records; on failure the table is emptied and *error names what failed.
  // A null workspace empties the table.
  bool reload(store::Workspace* workspace, QString* error = nullptr);

  Kind kind() const { return kind_; }
  // Lineage kind of the rows: "dataset", "tokenizer", "run", "checkpoint".
  QString lineageKind() const;
  qint64 recordId(int row) const;
  int rowOfId(qint64 id) const;  // -1 if absent

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

  // "1.5 MB", "812 B": sizes as people read them.
  static QString formatBytes(qint64 bytes);

 private:
  struct Cell {
    QString text;
    QVariant sortValue;
  };
  struct Row {
    qint64 id = 0;
    QList<Cell> cells;
  };
  Kind kind_;
  QStringList headers_;
  QList<Row> rows_;
};

}  // namespace kanana::workspace
