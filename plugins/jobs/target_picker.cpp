// See target_picker.h.
#include "target_picker.h"

#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>
#include <QStackedWidget>
#include <QThread>
#include <QVBoxLayout>

namespace kanana::jobsplugin {

namespace {

QSpinBox* spin(QWidget* parent, int lo, int hi, int value, const QString& special = {}) {
  auto* s = new QSpinBox(parent);
  s->setRange(lo, hi);
  s->setValue(value);
  if (!special.isEmpty()) s->setSpecialValueText(special);
  return s;
}

QLineEdit* line(QWidget* parent, const QString& placeholder) {
  auto* e = new QLineEdit(parent);
  e->setPlaceholderText(placeholder);
  return e;
}

QLabel* note(QWidget* parent, const QString& text) {
  auto* l = new QLabel(text, parent);
  l->setWordWrap(true);
  l->setStyleSheet(QStringLiteral("color: palette(mid);"));
  return l;
}

}  // namespace

TargetPicker::TargetPicker(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* top = new QFormLayout;
  kind_ = new QComboBox(this);
  kind_->setObjectName(QStringLiteral("targetKind"));
  kind_->addItem(tr("This machine"), int(jobs::TargetKind::kLocal));
  kind_->addItem(tr("SSH host"), int(jobs::TargetKind::kSsh));
  kind_->addItem(tr("Slurm cluster"), int(jobs::TargetKind::kSlurm));
  top->addRow(tr("Run on:"), kind_);
  layout->addLayout(top);
  pages_ = new QStackedWidget(this);
  pages_->addWidget(buildLocal());
  pages_->addWidget(buildSsh());
  pages_->addWidget(buildSlurm());
  layout->addWidget(pages_);
  connect(kind_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
    pages_->setCurrentIndex(i);
    Q_EMIT changed();
  });
  for (auto* e : findChildren<QLineEdit*>()) connect(e, &QLineEdit::textChanged, this, &TargetPicker::changed);
  for (auto* s : findChildren<QSpinBox*>()) connect(s, qOverload<int>(&QSpinBox::valueChanged), this, &TargetPicker::changed);
}

QWidget* TargetPicker::buildLocal() {
  auto* w = new QWidget(this);
  auto* f = new QFormLayout(w);
  f->setContentsMargins(0, 0, 0, 0);
  localRanks_ = spin(w, 1, 64, 1);
  localRanks_->setObjectName(QStringLiteral("localRanks"));
  localRanks_->setToolTip(tr("Data-parallel processes on this machine (Gloo); keep the global batch in mind"));
  localThreads_ = spin(w, 0, 256, 0, tr("auto (%1 cores shared)").arg(QThread::idealThreadCount()));
  f->addRow(tr("Ranks:"), localRanks_);
  f->addRow(tr("Threads per rank:"), localThreads_);
  f->addRow(note(w, tr("Runs detached: it keeps going when the workbench closes, and is re-attached on the next start.")));
  return w;
}

QWidget* TargetPicker::buildSsh() {
  auto* w = new QWidget(this);
  auto* f = new QFormLayout(w);
  f->setContentsMargins(0, 0, 0, 0);
  sshHost_ = line(w, tr("gpu-box.example.org or a ~/.ssh/config alias"));
  sshHost_->setObjectName(QStringLiteral("sshHost"));
  sshUser_ = line(w, tr("default: from ~/.ssh/config"));
  sshPort_ = spin(w, 0, 65535, 0, tr("default"));
  sshKey_ = line(w, tr("~/.ssh/id_ed25519 (optional; ssh-agent works too)"));
  sshWorkdir_ = line(w, tr("/home/me/kanana-runs (absolute; run folders are made here)"));
  sshWorkdir_->setObjectName(QStringLiteral("sshWorkdir"));
  sshKanana_ = line(w, tr("kanana on the host's PATH"));
  sshRanks_ = spin(w, 1, 64, 1);
  sshThreads_ = spin(w, 0, 256, 0, tr("trainer default"));
  sshDevice_ = new QComboBox(w);
  sshDevice_->addItems({QStringLiteral("cpu"), QStringLiteral("cuda")});
  f->addRow(tr("Host:"), sshHost_);
  f->addRow(tr("User:"), sshUser_);
  f->addRow(tr("Port:"), sshPort_);
  f->addRow(tr("Key file:"), sshKey_);
  f->addRow(tr("Remote workdir:"), sshWorkdir_);
  f->addRow(tr("kanana binary:"), sshKanana_);
  f->addRow(tr("Ranks:"), sshRanks_);
  f->addRow(tr("Threads per rank:"), sshThreads_);
  f->addRow(tr("Device:"), sshDevice_);
  f->addRow(note(w, tr("Keys or ssh-agent only (BatchMode): no password is asked for or stored. The job survives a lost "
                       "connection; relative paths in the recipe resolve against the remote workdir.")));
  connect(sshDevice_, qOverload<int>(&QComboBox::currentIndexChanged), this, &TargetPicker::changed);
  return w;
}

