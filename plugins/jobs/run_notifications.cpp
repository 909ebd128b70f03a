// See run_notifications.h.
#include "run_notifications.h"

#include <cmath>

namespace kanana::jobsplugin {

const char* notificationChannelName(NotificationChannel channel) {
  switch (channel) {
    case NotificationChannel::Tray: return "tray";
    case NotificationChannel::DBus: return "dbus";
    case NotificationChannel::Banner: return "banner";
  }
  return "banner";
}

NotificationChannel chooseNotificationChannel(const NotificationCapabilities& caps) {
  if (caps.trayAvailable) return NotificationChannel::Tray;
  if (caps.dbusAvailable) return NotificationChannel::DBus;
  return NotificationChannel::Banner;
}

QList<RunNotification> FinishWatcher::update(const QList<RunRow>& runs) {
  QList<RunNotification> out;
  for (const RunRow& r : runs) {
    const auto previous = states_.constFind(r.id);
    const bool wasActive = previous != states_.constEnd() && isActiveState(*previous);
    states_.insert(r.id, r.state);
    if (!wasActive) continue;
    const bool finished = r.state == QStringLiteral("finished");
    const bool failed = r.state == QStringLiteral("failed");
    if (!finished && !failed) continue;
    RunNotification n;
    n.runId = r.id;
    n.failed = failed;
    n.title = QStringLiteral("Run %1 %2").arg(r.id).arg(r.state);
    n.body = r.name;
    if (r.lastStep >= 0) n.body += QStringLiteral(" · step %1").arg(r.lastStep);
    if (std::isfinite(r.lastLoss)) n.body += QStringLiteral(" · loss %1").arg(r.lastLoss, 0, 'f', 4);
    if (failed && !r.reason.isEmpty()) n.body += QStringLiteral("\n") + r.reason;
    out.append(n);
  }
  return out;
}

}  // namespace kanana::jobsplugin
