// Option parsing of `kanana` commands: usage errors name the flag; defaults and env work.
#include <QtTest>

#include <cstdlib>

#include "cli/args.h"

using namespace kanana;
using namespace kanana::cli;

class TestCliArgs : public QObject {
  Q_OBJECT
  std::vector<OptionSpec> options() {
    return {{.name = "out", .value_name = "DIR", .help = "output", .required = true, .short_name = 'o'},
            {.name = "threads", .value_name = "N", .help = "threads", .default_value = "1", .env = "KANANA_TEST_THREADS"},
            {.name = "greedy", .help = "greedy decoding"},
            {.name = "stop", .value_name = "S", .help = "stop string", .repeated = true}};
  }
 private Q_SLOTS:
  void parsesValuesFlagsAndPositionals() {
    bool help = false;
    auto a = parse_args(options(), {"FILE...", 1, -1}, {"a.txt", "--out=x", "--greedy", "--stop", "A", "--stop", "B", "b.txt"}, &help);
    QVERIFY2(a.is_ok(), a.status().message().c_str());
    QCOMPARE(a->get("out"), std::string("x"));
    QVERIFY(a->flag("greedy"));
    QCOMPARE(a->get_all("stop").size(), size_t(2));
    QCOMPARE(a->positional().size(), size_t(2));
    QCOMPARE(*a->get_int("threads"), int64_t(1));
  }
  void usageErrorsNameTheFlag() {
    bool help = false;
    auto missing = parse_args(options(), {"FILE", 1, 1}, {"a"}, &help);
    QVERIFY(!missing.is_ok());
    QVERIFY(missing.status().message().find("--out") != std::string::npos);
    auto unknown = parse_args(options(), {"FILE", 1, 1}, {"a", "-o", "d", "--bogus"}, &help);
    QVERIFY(unknown.status().message().find("--bogus") != std::string::npos);
    auto no_value = parse_args(options(), {"FILE", 1, 1}, {"a", "--out"}, &help);
    QVERIFY(no_value.status().message().find("needs a value") != std::string::npos);
    auto twice = parse_args(options(), {"FILE", 1, 1}, {"a", "-o", "d", "--out", "e"}, &help);
    QVERIFY(twice.status().message().find("more than once") != std::string::npos);
    auto extra = parse_args(options(), {"FILE", 1, 1}, {"a", "b", "-o", "d"}, &help);
    QVERIFY(extra.status().message().find("'b'") != std::string::npos);
    auto bad_int = parse_args(options(), {"FILE", 1, 1}, {"a", "-o", "d", "--threads", "x2"}, &help);
    QVERIFY(bad_int.is_ok());
    QVERIFY(!bad_int->get_int("threads").is_ok());
  }
  void environmentFillsAbsentFlags() {
    qputenv("KANANA_TEST_THREADS", "7");
    bool help = false;
    auto a = parse_args(options(), {"", 0, 0}, {"-o", "d"}, &help);
    QCOMPARE(*a->get_int("threads"), int64_t(7));
    qunsetenv("KANANA_TEST_THREADS");
    auto h = parse_args(options(), {"", 0, 0}, {"--help"}, &help);
    QVERIFY(help);
  }
};

QTEST_GUILESS_MAIN(TestCliArgs)
#include "test_cli_args.moc"
