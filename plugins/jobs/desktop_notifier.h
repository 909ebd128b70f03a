// Shows run notifications on the channel run_notifications.h chose: a system-tray balloon,
// a freedesktop notification over the session D-Bus (when Qt DBus was found at build time),
// or — without a desktop to talk to — bannerRequested(), which the page shows as a banner.
// GUI thread only.
#pragma once

#include <QObject>
#include <optional>

#include "run_notifications.h"

class QSystemTrayIcon;

namespace kanana::jobsplugin {

class DesktopNotifier : public QObject {
  Q_OBJECT
 public:
  explicit DesktopNotifier(QObject* parent = nullptr);
  ~DesktopNotifier() override;

  // What this session can use (checked on every call; a tray may appear later).
  static NotificationCapabilities probe();
  // Tests pin the capabilities instead of asking the desktop.
  void setCapabilities(std::optional<NotificationCapabilities> caps) { override_ = caps; }

  // Shows `n`; returns the channel it went to (Banner when the chosen one failed).
  NotificationChannel notify(const RunNotification& n);

 Q_SIGNALS:
  void bannerRequested(const QString& title, const QString& body, bool failed);

 private:
  bool showTray(const RunNotification& n);
  bool showDBus(const RunNotification& n);

  std::optional<NotificationCapabilities> override_;
  QSystemTrayIcon* tray_ = nullptr;
};

}  // namespace kanana::jobsplugin
