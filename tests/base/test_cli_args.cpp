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
    model::SamplingOptions defaults;  // a command's own defaults, typed
    defaults.temperature = 0.8;
    defaults.top_p = 0.9;
    const auto specs = concat(sampling_options(defaults), {threads_option()});
    // --help shows the command's defaults, taken from the struct.
    auto shown = [&](const std::string& name) {
      for (const auto& o : specs)
        if (o.name == name) return o.default_value;
      return std::string("(absent)");
    };
    QCOMPARE(shown("temperature"), std::string("0.8"));
    QCOMPARE(shown("top-p"), std::string("0.9"));
    QCOMPARE(shown("max-new-tokens"), std::string("128"));
    QCOMPARE(shown("repetition-penalty"), std::string("1"));
    QCOMPARE(shown("greedy"), std::string());  // a switch

    auto a = parse_args(specs, {"", 0, 0}, {"--top-k", "40", "--repetition-penalty", "1.1", "--seed", "9", "--greedy"}, &help);
    QVERIFY(a.is_ok());
    model::SamplingOptions s = defaults;
    Status st = parse_sampling(*a, s);
    QVERIFY2(st.is_ok(), st.to_string().c_str());
    QCOMPARE(s.max_new_tokens, int64_t(128));
    QCOMPARE(s.temperature, 0.8);  // the command's own default
    QCOMPARE(s.top_k, int64_t(40));
    QCOMPARE(s.top_p, 0.9);
    QCOMPARE(s.repetition_penalty, 1.1);
    QCOMPARE(s.seed, int64_t(9));
    QVERIFY(s.greedy);
    QVERIFY(*parse_threads(*a) >= 1);
    auto error = [&](const std::vector<std::string>& argv) {
      auto parsed = parse_args(specs, {"", 0, 0}, argv, &help);
      if (!parsed.is_ok()) return parsed.status().message();
      model::SamplingOptions o = defaults;
      return parse_sampling(*parsed, o).message();
    };
    QCOMPARE(error({"--max-new-tokens", "0"}), std::string("--max-new-tokens must be >= 1, got 0"));
    QVERIFY(QString::fromStdString(error({"--top-p", "lots"})).contains("--top-p"));
    QCOMPARE(error({"--top-p", "0"}), std::string("--top-p must be in (0, 1], got 0"));
    QCOMPARE(error({"--min-p", "1"}), std::string("--min-p must be in [0, 1), got 1"));
    QCOMPARE(error({"--temperature", "-1"}), std::string("--temperature must be >= 0 (0 = greedy), got -1"));
    QCOMPARE(error({"--repetition-penalty", "0"}), std::string("--repetition-penalty must be > 0, got 0"));
    QCOMPARE(error({"--top-k", "-3"}), std::string("--top-k must be >= 0, got -3"));
    QCOMPARE(error({"--top-p", "1", "--temperature", "0"}), std::string());
    auto threads = parse_args(specs, {"", 0, 0}, {"--threads", "0"}, &help);
    QVERIFY(QString::fromStdString(parse_threads(*threads).status().message()).contains("--threads"));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestCliArgs)
#include "test_cli_args.moc"
