// The plugin manager against real fixture plugin libraries: dependency order, the staged
// start-up, every kind of broken plugin (undefined symbol, wrong IID, initialize() that
// throws or returns false, missing dependency, cycle) reported and skipped while the good
// plugins still run, and enable/disable persisted in a settings file.
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "sdk/log_model.h"
#include "sdk/plugin_manager.h"
#include "sdk/workbench_context.h"

using namespace kanana::gui;
using State = PluginSpec::State;

namespace {

// One workbench's worth of plugin machinery over the fixture folder.
struct Harness {
  explicit Harness(const QString& settingsFile)
      : settings(settingsFile, QSettings::IniFormat), context(&settings), manager(&context, &settings) {
    QObject::connect(&context, &WorkbenchContext::logged, &log, &LogModel::append);
    manager.setPluginPaths({QStringLiteral(KANANA_FIXTURE_PLUGIN_DIR)});
  }
  QStringList calls() const { return context.property("fixture.calls").toStringList(); }
  PluginSpec* spec(const QString& id) const {
    PluginSpec* s = manager.plugin(id);
    if (!s) qWarning("no plugin %s", qPrintable(id));
    return s;
  }
  QSettings settings;
  WorkbenchContext context;
  LogModel log;
  PluginManager manager;
};

}  // namespace

class TestPluginManager : public QObject {
  Q_OBJECT
 private:
  QTemporaryDir dir_;
  QString settingsFile(const char* name) const { return dir_.filePath(QString::fromLatin1(name)); }

 private Q_SLOTS:
  void initTestCase() { QVERIFY(dir_.isValid()); }

  void scanReadsMetadataWithoutLoading() {
    Harness h(settingsFile("scan.ini"));
    h.manager.scan();
    QCOMPARE(h.manager.plugins().size(), 11);
    PluginSpec* base = h.spec(QStringLiteral("fixture.base"));
    QVERIFY(base);
    QCOMPARE(base->state, State::Read);
    QCOMPARE(base->name, QStringLiteral("Base"));
    QCOMPARE(base->version, QStringLiteral("1.2.0"));
    QCOMPARE(base->compatVersion, QStringLiteral("1.0.0"));
    QCOMPARE(base->category, QStringLiteral("Test fixtures"));
    PluginSpec* dependent = h.spec(QStringLiteral("fixture.dependent"));
    QCOMPARE(dependent->dependencies.size(), 1);
    QCOMPARE(dependent->dependencies[0].id, QStringLiteral("fixture.base"));
    QCOMPARE(dependent->dependencies[0].version, QStringLiteral("1.1"));
    // The missing-symbol library is still readable: the failure must come at load time.
    QCOMPARE(h.spec(QStringLiteral("fixture.missing_symbol"))->state, State::Read);
    for (PluginSpec* s : h.manager.plugins()) QVERIFY(!s->loader);
    QVERIFY(h.calls().isEmpty());
  }

  void goodPluginsStartInDependencyOrder() {
    Harness h(settingsFile("order.ini"));
    const int running = h.manager.loadPlugins();
    QCOMPARE(running, 2);
    PluginSpec* base = h.spec(QStringLiteral("fixture.base"));
    PluginSpec* dependent = h.spec(QStringLiteral("fixture.dependent"));
    QCOMPARE(base->state, State::Running);
    QCOMPARE(dependent->state, State::Running);
    QVERIFY(base->errorString.isEmpty());
    QCOMPARE(dependent->resolvedDependencies, QList<PluginSpec*>{base});
    // alpha_dependent's file sorts first, yet base initializes first; extensionsInitialized
    // runs in reverse order, aboutToShutdown too.
    const QStringList order = h.manager.initializationOrder();
    QVERIFY(order.indexOf(QStringLiteral("fixture.base")) < order.indexOf(QStringLiteral("fixture.dependent")));
    h.manager.shutdown();
    QStringList good;
    for (const QString& c : h.calls())
      if (c.endsWith(QLatin1String(":fixture.base")) || c.endsWith(QLatin1String(":fixture.dependent"))) good.append(c);
    QCOMPARE(good, (QStringList{"initialize:fixture.base", "initialize:fixture.dependent",
                                "extensionsInitialized:fixture.dependent", "extensionsInitialized:fixture.base",
                                "aboutToShutdown:fixture.dependent", "aboutToShutdown:fixture.base"}));
    QCOMPARE(base->state, State::Stopped);
    // base removed its service in aboutToShutdown().
    QVERIFY(h.context.allObjects().isEmpty());
  }

