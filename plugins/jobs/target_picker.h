// Where a run goes: this machine (N ranks over Gloo), an SSH host (host, user, port, key
// file, remote workdir; keys or ssh-agent only, never a password), or a Slurm cluster (nodes,
// GPUs per node, ranks per node, time limit, partition, memory; submitted here or on a login
// node over SSH). The choice is remembered in the settings (no secret is ever among them).
#pragma once

#include <QWidget>

#include "launch_plan.h"

class QComboBox;
class QLineEdit;
class QSettings;
class QSpinBox;
class QStackedWidget;

namespace kanana::jobsplugin {

class TargetPicker : public QWidget {
  Q_OBJECT
 public:
  explicit TargetPicker(QWidget* parent = nullptr);

  LaunchTarget target() const;
  void setTarget(const LaunchTarget& target);
  void load(QSettings* settings);
  void save(QSettings* settings) const;

  QComboBox* kindBox() const { return kind_; }

 Q_SIGNALS:
  void changed();

 private:
  QWidget* buildLocal();
  QWidget* buildSsh();
  QWidget* buildSlurm();

  QComboBox* kind_;
  QStackedWidget* pages_;
  // local
  QSpinBox* localRanks_;
  QSpinBox* localThreads_;
  // ssh
  QLineEdit* sshHost_;
  QLineEdit* sshUser_;
  QSpinBox* sshPort_;
  QLineEdit* sshKey_;
  QLineEdit* sshWorkdir_;
  QLineEdit* sshKanana_;
  QSpinBox* sshRanks_;
  QSpinBox* sshThreads_;
  QComboBox* sshDevice_;
  // slurm
  QLineEdit* slurmHost_;
  QLineEdit* slurmUser_;
  QLineEdit* slurmWorkdir_;
  QLineEdit* slurmKanana_;
  QSpinBox* slurmNodes_;
  QSpinBox* slurmGpus_;
  QSpinBox* slurmRanks_;
  QSpinBox* slurmCpus_;
  QLineEdit* slurmTime_;
  QLineEdit* slurmPartition_;
  QLineEdit* slurmMem_;
};

}  // namespace kanana::jobsplugin
