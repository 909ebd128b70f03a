// The entry point of a Qt Test suite. A test source ends with one of
//
//   KANANA_TEST_MAIN(Class)          // like QTEST_MAIN: a QApplication (QGuiApplication) suite
//   KANANA_TEST_GUILESS_MAIN(Class)  // like QTEST_GUILESS_MAIN: a QCoreApplication suite
//   KANANA_TEST_APPLESS_MAIN(Class)  // like QTEST_APPLESS_MAIN: no application object
//
// Built alone (-DKANANA_TEST_GROUPS=OFF or a STANDALONE test) they are the QTEST_*_MAIN macros.
// In the default build the suites of one tests/<module> folder share one executable,
// tests_<module>[_torch], compiled in unity batches (kanana_add_test in
// cmake/KananaHelpers.cmake): each source's header parsing, AUTOMOC step and link were most of
// the test build's time. The macro then registers the suite, and tests/common/test_group_main.cpp
// runs the one named on the command line: `tests_model TestModelConfig [QTest options]`.
#pragma once

#include <QtTest>

#ifdef KANANA_TEST_GROUP

namespace kanana::test {

enum class AppKind { kNone, kCore, kGui };
using SuiteInit = void (*)();  // the class's static initMain(), before the application exists
using SuiteRun = int (*)(int argc, char** argv);

// Adds a suite to the executable's list; two suites of one name abort at start-up.
bool register_suite(const char* name, AppKind app, SuiteInit init, SuiteRun run);

}  // namespace kanana::test

#define KANANA_TEST_SUITE_(Class, Kind)                                                         \
  namespace {                                                                                   \
  [[maybe_unused]] const bool kanana_test_suite_registered_##Class = ::kanana::test::register_suite( \
      #Class, Kind, [] { QTest::Internal::callInitMain<Class>(); },                             \
      [](int argc, char** argv) {                                                               \
        QTest::setMainSourcePath(__FILE__);                                                     \
        Class tc;                                                                               \
        return QTest::qExec(&tc, argc, argv);                                                   \
      });                                                                                       \
  }

#define KANANA_TEST_MAIN(Class) KANANA_TEST_SUITE_(Class, ::kanana::test::AppKind::kGui)
#define KANANA_TEST_GUILESS_MAIN(Class) KANANA_TEST_SUITE_(Class, ::kanana::test::AppKind::kCore)
#define KANANA_TEST_APPLESS_MAIN(Class) KANANA_TEST_SUITE_(Class, ::kanana::test::AppKind::kNone)

#else

#define KANANA_TEST_MAIN(Class) QTEST_MAIN(Class)
#define KANANA_TEST_GUILESS_MAIN(Class) QTEST_GUILESS_MAIN(Class)
#define KANANA_TEST_APPLESS_MAIN(Class) QTEST_APPLESS_MAIN(Class)

#endif
