// main() of a grouped test executable (see test_main.h):
//
//   tests_<module> SUITE [QTest options]   run one suite (what CTest does, one test per suite)
//   tests_<module> [QTest options]         run every suite in turn
//   tests_<module> --list-suites           print the suites
//
// The application object is the one the suite's macro asks for, as QTEST_*_MAIN would make
// it; running every suite makes the strongest one any of them needs.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <QCoreApplication>
#if defined(QT_WIDGETS_LIB)
#include <QApplication>
#elif defined(QT_GUI_LIB)
#include <QGuiApplication>
#endif

#include "test_main.h"

namespace kanana::test {
namespace {

struct Suite {
  std::string name;
  AppKind app;
  SuiteInit init;
  SuiteRun run;
};

std::vector<Suite>& suites() {
  static std::vector<Suite> all;
  return all;
}

std::unique_ptr<QCoreApplication> make_app(AppKind kind, int& argc, char** argv) {
  std::unique_ptr<QCoreApplication> app;
  if (kind == AppKind::kGui) {
#if defined(QT_WIDGETS_LIB)
    app = std::make_unique<QApplication>(argc, argv);
#elif defined(QT_GUI_LIB)
    app = std::make_unique<QGuiApplication>(argc, argv);
#else
    app = std::make_unique<QCoreApplication>(argc, argv);
#endif
  } else if (kind == AppKind::kCore) {
    app = std::make_unique<QCoreApplication>(argc, argv);
  }
  if (app) app->setAttribute(Qt::AA_Use96Dpi, true);
  return app;
}

}  // namespace

bool register_suite(const char* name, AppKind app, SuiteInit init, SuiteRun run) {
  for (const Suite& s : suites()) {
    if (s.name == name) {
      std::fprintf(stderr, "test suite %s is registered twice in this executable\n", name);
      std::abort();
    }
  }
  suites().push_back({name, app, init, run});
  return true;
}

}  // namespace kanana::test

int main(int argc, char** argv) {
  using kanana::test::AppKind;
  auto& all = kanana::test::suites();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  if (argc > 1 && std::strcmp(argv[1], "--list-suites") == 0) {
    for (const auto& s : all) std::printf("%s\n", s.name.c_str());
    return 0;
  }
  // argv without the suite name, so QTest sees only its own options.
  std::vector<char*> args(argv, argv + argc);
  std::vector<const kanana::test::Suite*> chosen;
  if (argc > 1 && argv[1][0] != '-') {
    for (const auto& s : all)
      if (s.name == argv[1]) chosen.push_back(&s);
    if (chosen.empty()) {
      std::fprintf(stderr, "%s: no test suite %s here (--list-suites lists them)\n", argv[0], argv[1]);
      return 2;
    }
    args.erase(args.begin() + 1);
  } else {
    for (const auto& s : all) chosen.push_back(&s);
  }
  AppKind kind = AppKind::kNone;
  for (const auto* s : chosen) kind = std::max(kind, s->app);
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  for (const auto* s : chosen) s->init();
  auto app = kanana::test::make_app(kind, n, args.data());
  int failures = 0;
  for (const auto* s : chosen) failures += s->run(n, args.data()) != 0 ? 1 : 0;
  return failures == 0 ? 0 : 1;
}
