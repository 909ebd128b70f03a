// When to tell the user about a run, and how. A run that this session saw queued or running
// and that is now finished or failed gets one notification (a run already over when first
// seen gets none: a restart does not replay old news; a run the user cancelled gets none).
// The channel is the first that works here: the system tray's balloon, else a freedesktop
// notification over D-Bus, else a banner inside the window. This file holds the decisions
// only (QtCore); desktop_notifier.h does the showing.
#pragma once

#include <QHash>
#include <QList>
#include <QString>

#include "runs_model.h"

namespace kanana::jobsplugin {

enum class NotificationChannel { Tray, DBus, Banner };
const char* notificationChannelName(NotificationChannel channel);  // "tray", "dbus", "banner"

struct NotificationCapabilities {
  bool trayAvailable = false;  // QSystemTrayIcon::isSystemTrayAvailable() && supportsMessages()
  bool dbusAvailable = false;  // session bus with org.freedesktop.Notifications registered
};
NotificationChannel chooseNotificationChannel(const NotificationCapabilities& caps);

struct RunNotification {
  qint64 runId = 0;
  bool failed = false;
  QString title;   // "Run 12 finished" / "Run 12 failed"
  QString body;    // name, last step and loss, or the failure reason
};

class FinishWatcher {
 public:
  // Feed every refreshed snapshot; returns the notifications it implies.
  QList<RunNotification> update(const QList<RunRow>& runs);
  void clear() { states_.clear(); }

 private:
  QHash<qint64, QString> states_;  // last state seen per run
};

}  // namespace kanana::jobsplugin