  void missingSymbolIsReportedAndSkipped() {
    Harness h(settingsFile("missing_symbol.ini"));
    h.manager.loadPlugins();
    PluginSpec* s = h.spec(QStringLiteral("fixture.missing_symbol"));
    QCOMPARE(s->state, State::Failed);
    QVERIFY2(s->errorString.startsWith(QLatin1String("cannot load the library:")), qPrintable(s->errorString));
    QVERIFY2(s->errorString.contains(QLatin1String("undefined symbol: kanana_fixture_symbol_defined_nowhere")),
             qPrintable(s->errorString));
    QVERIFY(!s->plugin);
    QVERIFY(h.log.contains(QStringLiteral("undefined symbol: kanana_fixture_symbol_defined_nowhere"), LogLevel::Error));
    QCOMPARE(h.spec(QStringLiteral("fixture.base"))->state, State::Running);
  }

  void wrongIidIsSkippedBeforeLoading() {
    Harness h(settingsFile("wrong_iid.ini"));
    h.manager.loadPlugins();
    PluginSpec* s = h.spec(QStringLiteral("wrong_iid").prepend(QStringLiteral("libfixture_")));
    // Metadata of a foreign plugin is not trusted, so it is named after its file.
    QVERIFY(s);
    QCOMPARE(s->state, State::Failed);
    QCOMPARE(s->iid, QStringLiteral("org.example.SomeOtherApp.Plugin/1"));
    QCOMPARE(s->errorString,
             QStringLiteral("wrong IID: 'org.example.SomeOtherApp.Plugin/1' is not a workbench plugin interface "
                            "(expected 'org.kanana.workbench.IPlugin/1')"));
    QVERIFY(!s->loader);
    QVERIFY(!h.calls().contains(QStringLiteral("initialize:fixture.wrong_iid")));

    PluginSpec* old = h.spec(QStringLiteral("libfixture_old_interface"));
    QVERIFY(old);
    QCOMPARE(old->state, State::Failed);
    QVERIFY2(old->errorString.startsWith(QLatin1String("wrong interface version: built for 'org.kanana.workbench.IPlugin/0'")),
             qPrintable(old->errorString));
    QVERIFY(!h.calls().contains(QStringLiteral("initialize:fixture.old_interface")));
    QVERIFY(h.log.contains(QStringLiteral("wrong IID"), LogLevel::Error));
  }

  void throwingInitializeIsCaught() {
    Harness h(settingsFile("throws.ini"));
    h.manager.loadPlugins();
    PluginSpec* s = h.spec(QStringLiteral("fixture.throws"));
    QCOMPARE(s->state, State::Failed);
    QCOMPARE(s->errorString, QStringLiteral("initialize() threw an exception: fixture: cannot open the tokenizer bridge"));
    QVERIFY(h.calls().contains(QStringLiteral("initialize:fixture.throws")));
    QVERIFY(!h.manager.initializationOrder().contains(QStringLiteral("fixture.throws")));
    // Its dependant is skipped and never initialized.
    PluginSpec* dependant = h.spec(QStringLiteral("fixture.depends_on_throws"));
    QCOMPARE(dependant->state, State::Failed);
    QCOMPARE(dependant->errorString, QStringLiteral("dependency 'fixture.throws' failed to initialize"));
    QVERIFY(!h.calls().contains(QStringLiteral("initialize:fixture.depends_on_throws")));
    QVERIFY(h.log.contains(QStringLiteral("fixture: cannot open the tokenizer bridge"), LogLevel::Error));
  }

  void initializeReturningFalseIsReported() {
    Harness h(settingsFile("false.ini"));
    h.manager.loadPlugins();
    PluginSpec* s = h.spec(QStringLiteral("fixture.returns_false"));
    QCOMPARE(s->state, State::Failed);
    QCOMPARE(s->errorString, QStringLiteral("initialize() failed: fixture: GPU driver not found"));
  }

  void missingDependencyAndCyclesAreResolvedAway() {
    Harness h(settingsFile("deps.ini"));
    h.manager.scan();
    h.manager.resolve();
    PluginSpec* missing = h.spec(QStringLiteral("fixture.depends_on_missing"));
    QCOMPARE(missing->state, State::Failed);
    QCOMPARE(missing->errorString,
             QStringLiteral("missing dependency: requires plugin 'fixture.not_installed 1.0', which is not installed"));
    for (const char* id : {"fixture.cycle_a", "fixture.cycle_b"}) {
      PluginSpec* s = h.spec(QString::fromLatin1(id));
      QCOMPARE(s->state, State::Failed);
      QVERIFY2(s->errorString.startsWith(QLatin1String("dependency cycle: ")), qPrintable(s->errorString));
      QVERIFY(s->errorString.contains(QLatin1String("fixture.cycle_a -> fixture.cycle_b")) ||
              s->errorString.contains(QLatin1String("fixture.cycle_b -> fixture.cycle_a")));
    }
    // Only resolvable plugins are queued, dependencies first.
    QStringList queue;
    for (PluginSpec* s : h.manager.loadQueue()) queue.append(s->id);
    QVERIFY(!queue.contains(QStringLiteral("fixture.cycle_a")));
    QVERIFY(queue.indexOf(QStringLiteral("fixture.base")) < queue.indexOf(QStringLiteral("fixture.dependent")));
    QVERIFY(queue.indexOf(QStringLiteral("fixture.throws")) < queue.indexOf(QStringLiteral("fixture.depends_on_throws")));
    h.manager.loadPlugins();
    QVERIFY(!h.calls().contains(QStringLiteral("initialize:fixture.cycle_a")));
    QVERIFY(!h.calls().contains(QStringLiteral("initialize:fixture.depends_on_missing")));
    QCOMPARE(h.manager.failedPlugins().size(), 9);
  }

