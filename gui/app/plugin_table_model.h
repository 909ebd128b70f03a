// The Plugin Manager dialog's table: one row per plugin with its enabled checkbox, name,
// version, category, state and error. QtCore only; toggling a checkbox persists through
// PluginManager::setEnabled() and takes effect at the next start.
#pragma once

#include <QAbstractTableModel>
#include <QSet>

namespace kanana::gui {
class PluginManager;
}

namespace kanana::app {

class PluginTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { NameColumn = 0, VersionColumn, CategoryColumn, StateColumn, ErrorColumn, ColumnCount };

  explicit PluginTableModel(gui::PluginManager* manager, QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  bool setData(const QModelIndex& index, const QVariant& value, int role) override;
  Qt::ItemFlags flags(const QModelIndex& index) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

  // Whether the user changed any enabled state since the model was made.
  bool restartRequired() const { return !changed_.isEmpty(); }

 Q_SIGNALS:
  void restartRequiredChanged(bool required);

 private:
  gui::PluginManager* manager_;
  QSet<QString> changed_;  // ids whose checkbox differs from what is running now
};

}  // namespace kanana::app
