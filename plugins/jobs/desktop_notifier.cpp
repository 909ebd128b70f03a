// See desktop_notifier.h.
#include "desktop_notifier.h"

#include <QApplication>
#include <QStyle>
#include <QSystemTrayIcon>

#ifdef KANANA_HAVE_QTDBUS
#include <QDBusConnection>
#include <QDBusConnectionInterface>
#include <QDBusMessage>
#endif

namespace kanana::jobsplugin {

namespace {
constexpr const char* kNotifyService = "org.freedesktop.Notifications";
constexpr const char* kNotifyPath = "/org/freedesktop/Notifications";
}  // namespace

DesktopNotifier::DesktopNotifier(QObject* parent) : QObject(parent) {}
DesktopNotifier::~DesktopNotifier() { delete tray_; }

NotificationCapabilities DesktopNotifier::probe() {
  NotificationCapabilities caps;
  caps.trayAvailable = QSystemTrayIcon::isSystemTrayAvailable() && QSystemTrayIcon::supportsMessages();
#ifdef KANANA_HAVE_QTDBUS
  QDBusConnection bus = QDBusConnection::sessionBus();
  caps.dbusAvailable = bus.isConnected() && bus.interface() &&
                       bus.interface()->isServiceRegistered(QString::fromLatin1(kNotifyService)).value();
#endif
  return caps;
}

bool DesktopNotifier::showTray(const RunNotification& n) {
  if (!tray_) {
    tray_ = new QSystemTrayIcon;
    tray_->setIcon(QApplication::style()->standardIcon(QStyle::SP_ComputerIcon));
    tray_->setToolTip(QStringLiteral("Kanana Workbench"));
  }
  tray_->show();
  tray_->showMessage(n.title, n.body, n.failed ? QSystemTrayIcon::Warning : QSystemTrayIcon::Information, 10000);
  return true;
}

bool DesktopNotifier::showDBus(const RunNotification& n) {
#ifdef KANANA_HAVE_QTDBUS
  QDBusMessage m = QDBusMessage::createMethodCall(QString::fromLatin1(kNotifyService), QString::fromLatin1(kNotifyPath),
                                                  QString::fromLatin1(kNotifyService), QStringLiteral("Notify"));
  QVariantMap hints;
  hints.insert(QStringLiteral("urgency"), QVariant::fromValue<uchar>(n.failed ? 2 : 1));
  m << QStringLiteral("Kanana Workbench") << uint(0) << QStringLiteral("kanana-workbench") << n.title << n.body
    << QStringList() << hints << int(10000);
  return QDBusConnection::sessionBus().send(m);
#else
  Q_UNUSED(n);
  return false;
#endif
}

NotificationChannel DesktopNotifier::notify(const RunNotification& n) {
  const NotificationCapabilities caps = override_ ? *override_ : probe();
  NotificationChannel channel = chooseNotificationChannel(caps);
  bool shown = false;
  if (channel == NotificationChannel::Tray && !override_) shown = showTray(n);
  if (channel == NotificationChannel::DBus && !override_) shown = showDBus(n);
  if (override_ && channel != NotificationChannel::Banner) shown = true;  // tests: the decision only
  if (!shown) {
    channel = NotificationChannel::Banner;
    Q_EMIT bannerRequested(n.title, n.body, n.failed);
  }
  return channel;
}

}  // namespace kanana::jobsplugin