  void enabledStateIsPersisted() {
    const QString file = settingsFile("enable.ini");
    {
      Harness h(file);
      h.manager.scan();
      QVERIFY(h.manager.isEnabled(QStringLiteral("fixture.base")));
      QSignalSpy spy(&h.manager, &PluginManager::pluginStateChanged);
      h.manager.setEnabled(QStringLiteral("fixture.base"), false);
      QCOMPARE(spy.count(), 1);
      h.settings.sync();
    }
    {
      Harness h(file);
      QVERIFY(!h.manager.isEnabled(QStringLiteral("fixture.base")));
      h.manager.loadPlugins();
      PluginSpec* base = h.spec(QStringLiteral("fixture.base"));
      QCOMPARE(base->state, State::Disabled);
      QCOMPARE(base->errorString, QStringLiteral("disabled in the plugin manager"));
      PluginSpec* dependent = h.spec(QStringLiteral("fixture.dependent"));
      QCOMPARE(dependent->state, State::Disabled);
      QCOMPARE(dependent->errorString, QStringLiteral("dependency 'fixture.base' is disabled"));
      QVERIFY(!h.calls().contains(QStringLiteral("initialize:fixture.base")));
      h.manager.setEnabled(QStringLiteral("fixture.base"), true);
      h.settings.sync();
    }
    {
      Harness h(file);
      h.manager.loadPlugins();
      QCOMPARE(h.spec(QStringLiteral("fixture.base"))->state, State::Running);
      QCOMPARE(h.spec(QStringLiteral("fixture.dependent"))->state, State::Running);
    }
  }

  void metadataIsValidated() {
    auto meta = [](const QJsonObject& m) {
      return QJsonObject{{"IID", QStringLiteral("org.kanana.workbench.IPlugin/1")}, {"MetaData", m}};
    };
    PluginSpec ok;
    QVERIFY(ok.readMetaData(meta({{"id", "x"}, {"version", "0.1.0"}})));
    QCOMPARE(ok.name, QStringLiteral("x"));
    QCOMPARE(ok.compatVersion, QStringLiteral("0.1.0"));
    PluginSpec badVersion;
    QVERIFY(!badVersion.readMetaData(meta({{"id", "x"}, {"version", "one"}})));
    QCOMPARE(badVersion.errorString,
             QStringLiteral("metadata field 'version' must be a dotted number like 1.2.0, got 'one'"));
    PluginSpec noId;
    QVERIFY(!noId.readMetaData(meta({{"version", "1"}})));
    QCOMPARE(noId.errorString, QStringLiteral("metadata field 'id' is missing"));
    PluginSpec badDeps;
    QVERIFY(!badDeps.readMetaData(meta({{"id", "x"}, {"version", "1"}, {"dependencies", QJsonArray{QJsonObject{{"version", "1"}}}}})));
    QCOMPARE(badDeps.errorString, QStringLiteral("metadata field 'dependencies[0].id' is missing"));
    PluginSpec notQt;
    QVERIFY(!notQt.readMetaData(QJsonObject{}));
    QCOMPARE(notQt.state, State::Failed);

    QVERIFY(PluginSpec::compareVersions(QStringLiteral("1.10"), QStringLiteral("1.9")) > 0);
    QCOMPARE(PluginSpec::compareVersions(QStringLiteral("1.0"), QStringLiteral("1")), 0);
    PluginSpec base;
    base.version = QStringLiteral("1.2.0");
    base.compatVersion = QStringLiteral("1.0.0");
    QVERIFY(base.provides(QStringLiteral("1.1")));
    QVERIFY(base.provides(QString()));
    QVERIFY(!base.provides(QStringLiteral("0.9")));
    QVERIFY(!base.provides(QStringLiteral("1.3")));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestPluginManager)
#include "test_plugin_manager.moc"