QWidget* TargetPicker::buildSlurm() {
  auto* w = new QWidget(this);
  auto* f = new QFormLayout(w);
  f->setContentsMargins(0, 0, 0, 0);
  slurmHost_ = line(w, tr("login node (empty: sbatch on this machine)"));
  slurmUser_ = line(w, tr("default: from ~/.ssh/config"));
  slurmWorkdir_ = line(w, tr("/scratch/me/kanana-runs (with a login node)"));
  slurmKanana_ = line(w, tr("kanana on the nodes' PATH"));
  slurmNodes_ = spin(w, 1, 4096, 1);
  slurmNodes_->setObjectName(QStringLiteral("slurmNodes"));
  slurmGpus_ = spin(w, 0, 16, 0, tr("none"));
  slurmGpus_->setObjectName(QStringLiteral("slurmGpus"));
  slurmRanks_ = spin(w, 1, 64, 1);
  slurmRanks_->setToolTip(tr("Tasks per node: one per GPU"));
  slurmCpus_ = spin(w, 0, 256, 0, tr("default"));
  slurmTime_ = line(w, tr("HH:MM:SS or D-HH:MM:SS"));
  slurmTime_->setObjectName(QStringLiteral("slurmTime"));
  slurmPartition_ = line(w, tr("default partition"));
  slurmPartition_->setObjectName(QStringLiteral("slurmPartition"));
  slurmMem_ = line(w, tr("e.g. 64G"));
  f->addRow(tr("Login host:"), slurmHost_);
  f->addRow(tr("User:"), slurmUser_);
  f->addRow(tr("Remote workdir:"), slurmWorkdir_);
  f->addRow(tr("kanana binary:"), slurmKanana_);
  f->addRow(tr("Nodes:"), slurmNodes_);
  f->addRow(tr("GPUs per node:"), slurmGpus_);
  f->addRow(tr("Ranks per node:"), slurmRanks_);
  f->addRow(tr("CPUs per task:"), slurmCpus_);
  f->addRow(tr("Time limit:"), slurmTime_);
  f->addRow(tr("Partition:"), slurmPartition_);
  f->addRow(tr("Memory:"), slurmMem_);
  f->addRow(note(w, tr("The generated sbatch script is shown before it is submitted.")));
  // One rank per GPU is the usual layout.
  connect(slurmGpus_, qOverload<int>(&QSpinBox::valueChanged), this, [this](int gpus) {
    if (gpus > 0) slurmRanks_->setValue(gpus);
  });
  return w;
}

LaunchTarget TargetPicker::target() const {
  LaunchTarget t;
  t.kind = jobs::TargetKind(kind_->currentData().toInt());
  switch (t.kind) {
    case jobs::TargetKind::kLocal:
      t.ranks = localRanks_->value();
      t.threadsPerRank = localThreads_->value();
      break;
    case jobs::TargetKind::kSsh:
      t.host = sshHost_->text().trimmed();
      t.user = sshUser_->text().trimmed();
      t.port = sshPort_->value();
      t.identityFile = sshKey_->text().trimmed();
      t.remoteWorkdir = sshWorkdir_->text().trimmed();
      t.remoteKanana = sshKanana_->text().trimmed();
      t.ranks = sshRanks_->value();
      t.threadsPerRank = sshThreads_->value();
      t.device = sshDevice_->currentText();
      break;
    case jobs::TargetKind::kSlurm:
      t.host = slurmHost_->text().trimmed();
      t.user = slurmUser_->text().trimmed();
      t.remoteWorkdir = slurmWorkdir_->text().trimmed();
      t.remoteKanana = slurmKanana_->text().trimmed();
      t.nodes = slurmNodes_->value();
      t.gpusPerNode = slurmGpus_->value();
      t.ranks = slurmRanks_->value();
      t.cpusPerTask = slurmCpus_->value();
      t.timeLimit = slurmTime_->text().trimmed();
      t.partition = slurmPartition_->text().trimmed();
      t.mem = slurmMem_->text().trimmed();
      break;
  }
  return t;
}

void TargetPicker::setTarget(const LaunchTarget& t) {
  kind_->setCurrentIndex(kind_->findData(int(t.kind)));
  switch (t.kind) {
    case jobs::TargetKind::kLocal:
      localRanks_->setValue(t.ranks);
      localThreads_->setValue(t.threadsPerRank);
      break;
    case jobs::TargetKind::kSsh:
      sshHost_->setText(t.host);
      sshUser_->setText(t.user);
      sshPort_->setValue(t.port);
      sshKey_->setText(t.identityFile);
      sshWorkdir_->setText(t.remoteWorkdir);
      sshKanana_->setText(t.remoteKanana);
      sshRanks_->setValue(t.ranks);
      sshThreads_->setValue(t.threadsPerRank);
      sshDevice_->setCurrentText(t.device);
      break;
    case jobs::TargetKind::kSlurm:
      slurmHost_->setText(t.host);
      slurmUser_->setText(t.user);
      slurmWorkdir_->setText(t.remoteWorkdir);
      slurmKanana_->setText(t.remoteKanana);
      slurmNodes_->setValue(t.nodes);
      slurmGpus_->setValue(t.gpusPerNode);
      slurmRanks_->setValue(t.ranks);
      slurmCpus_->setValue(t.cpusPerTask);
      slurmTime_->setText(t.timeLimit);
      slurmPartition_->setText(t.partition);
      slurmMem_->setText(t.mem);
      break;
  }
}

