// See workbench_context.h.
#include "workbench_context.h"

#include <QDir>
#include <QFileInfo>
#include <QMetaObject>
#include <QSettings>
#include <QThread>

#include "sdk/job_service.h"
#include "store/workspace.h"

namespace kanana::gui {

namespace {
constexpr int kMaxRecent = 10;
}

WorkbenchContext::WorkbenchContext(QSettings* settings, QObject* parent)
    : QObject(parent), settings_(settings) {
  qRegisterMetaType<kanana::gui::LogEntry>();
}

WorkbenchContext::~WorkbenchContext() = default;

JobService* WorkbenchContext::jobService() {
  if (!jobService_) {
    jobService_ = new JobService(this);
    jobService_->setWorkspace(workspacePath_);
  }
  return jobService_;
}

QString WorkbenchContext::workspaceName() const {
  return workspace_ ? QString::fromStdString(workspace_->name()) : QString();
}

bool WorkbenchContext::openWorkspace(const QString& dir, QString* error) {
  const std::filesystem::path path = QDir(dir).absolutePath().toStdString();
  if (!store::Workspace::exists(path)) {
    if (error) *error = tr("'%1' is not a workspace (no workspace.json or workspace.db)").arg(dir);
    return false;
  }
  auto ws = store::Workspace::open(path);
  if (!ws.is_ok()) {
    if (error) *error = QString::fromStdString(ws.status().to_string());
    return false;
  }
  switchTo(std::shared_ptr<store::Workspace>(std::move(ws).value()));
  return true;
}

bool WorkbenchContext::createWorkspace(const QString& dir, const QString& name, QString* error) {
  const std::filesystem::path path = QDir(dir).absolutePath().toStdString();
  auto ws = store::Workspace::create(path, name.toStdString());
  if (!ws.is_ok()) {
    if (error) *error = QString::fromStdString(ws.status().to_string());
    return false;
  }
  switchTo(std::shared_ptr<store::Workspace>(std::move(ws).value()));
  return true;
}

void WorkbenchContext::setWorkspace(std::shared_ptr<store::Workspace> workspace) {
  if (workspace) switchTo(std::move(workspace));
  else closeWorkspace();
}

void WorkbenchContext::closeWorkspace() {
  if (!workspace_) return;
  workspace_.reset();
  workspacePath_.clear();
  if (jobService_) jobService_->setWorkspace(QString());
  Q_EMIT workspaceChanged(QString());
}

void WorkbenchContext::switchTo(std::shared_ptr<store::Workspace> workspace) {
  workspace_ = std::move(workspace);
  workspacePath_ = QDir::cleanPath(QString::fromStdString(workspace_->root().string()));
  if (settings_) {
    QStringList recent = recentWorkspaces();
    recent.removeAll(workspacePath_);
    recent.prepend(workspacePath_);
    while (recent.size() > kMaxRecent) recent.removeLast();
    settings_->setValue(settings_keys::kRecentWorkspaces, recent);
    settings_->setValue(settings_keys::kLastWorkspace, workspacePath_);
  }
  if (jobService_) jobService_->setWorkspace(workspacePath_);
  log(LogLevel::Info, QStringLiteral("workspace"),
      tr("Opened workspace '%1' at %2").arg(workspaceName(), workspacePath_));
  Q_EMIT workspaceChanged(workspacePath_);
}

QStringList WorkbenchContext::recentWorkspaces() const {
  return settings_ ? settings_->value(settings_keys::kRecentWorkspaces).toStringList() : QStringList();
}

void WorkbenchContext::log(LogLevel level, const QString& source, const QString& message) {
  LogEntry entry{QDateTime::currentDateTime(), level, source, message};
  if (QThread::currentThread() == thread()) {
    Q_EMIT logged(entry);
  } else {
    QMetaObject::invokeMethod(this, [this, entry] { Q_EMIT logged(entry); }, Qt::QueuedConnection);
  }
}

QString WorkbenchContext::dataCachePath() const {
  const QString configured = settings_ ? settings_->value(settings_keys::kDataCache).toString() : QString();
  if (!configured.isEmpty()) return configured;
  const QString env = qEnvironmentVariable("KANANA_DATA_CACHE");
  if (!env.isEmpty()) return env;
  return QDir::homePath() + QStringLiteral("/.cache/kanana-workbench");
}

int WorkbenchContext::torchThreads() const {
  return settings_ ? qMax(0, settings_->value(settings_keys::kTorchThreads, 0).toInt()) : 0;
}

void WorkbenchContext::addObject(QObject* object) {
  if (!object) return;
  {
    QWriteLocker lock(&objectsLock_);
    if (objects_.contains(object)) return;
    objects_.append(object);
  }
  Q_EMIT objectAdded(object);
}

void WorkbenchContext::removeObject(QObject* object) {
  {
    QReadLocker lock(&objectsLock_);
    if (!objects_.contains(object)) return;
  }
  Q_EMIT aboutToRemoveObject(object);
  QWriteLocker lock(&objectsLock_);
  objects_.removeAll(object);
}

QList<QObject*> WorkbenchContext::allObjects() const {
  QReadLocker lock(&objectsLock_);
  return objects_;
}

QString WorkbenchContext::dialogDir(const QString& sub) const {
  if (workspacePath_.isEmpty()) return QDir::homePath();
  const QDir root(workspacePath_);
  if (!sub.isEmpty() && root.exists(sub)) return root.filePath(sub);
  return workspacePath_;
}

}  // namespace kanana::gui
