// See workspace_table_model.h.
#include "workspace_table_model.h"

#include <QDir>
#include <QLocale>
#include <map>

#include "store/workspace.h"

namespace kanana::workspace {

namespace {

QString q(const std::string& s) { return QString::fromStdString(s); }

// "2026-11-26T15:50:33.120Z" → "2026-11-26 15:50" (UTC, as stored).
// Numbers and sizes are shown the same way everywhere ("1,200", "1.5 MB").
const QLocale& displayLocale() {
  static const QLocale locale(QLocale::English, QLocale::UnitedStates);
  return locale;
}

// Paths under the home folder read better as "~/..."; the tool tip keeps the full path.
QString abbreviateHome(const QString& full) {
  const QString home = QDir::homePath();
  if (home.size() > 1 && full.startsWith(home + u'/')) return u'~' + full.mid(home.size());
  return full;
}

QString shortTime(const std::string& iso) {
  QString t = q(iso);
  t.replace(u'T', u' ');
  return t.left(16);
}

}  // namespace

WorkspaceTableModel::WorkspaceTableModel(Kind kind, QObject* parent) : QAbstractTableModel(parent), kind_(kind) {
  switch (kind_) {
    case Kind::Datasets:
      headers_ = {tr("Name"), tr("Kind"), tr("Format"), tr("Documents"), tr("Size"), tr("Path"), tr("Created (UTC)")};
      break;
    case Kind::Tokenizers:
      headers_ = {tr("Name"), tr("Kind"), tr("Vocabulary"), tr("Path"), tr("Created (UTC)")};
      break;
    case Kind::Runs:
      headers_ = {tr("Name"), tr("Kind"), tr("State"), tr("Target"), tr("Created (UTC)"), tr("Finished (UTC)")};
      break;
    case Kind::Checkpoints:
      headers_ = {tr("Name"), tr("Run"), tr("Step"), tr("Tokens"), tr("Path"), tr("Created (UTC)")};
      break;
  }
}

QString WorkspaceTableModel::lineageKind() const {
  switch (kind_) {
    case Kind::Datasets: return QStringLiteral("dataset");
    case Kind::Tokenizers: return QStringLiteral("tokenizer");
    case Kind::Runs: return QStringLiteral("run");
    case Kind::Checkpoints: return QStringLiteral("checkpoint");
  }
  return QString();
}

QString WorkspaceTableModel::formatBytes(qint64 bytes) {
  return displayLocale().formattedDataSize(bytes, 1, QLocale::DataSizeSIFormat);
}

bool WorkspaceTableModel::reload(store::Workspace* ws, QString* error) {
  QList<Row> rows;
  QString failure;
  auto count = [](int64_t n) { return Cell{displayLocale().toString(qlonglong(n)), qlonglong(n)}; };
  auto text = [](const QString& s) { return Cell{s, s}; };
  auto pathCell = [](const std::string& p) { return Cell{abbreviateHome(q(p)), q(p)}; };
  if (ws) {
    switch (kind_) {
      case Kind::Datasets: {
        auto list = ws->list_datasets();
        if (!list.is_ok()) { failure = q(list.status().to_string()); break; }
        for (const auto& d : *list)
          rows.append({d.id, {text(q(d.name)), text(q(d.kind)), text(q(d.format)), count(d.doc_count),
                              Cell{formatBytes(d.byte_count), qlonglong(d.byte_count)}, pathCell(d.path),
                              text(shortTime(d.created_at))}});
        break;
      }
      case Kind::Tokenizers: {
        auto list = ws->list_tokenizers();
        if (!list.is_ok()) { failure = q(list.status().to_string()); break; }
        for (const auto& t : *list)
          rows.append({t.id, {text(q(t.name)), text(q(t.kind)), count(t.vocab_size), pathCell(t.path),
                              text(shortTime(t.created_at))}});
        break;
      }
      case Kind::Runs: {
        auto list = ws->list_runs();
        if (!list.is_ok()) { failure = q(list.status().to_string()); break; }
        for (const auto& r : *list)
          rows.append({r.id, {text(q(r.name)), text(q(r.kind)), text(QString::fromLatin1(store::run_state_name(r.state))),
                              text(r.host.empty() ? q(r.target) : QStringLiteral("%1 (%2)").arg(q(r.target), q(r.host))),
                              text(shortTime(r.created_at)), text(r.finished_at ? shortTime(*r.finished_at) : QString())}});
        break;
      }
      case Kind::Checkpoints: {
        auto list = ws->list_checkpoints();
        if (!list.is_ok()) { failure = q(list.status().to_string()); break; }
        // Name each checkpoint's run; imported checkpoints have none.
        std::map<int64_t, std::string> runNames;
        if (auto runs = ws->list_runs(); runs.is_ok())
          for (const auto& r : *runs) runNames[r.id] = r.name;
        for (const auto& c : *list) {
          const QString run = c.run_id ? q(runNames.count(*c.run_id) ? runNames[*c.run_id] : "#" + std::to_string(*c.run_id))
                                       : tr("imported");
          // A folder deleted by hand after it was used: listed so its results keep a name, never offered.
          const QString name = ws->checkpoint_on_disk(c) ? q(c.name) : tr("%1 (missing)").arg(q(c.name));
          rows.append({c.id, {text(name), text(run), count(c.step), count(c.tokens), pathCell(c.path),
                              text(shortTime(c.created_at))}});
        }
        break;
      }
    }
  }
  if (!failure.isEmpty()) rows.clear();
  beginResetModel();
  rows_ = std::move(rows);
  endResetModel();
  if (error) *error = failure;
  return failure.isEmpty();
}

qint64 WorkspaceTableModel::recordId(int row) const {
  return row >= 0 && row < rows_.size() ? rows_.at(row).id : 0;
}

int WorkspaceTableModel::rowOfId(qint64 id) const {
  for (int i = 0; i < rows_.size(); ++i)
    if (rows_.at(i).id == id) return i;
  return -1;
}

int WorkspaceTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(rows_.size());
}

int WorkspaceTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(headers_.size());
}

QVariant WorkspaceTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rows_.size() || index.column() >= headers_.size()) return {};
  const Row& row = rows_.at(index.row());
  const Cell& cell = row.cells.at(index.column());
  switch (role) {
    case Qt::DisplayRole: return cell.text;
    case Qt::ToolTipRole: return cell.sortValue.typeId() == QMetaType::QString ? cell.sortValue : QVariant(cell.text);
    case SortRole: return cell.sortValue;
    case IdRole: return row.id;
    case Qt::TextAlignmentRole:
      return cell.sortValue.typeId() == QMetaType::LongLong ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant();
  }
  return {};
}

QVariant WorkspaceTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation == Qt::Horizontal && role == Qt::DisplayRole && section < headers_.size()) return headers_.at(section);
  return {};
}

}  // namespace kanana::workspace