void TargetPicker::load(QSettings* s) {
  if (!s) return;
  s->beginGroup(QStringLiteral("jobs/target"));
  localRanks_->setValue(s->value(QStringLiteral("local/ranks"), 1).toInt());
  localThreads_->setValue(s->value(QStringLiteral("local/threads"), 0).toInt());
  sshHost_->setText(s->value(QStringLiteral("ssh/host")).toString());
  sshUser_->setText(s->value(QStringLiteral("ssh/user")).toString());
  sshPort_->setValue(s->value(QStringLiteral("ssh/port"), 0).toInt());
  sshKey_->setText(s->value(QStringLiteral("ssh/identity_file")).toString());
  sshWorkdir_->setText(s->value(QStringLiteral("ssh/remote_workdir")).toString());
  sshKanana_->setText(s->value(QStringLiteral("ssh/kanana")).toString());
  sshRanks_->setValue(s->value(QStringLiteral("ssh/ranks"), 1).toInt());
  sshThreads_->setValue(s->value(QStringLiteral("ssh/threads"), 0).toInt());
  sshDevice_->setCurrentText(s->value(QStringLiteral("ssh/device"), QStringLiteral("cpu")).toString());
  slurmHost_->setText(s->value(QStringLiteral("slurm/host")).toString());
  slurmUser_->setText(s->value(QStringLiteral("slurm/user")).toString());
  slurmWorkdir_->setText(s->value(QStringLiteral("slurm/remote_workdir")).toString());
  slurmKanana_->setText(s->value(QStringLiteral("slurm/kanana")).toString());
  slurmNodes_->setValue(s->value(QStringLiteral("slurm/nodes"), 1).toInt());
  slurmGpus_->setValue(s->value(QStringLiteral("slurm/gpus_per_node"), 0).toInt());
  slurmRanks_->setValue(s->value(QStringLiteral("slurm/ranks"), 1).toInt());
  slurmCpus_->setValue(s->value(QStringLiteral("slurm/cpus_per_task"), 0).toInt());
  slurmTime_->setText(s->value(QStringLiteral("slurm/time")).toString());
  slurmPartition_->setText(s->value(QStringLiteral("slurm/partition")).toString());
  slurmMem_->setText(s->value(QStringLiteral("slurm/mem")).toString());
  kind_->setCurrentIndex(std::max(0, kind_->findData(s->value(QStringLiteral("kind"), 0).toInt())));
  s->endGroup();
}

void TargetPicker::save(QSettings* s) const {
  if (!s) return;
  s->beginGroup(QStringLiteral("jobs/target"));
  s->setValue(QStringLiteral("kind"), kind_->currentData().toInt());
  s->setValue(QStringLiteral("local/ranks"), localRanks_->value());
  s->setValue(QStringLiteral("local/threads"), localThreads_->value());
  s->setValue(QStringLiteral("ssh/host"), sshHost_->text());
  s->setValue(QStringLiteral("ssh/user"), sshUser_->text());
  s->setValue(QStringLiteral("ssh/port"), sshPort_->value());
  s->setValue(QStringLiteral("ssh/identity_file"), sshKey_->text());
  s->setValue(QStringLiteral("ssh/remote_workdir"), sshWorkdir_->text());
  s->setValue(QStringLiteral("ssh/kanana"), sshKanana_->text());
  s->setValue(QStringLiteral("ssh/ranks"), sshRanks_->value());
  s->setValue(QStringLiteral("ssh/threads"), sshThreads_->value());
  s->setValue(QStringLiteral("ssh/device"), sshDevice_->currentText());
  s->setValue(QStringLiteral("slurm/host"), slurmHost_->text());
  s->setValue(QStringLiteral("slurm/user"), slurmUser_->text());
  s->setValue(QStringLiteral("slurm/remote_workdir"), slurmWorkdir_->text());
  s->setValue(QStringLiteral("slurm/kanana"), slurmKanana_->text());
  s->setValue(QStringLiteral("slurm/nodes"), slurmNodes_->value());
  s->setValue(QStringLiteral("slurm/gpus_per_node"), slurmGpus_->value());
  s->setValue(QStringLiteral("slurm/ranks"), slurmRanks_->value());
  s->setValue(QStringLiteral("slurm/cpus_per_task"), slurmCpus_->value());
  s->setValue(QStringLiteral("slurm/time"), slurmTime_->text());
  s->setValue(QStringLiteral("slurm/partition"), slurmPartition_->text());
  s->setValue(QStringLiteral("slurm/mem"), slurmMem_->text());
  s->endGroup();
}

}  // namespace kanana::jobsplugin
