// Option parsing of `kanana` commands: usage errors name the flag; defaults and env work.
#include <QtTest>

#include <cstdlib>

#include "cli/args.h"
#include "cli/sampling_args.h"

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

  void samplingOptionsParseTheSameEverywhere() {
    bool help = false;
    const auto specs = concat(sampling_options({.temperature = "0.8"}), {threads_option()});
    auto a = parse_args(specs, {"", 0, 0}, {"--top-k", "40", "--repetition-penalty", "1.1", "--seed", "9", "--greedy"}, &help);
    QVERIFY(a.is_ok());
    auto s = parse_sampling(*a);
    QVERIFY2(s.is_ok(), s.status().to_string().c_str());
    QCOMPARE(s->max_new_tokens, int64_t(128));
    QCOMPARE(s->temperature, 0.8);  // the command's own default
    QCOMPARE(s->top_k, int64_t(40));
    QCOMPARE(s->top_p, 0.9);
    QCOMPARE(s->repetition_penalty, 1.1);
    QCOMPARE(s->seed, uint64_t(9));
    QVERIFY(s->greedy);
    QVERIFY(*parse_threads(*a) >= 1);
    auto zero = parse_args(specs, {"", 0, 0}, {"--max-new-tokens", "0"}, &help);
    QVERIFY(QString::fromStdString(parse_sampling(*zero).status().message()).contains("--max-new-tokens"));
    auto bad = parse_args(specs, {"", 0, 0}, {"--top-p", "lots"}, &help);
    QVERIFY(QString::fromStdString(parse_sampling(*bad).status().message()).contains("--top-p"));
    auto threads = parse_args(specs, {"", 0, 0}, {"--threads", "0"}, &help);
    QVERIFY(QString::fromStdString(parse_threads(*threads).status().message()).contains("--threads"));
    // Without the penalty options (prefs generate) their neutral values are used.
    auto plain = parse_args(sampling_options({.penalties = false}), {"", 0, 0}, {}, &help);
    QVERIFY(plain.is_ok());
    QCOMPARE(parse_sampling(*plain)->repetition_penalty, 1.0);
    QCOMPARE(parse_sampling(*plain)->min_p, 0.0);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestCliArgs)
#include "test_cli_args.moc"
