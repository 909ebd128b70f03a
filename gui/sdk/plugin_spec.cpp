// See plugin_spec.h.
#include "plugin_spec.h"

#include <QJsonArray>
#include <QRegularExpression>

#include "iplugin.h"

namespace kanana::gui {

namespace {
const QRegularExpression& versionPattern() {
  static const QRegularExpression re(QStringLiteral("^\\d+(\\.\\d+){0,3}$"));
  return re;
}
const QRegularExpression& idPattern() {
  static const QRegularExpression re(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._-]*$"));
  return re;
}
}  // namespace

bool PluginSpec::isValidVersion(const QString& version) {
  return versionPattern().match(version).hasMatch();
}

int PluginSpec::compareVersions(const QString& a, const QString& b) {
  const QStringList pa = a.split(u'.'), pb = b.split(u'.');
  for (int i = 0; i < qMax(pa.size(), pb.size()); ++i) {
    const int x = i < pa.size() ? pa[i].toInt() : 0;
    const int y = i < pb.size() ? pb[i].toInt() : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

bool PluginSpec::provides(const QString& requiredVersion) const {
  if (requiredVersion.isEmpty()) return true;
  return compareVersions(compatVersion, requiredVersion) <= 0 &&
         compareVersions(requiredVersion, version) <= 0;
}

QString PluginSpec::stateName(State state) {
  switch (state) {
    case State::Invalid: return QStringLiteral("Invalid");
    case State::Read: return QStringLiteral("Read");
    case State::Resolved: return QStringLiteral("Resolved");
    case State::Loaded: return QStringLiteral("Loaded");
    case State::Initialized: return QStringLiteral("Initialized");
    case State::Running: return QStringLiteral("Running");
    case State::Stopped: return QStringLiteral("Stopped");
    case State::Failed: return QStringLiteral("Failed");
    case State::Disabled: return QStringLiteral("Disabled");
  }
  return QString();
}

bool PluginSpec::readMetaData(const QJsonObject& pluginMetaData) {
  auto fail = [this](const QString& why) {
    state = State::Failed;
    errorString = why;
    return false;
  };
  iid = pluginMetaData.value(QStringLiteral("IID")).toString();
  if (pluginMetaData.isEmpty() || iid.isEmpty())
    return fail(QStringLiteral("not a Qt plugin (no plugin metadata found in the library)"));
  if (iid != QLatin1String(KANANA_IPLUGIN_IID)) {
    if (iid.startsWith(QLatin1String(KANANA_IPLUGIN_IID_PREFIX)))
      return fail(QStringLiteral("wrong interface version: built for '%1', this workbench loads '%2' "
                                 "(rebuild the plugin against this SDK)")
                      .arg(iid, QLatin1String(KANANA_IPLUGIN_IID)));
    return fail(QStringLiteral("wrong IID: '%1' is not a workbench plugin interface (expected '%2')")
                    .arg(iid, QLatin1String(KANANA_IPLUGIN_IID)));
  }

  const QJsonObject meta = pluginMetaData.value(QStringLiteral("MetaData")).toObject();
  if (meta.isEmpty())
    return fail(QStringLiteral("no metadata JSON (Q_PLUGIN_METADATA needs FILE \"<plugin>.json\")"));
  auto text = [&meta](const char* key) { return meta.value(QLatin1String(key)).toString().trimmed(); };
  id = text("id");
  name = text("name");
  version = text("version");
  compatVersion = text("compatVersion");
  vendor = text("vendor");
  category = text("category");
  description = text("description");
  enabledByDefault = meta.value(QStringLiteral("enabledByDefault")).toBool(true);
  if (id.isEmpty()) return fail(QStringLiteral("metadata field 'id' is missing"));
  if (!idPattern().match(id).hasMatch())
    return fail(QStringLiteral("metadata field 'id' must be letters, digits, '.', '_' or '-', got '%1'").arg(id));
  if (name.isEmpty()) name = id;
  if (!isValidVersion(version))
    return fail(QStringLiteral("metadata field 'version' must be a dotted number like 1.2.0, got '%1'").arg(version));
  if (compatVersion.isEmpty()) compatVersion = version;
  if (!isValidVersion(compatVersion))
    return fail(QStringLiteral("metadata field 'compatVersion' must be a dotted number, got '%1'").arg(compatVersion));
  if (compareVersions(compatVersion, version) > 0)
    return fail(QStringLiteral("metadata field 'compatVersion' (%1) is newer than 'version' (%2)")
                    .arg(compatVersion, version));

  const QJsonValue deps = meta.value(QStringLiteral("dependencies"));
  if (!deps.isUndefined() && !deps.isArray())
    return fail(QStringLiteral("metadata field 'dependencies' must be an array of {\"id\", \"version\"}"));
  const QJsonArray array = deps.toArray();
  for (int i = 0; i < array.size(); ++i) {
    const QJsonObject d = array.at(i).toObject();
    PluginDependency dep{d.value(QStringLiteral("id")).toString().trimmed(),
                         d.value(QStringLiteral("version")).toString().trimmed()};
    if (dep.id.isEmpty())
      return fail(QStringLiteral("metadata field 'dependencies[%1].id' is missing").arg(i));
    if (!dep.version.isEmpty() && !isValidVersion(dep.version))
      return fail(QStringLiteral("metadata field 'dependencies[%1].version' must be a dotted number, got '%2'")
                      .arg(i)
                      .arg(dep.version));
    dependencies.append(dep);
  }
  state = State::Read;
  errorString.clear();
  return true;
}

}  // namespace kanana::gui
