// See plugin_table_model.h.
#include "plugin_table_model.h"

#include <QBrush>
#include <QColor>

#include "sdk/plugin_manager.h"

namespace kanana::app {

using gui::PluginSpec;

PluginTableModel::PluginTableModel(gui::PluginManager* manager, QObject* parent)
    : QAbstractTableModel(parent), manager_(manager) {}

int PluginTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : int(manager_->plugins().size());
}

int PluginTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColumnCount;
}

QVariant PluginTableModel::data(const QModelIndex& index, int role) const {
  const QList<PluginSpec*> specs = manager_->plugins();
  if (!index.isValid() || index.row() >= specs.size()) return {};
  const PluginSpec* s = specs.at(index.row());
  if (role == Qt::CheckStateRole && index.column() == NameColumn)
    return manager_->isEnabled(s->id) ? Qt::Checked : Qt::Unchecked;
  if (role == Qt::DisplayRole) {
    switch (index.column()) {
      case NameColumn: return s->name;
      case VersionColumn: return s->version;
      case CategoryColumn: return s->category;
      case StateColumn: return PluginSpec::stateName(s->state);
      case ErrorColumn: return s->errorString;
    }
  }
  if (role == Qt::ToolTipRole) {
    QString tip = QStringLiteral("<b>%1</b> %2<br>%3<br><i>%4</i>")
                      .arg(s->name.toHtmlEscaped(), s->version, s->description.toHtmlEscaped(), s->filePath.toHtmlEscaped());
    if (!s->errorString.isEmpty()) tip += QStringLiteral("<br><br>%1").arg(s->errorString.toHtmlEscaped());
    return tip;
  }
  if (role == Qt::ForegroundRole && (index.column() == StateColumn || index.column() == ErrorColumn)) {
    if (s->state == PluginSpec::State::Failed) return QBrush(QColor(0xd9, 0x3a, 0x3a));
    if (s->state == PluginSpec::State::Disabled) return QBrush(QColor(0x80, 0x86, 0x8f));
  }
  return {};
}

bool PluginTableModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (role != Qt::CheckStateRole || index.column() != NameColumn) return false;
  const QList<PluginSpec*> specs = manager_->plugins();
  if (index.row() >= specs.size()) return false;
  const PluginSpec* s = specs.at(index.row());
  const bool enabled = value.toInt() == Qt::Checked;
  const bool wasRequired = restartRequired();
  manager_->setEnabled(s->id, enabled);
  // Running now ⇔ it was enabled at start-up; a differing checkbox needs a restart.
  const bool activeNow = s->state != PluginSpec::State::Disabled;
  if (enabled != activeNow && !(enabled && s->state == PluginSpec::State::Failed)) changed_.insert(s->id);
  else changed_.remove(s->id);
  Q_EMIT dataChanged(index, index.siblingAtColumn(ColumnCount - 1));
  if (wasRequired != restartRequired()) Q_EMIT restartRequiredChanged(restartRequired());
  return true;
}

Qt::ItemFlags PluginTableModel::flags(const QModelIndex& index) const {
  Qt::ItemFlags f = QAbstractTableModel::flags(index);
  if (index.column() == NameColumn) f |= Qt::ItemIsUserCheckable;
  return f;
}

QVariant PluginTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
  switch (section) {
    case NameColumn: return tr("Plugin");
    case VersionColumn: return tr("Version");
    case CategoryColumn: return tr("Category");
    case StateColumn: return tr("State");
    case ErrorColumn: return tr("Error");
  }
  return {};
}

}  // namespace kanana::app
