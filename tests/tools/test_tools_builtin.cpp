// The JSON Schema subset validator and the pure built-in tools: calculator (values against
// hand-worked results, errors with positions), unit conversion (table values), date/time
// arithmetic and time zones (TZif files of the system against known offsets).
#include <QtTest>

#include <cmath>

#include "tools/calculator.h"
#include "tools/datetime_tool.h"
#include "tools/json_schema.h"
#include "tools/time_zone.h"
#include "tools/tool.h"
#include "tools/unit_convert.h"

using namespace kanana;
using namespace kanana::tools;

namespace {

Json schema() {
  return Json::parse(R"({
    "type": "object",
    "properties": {
      "city": {"type": "string", "minLength": 2, "maxLength": 5},
      "unit": {"type": "string", "enum": ["c", "f"]},
      "days": {"type": "integer", "minimum": 1, "maximum": 14},
      "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
      "flag": {"type": "boolean"},
      "note": {"type": ["string", "null"]},
      "items": {"type": "array", "minItems": 1, "maxItems": 3,
                "items": {"type": "object", "properties": {"qty": {"type": "integer", "minimum": 1}},
                          "required": ["qty"], "additionalProperties": false}},
      "extra": {"type": "object", "additionalProperties": {"type": "number"}}
    },
    "required": ["city"],
    "additionalProperties": false
  })");
}

std::vector<std::string> errors(const Json& value) {
  std::vector<std::string> out;
  for (const auto& e : validate_json(schema(), value)) out.push_back(e.to_string());
  return out;
}

double eval(const char* expr) {
  auto r = evaluate_expression(expr);
  if (!r.is_ok()) qWarning() << expr << QString::fromStdString(r.status().message());
  return r.is_ok() ? *r : std::nan("");
}

std::string eval_error(const char* expr) {
  auto r = evaluate_expression(expr);
  return r.is_ok() ? std::string("no error") : r.status().message();
}

Json run(const Tool& t, const Json& args) {
  ToolRegistry reg;
  Tool copy = t;
  if (!reg.add(copy).is_ok()) return {{"registration", "failed"}};
  ToolOutcome o = reg.execute({"call_1", t.spec.name, args});
  return o.ok ? o.result : Json{{"error", o.error}};
}

}  // namespace

class TestToolsBuiltin : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void schemaAcceptsValidArguments() {
    QVERIFY(errors({{"city", "Seoul"}}).empty());
    QVERIFY(errors({{"city", "서울"}, {"unit", "c"}, {"days", 3}, {"ratio", 0.5}, {"flag", true}, {"note", nullptr},
                    {"items", {{{"qty", 2}}}}, {"extra", {{"a", 1.5}}}})
                .empty());
    QVERIFY(errors({{"city", "Seoul"}, {"days", 3.0}}).empty());  // 3.0 is an integer in JSON Schema
  }

  void schemaErrorsNameTheArgumentPath() {
    QCOMPARE(errors(Json::object()), std::vector<std::string>{"arguments.city is required"});
    QCOMPARE(errors({{"city", 5}}), std::vector<std::string>{"arguments.city must be string (got an integer)"});
    // Length counts characters, not bytes: "서" is 3 bytes but 1 character.
    QCOMPARE(errors({{"city", "서"}}), std::vector<std::string>{"arguments.city must have at least 2 characters (got 1)"});
    QCOMPARE(errors({{"city", "Seoul!"}}), std::vector<std::string>{"arguments.city must have at most 5 characters (got 6)"});
    QCOMPARE(errors({{"city", "ab"}, {"unit", "k"}}),
             std::vector<std::string>{"arguments.unit must be one of \"c\", \"f\" (got \"k\")"});
    QCOMPARE(errors({{"city", "ab"}, {"days", 15}}), std::vector<std::string>{"arguments.days must be <= 14 (got 15)"});
    QCOMPARE(errors({{"city", "ab"}, {"days", 0}}), std::vector<std::string>{"arguments.days must be >= 1 (got 0)"});
    QCOMPARE(errors({{"city", "ab"}, {"days", 2.5}}), std::vector<std::string>{"arguments.days must be integer (got a number)"});
    QCOMPARE(errors({{"city", "ab"}, {"ratio", 1}}), std::vector<std::string>{"arguments.ratio must be < 1 (got 1)"});
    QCOMPARE(errors({{"city", "ab"}, {"flag", "yes"}}), std::vector<std::string>{"arguments.flag must be boolean (got a string)"});
    QCOMPARE(errors({{"city", "ab"}, {"note", 1}}), std::vector<std::string>{"arguments.note must be string or null (got an integer)"});
    QCOMPARE(errors({{"city", "ab"}, {"items", Json::array()}}),
             std::vector<std::string>{"arguments.items must have at least 1 items (got 0)"});
    QCOMPARE(errors({{"city", "ab"}, {"items", {{{"qty", 1}}, {{"qty", 0}}, {{"qty", 1}, {"x", 1}}}}}),
             (std::vector<std::string>{"arguments.items[1].qty must be >= 1 (got 0)",
                                       "arguments.items[2].x is not a known argument (expected qty)"}));
    QCOMPARE(errors({{"city", "ab"}, {"extra", {{"a", "b"}}}}),
             std::vector<std::string>{"arguments.extra.a must be number (got a string)"});
    QCOMPARE(errors({{"city", "ab"}, {"color", "red"}}),
             std::vector<std::string>{"arguments.color is not a known argument (expected city, days, extra, flag, items, note, ratio, unit)"});
    // Booleans are not numbers, and null is only null.
    QCOMPARE(errors({{"city", "ab"}, {"ratio", true}}), std::vector<std::string>{"arguments.ratio must be number (got a boolean)"});
  }

  void schemaCheckRejectsUnsupportedKeywords() {
    QVERIFY(check_schema(schema(), "t").is_ok());
    auto st = check_schema(Json::parse(R"({"type": "object", "properties": {"x": {"type": "string", "pattern": "a+"}}})"), "tool 'x' parameters");
    QVERIFY(!st.is_ok());
    QCOMPARE(QString::fromStdString(st.message()),
             QString("tool 'x' parameters.properties.x: unknown or unsupported keyword 'pattern'"));
    QVERIFY(!check_schema(Json::parse(R"({"type": "strnig"})"), "s").is_ok());
    QVERIFY(!check_schema(Json::parse(R"({"type": "object", "required": ["y"], "properties": {"x": {}}})"), "s").is_ok());
    QVERIFY(!check_schema(Json::parse(R"({"minLength": -1})"), "s").is_ok());
    // The registry refuses such tools up front.
    ToolRegistry reg;
    Tool t;
    t.spec.name = "bad";
    t.spec.parameters = Json::parse(R"({"type": "object", "properties": {"x": {"oneOf": []}}})");
    t.run = [](const Json&, const ToolContext&) -> Result<Json> { return Json(); };
    QVERIFY(!reg.add(t).is_ok());
    t.spec.parameters = Json::parse(R"({"type": "object"})");
    t.spec.name = "has space";
    QVERIFY(!reg.add(t).is_ok());
    t.spec.name = "good_name-1";
    QVERIFY(reg.add(t).is_ok());
    QCOMPARE(reg.add(t).code(), StatusCode::kAlreadyExists);
  }

  void calculatorPrecedenceAndFunctions() {
    QCOMPARE(eval("1 + 2 * 3"), 7.0);
    QCOMPARE(eval("(1 + 2) * 3"), 9.0);
    QCOMPARE(eval("2 ^ 3 ^ 2"), 512.0);  // right-associative
    QCOMPARE(eval("2 ** 10"), 1024.0);
    QCOMPARE(eval("-2 ^ 2"), -4.0);      // unary minus binds looser than ^
    QCOMPARE(eval("2 ^ -1"), 0.5);
    QCOMPARE(eval("--3"), 3.0);
    QCOMPARE(eval("7 % 3"), 1.0);
    QCOMPARE(eval("-7 % 3"), -1.0);      // fmod: the sign of the dividend
    QCOMPARE(eval("10 / 4"), 2.5);
    QCOMPARE(eval("1.5e3 + .5"), 1500.5);
    QCOMPARE(eval("2 * 3 / 4 * 5"), 7.5);  // left to right
    QCOMPARE(eval("sqrt(16) + abs(-3)"), 7.0);
    QCOMPARE(eval("max(1, 7, 3) - min(4, 2)"), 5.0);
    QCOMPARE(eval("log(e)"), 1.0);
    QCOMPARE(eval("log(8, 2)"), 3.0);
    QCOMPARE(eval("log10(1000)"), 3.0);
    QCOMPARE(eval("exp(0)"), 1.0);
    QVERIFY(std::fabs(eval("sin(pi / 2)") - 1.0) < 1e-15);
    QVERIFY(std::fabs(eval("cos(pi)") + 1.0) < 1e-15);
    QCOMPARE(eval("PI"), eval("pi"));
    QCOMPARE(eval("round(2.5) + floor(-1.5) + ceil(1.2)"), 3.0 - 2.0 + 2.0);
    QCOMPARE(eval("  ( ( 42 ) ) "), 42.0);
  }

  void calculatorErrorsHavePositions() {
    QCOMPARE(eval_error(""), std::string("the expression is empty at position 1"));
    QCOMPARE(eval_error("1 +"), std::string("unexpected end of expression at position 4"));
    QCOMPARE(eval_error("(1 + 2"), std::string("missing ')' for the '(' opened at position 1"));
    QCOMPARE(eval_error("1 + 2)"), std::string("unexpected ')' at position 6"));
    QCOMPARE(eval_error("4 / (2 - 2)"), std::string("division by zero at position 3"));
    QCOMPARE(eval_error("5 % 0"), std::string("modulo by zero at position 3"));
    QCOMPARE(eval_error("sqrt(-1)"), std::string("sqrt of a negative number at position 1"));
    QCOMPARE(eval_error("2 * log(0)"), std::string("log of a number <= 0 at position 5"));
    QCOMPARE(eval_error("foo(1)"), std::string("unknown function 'foo' at position 1"));
    QCOMPARE(eval_error("x + 1"), std::string("unknown name 'x' (constants: pi, e, tau) at position 1"));
    QCOMPARE(eval_error("max()"), std::string("max() takes at least 1 argument(s), got 0 at position 1"));
    QCOMPARE(eval_error("1 $ 2"), std::string("unexpected '$' at position 3"));
    QCOMPARE(eval_error("2 ^ 1024"), std::string("the result is not a finite number (overflow or undefined)"));
    QCOMPARE(eval_error("(-8) ^ 0.5"), std::string("negative number to a fractional power at position 6"));
    // Shell and code are just unknown names or characters, never run.
    QVERIFY(eval_error("system('rm -rf /')").find("unknown function 'system'") != std::string::npos);
    QVERIFY(eval_error("__import__('os')").find("unknown function") != std::string::npos);
    // Deep nesting is refused, not a stack overflow.
    std::string deep(5000, '(');
    QVERIFY(!evaluate_expression(deep + "1").is_ok());
    std::string deep2(150, '(');
    deep2 += "1" + std::string(150, ')');
    QCOMPARE(eval_error(deep2.c_str()), std::string("expression nested too deeply at position 101"));
    std::string minus(150, '-');
    QVERIFY(!evaluate_expression(minus + "1").is_ok());
  }

  void calculatorTool() {
    const Json r = run(make_calculator_tool(), {{"expression", "(3 + 4) * 2 ^ 3"}});
    QCOMPARE(r["result"], Json(56));  // an integer, not 56.0
    QCOMPARE(run(make_calculator_tool(), {{"expression", "1/3"}})["result"].get<double>(), 1.0 / 3.0);
    QVERIFY(run(make_calculator_tool(), {{"expression", "1/0"}})["error"].get<std::string>().find("division by zero") !=
            std::string::npos);
    QVERIFY(run(make_calculator_tool(), {{"expr", "1"}})["error"].get<std::string>().find("arguments.expression is required") !=
            std::string::npos);
  }

  void unitConversions() {
    const auto conv = [](double v, const char* a, const char* b) {
      auto r = convert_units(v, a, b);
      return r.is_ok() ? r->value : std::nan("");
    };
    QCOMPARE(conv(1, "mi", "km"), 1.609344);
    QCOMPARE(conv(12, "inches", "ft"), 1.0);
    QCOMPARE(conv(100, "°C", "°F"), 212.0);
    QCOMPARE(conv(-40, "fahrenheit", "celsius"), -40.0);
    QCOMPARE(conv(0, "K", "C"), -273.15);
    QCOMPARE(conv(1, "lb", "g"), 453.59237);
    QCOMPARE(conv(1, "근", "g"), 600.0);
    QVERIFY(std::fabs(conv(1, "평", "m2") - 3.305785) < 1e-6);
    QVERIFY(std::fabs(conv(1, "gal", "l") - 3.785411784) < 1e-12);
    QCOMPARE(conv(1, "GiB", "MiB"), 1024.0);
    QCOMPARE(conv(1, "GB", "MB"), 1000.0);
    QCOMPARE(conv(1, "MB", "bit"), 8e6);
    QCOMPARE(conv(2, "hours", "min"), 120.0);
    QCOMPARE(conv(1, "week", "d"), 7.0);
    auto bad = convert_units(1, "kg", "m");
    QVERIFY(!bad.is_ok());
    QCOMPARE(QString::fromStdString(bad.status().message()), QString("cannot convert mass ('kg') to length ('m')"));
    QVERIFY(!convert_units(1, "furlongs per fortnight", "m").is_ok());
    QVERIFY(!convert_units(-500, "°C", "K").is_ok());  // below absolute zero
    const Json r = run(make_unit_convert_tool(), {{"value", 0.1}, {"from", "m"}, {"to", "cm"}});
    QCOMPARE(r["result"].get<double>(), 10.0);  // no 10.000000000000002
    QCOMPARE(r["category"], Json("length"));
  }

  void timeZones() {
    const auto seoul = TimeZone::load("Asia/Seoul");
    if (!seoul.is_ok()) QSKIP("no tzdata in /usr/share/zoneinfo");
    QCOMPARE((*seoul)->at(1735689600).utc_offset, 9 * 3600);  // 2025-01-01T00:00Z
    QCOMPARE(QString::fromStdString((*seoul)->at(1735689600).abbreviation), QString("KST"));
    const auto ny = TimeZone::load("America/New_York");
    QVERIFY(ny.is_ok());
    QCOMPARE((*ny)->at(1735689600).utc_offset, -5 * 3600);  // January: EST
    QCOMPARE((*ny)->at(1751328000).utc_offset, -4 * 3600);  // 2025-07-01: EDT
    // 2025-03-09 07:00Z is 03:00 EDT (the switch at 2:00 EST); one second earlier is still EST.
    QCOMPARE((*ny)->at(1741503600).utc_offset, -4 * 3600);
    QCOMPARE((*ny)->at(1741503599).utc_offset, -5 * 3600);
    // Far future: past the file's transitions, the POSIX footer rule decides.
    QCOMPARE((*ny)->at(4102444800 + 180 * 86400).utc_offset, -4 * 3600);  // 2100-06-30
    QCOMPARE((*ny)->at(4102444800).utc_offset, -5 * 3600);                // 2100-01-01
    // The rule parser alone (Central Europe: last Sunday of March 02:00 to last Sunday of October 03:00).
    auto cet = TimeZone::from_posix_rule("CET-1CEST,M3.5.0,M10.5.0/3");
    QVERIFY(cet.is_ok());
    QCOMPARE((*cet)->at(1743296400 - 1).utc_offset, 3600);  // 2025-03-30 00:59:59Z
    QCOMPARE((*cet)->at(1743296400).utc_offset, 7200);      // 01:00Z = 03:00 CEST
    QCOMPARE((*cet)->at(1761440400 - 1).utc_offset, 7200);  // 2025-10-26 00:59:59Z
    QCOMPARE((*cet)->at(1761440400).utc_offset, 3600);
    // Southern hemisphere: DST spans the new year.
    auto syd = TimeZone::from_posix_rule("AEST-10AEDT,M10.1.0,M4.1.0/3");
    QVERIFY(syd.is_ok());
    QCOMPARE((*syd)->at(1735689600).utc_offset, 11 * 3600);  // January: AEDT
    QCOMPARE((*syd)->at(1751328000).utc_offset, 10 * 3600);  // July: AEST
    // Names that could reach outside the zoneinfo folder are refused before any file is read.
    QCOMPARE(TimeZone::load("../../etc/passwd").status().code(), StatusCode::kInvalidArgument);
    QCOMPARE(TimeZone::load("/etc/passwd").status().code(), StatusCode::kInvalidArgument);
    QCOMPARE(TimeZone::load("Mars/Olympus").status().code(), StatusCode::kNotFound);
    QCOMPARE((*TimeZone::load("+05:30"))->at(0).utc_offset, 5 * 3600 + 1800);
    // Local → UTC in a DST gap and overlap.
    QCOMPARE((*ny)->to_utc(1741487400), int64_t{1741487400 + 5 * 3600});  // 2025-03-09 02:30 (gap) as EST
    QCOMPARE((*ny)->to_utc(1762045200), int64_t{1762045200 + 4 * 3600});  // 2025-11-02 01:00 (overlap): EDT first
  }

  void datetimeTool() {
    const Tool t = make_datetime_tool([] { return int64_t{1741503600}; });  // 2025-03-09T07:00:00Z
    Json now = run(t, {{"operation", "now"}, {"timezone", "Asia/Seoul"}});
    if (now.contains("error")) QSKIP("no tzdata in /usr/share/zoneinfo");
    QCOMPARE(now["datetime"], Json("2025-03-09T16:00:00+09:00"));
    QCOMPARE(now["weekday"], Json("Sunday"));
    QCOMPARE(now["weekday_ko"], Json("일요일"));
    QCOMPARE(run(t, {{"operation", "now"}, {"timezone", "America/New_York"}})["datetime"], Json("2025-03-09T03:00:00-04:00"));
    QCOMPARE(run(t, {{"operation", "now"}})["datetime"], Json("2025-03-09T07:00:00+00:00"));

    QCOMPARE(run(t, {{"operation", "add"}, {"date", "2024-01-31"}, {"months", 1}})["date"], Json("2024-02-29"));
    QCOMPARE(run(t, {{"operation", "add"}, {"date", "2023-01-31"}, {"months", 1}})["date"], Json("2023-02-28"));
    QCOMPARE(run(t, {{"operation", "add"}, {"date", "2024-12-31"}, {"days", 1}})["date"], Json("2025-01-01"));
    QCOMPARE(run(t, {{"operation", "add"}, {"date", "2024-03-01"}, {"days", -1}})["date"], Json("2024-02-29"));
    QCOMPARE(run(t, {{"operation", "add"}, {"date", "2025-01-15"}, {"years", -1}, {"weeks", 2}})["date"], Json("2024-01-29"));
    QCOMPARE(run(t, {{"operation", "add"}, {"date", "2025-01-01T23:30"}, {"minutes", 45}})["datetime"],
             Json("2025-01-02T00:15:00"));
    QCOMPARE(run(t, {{"operation", "diff"}, {"date", "2025-01-01"}, {"other_date", "2025-12-25"}})["days"], Json(358));
    QCOMPARE(run(t, {{"operation", "diff"}, {"date", "2000-03-01"}, {"other_date", "1900-03-01"}})["days"], Json(-36525));
    const Json wd = run(t, {{"operation", "weekday"}, {"date", "2024-12-30"}});
    QCOMPARE(wd["weekday"], Json("Monday"));
    QCOMPARE(wd["iso_week"], Json(1));  // ISO week 1 of 2025
    QCOMPARE(wd["day_of_year"], Json(365));
    QCOMPARE(wd["leap_year"], Json(true));
    QCOMPARE(run(t, {{"operation", "weekday"}, {"date", "1970-01-01"}})["weekday"], Json("Thursday"));
    const Json conv = run(t, {{"operation", "convert"}, {"date", "2025-07-01T09:00"}, {"from_timezone", "Asia/Seoul"},
                              {"timezone", "Europe/London"}});
    QCOMPARE(conv["datetime"], Json("2025-07-01T01:00:00+01:00"));
    QCOMPARE(conv["abbreviation"], Json("BST"));
    QCOMPARE(run(t, {{"operation", "convert"}, {"date", "2025-01-01T00:00Z"}, {"timezone", "Asia/Seoul"}})["datetime"],
             Json("2025-01-01T09:00:00+09:00"));
    // Bad input is an error the model can read.
    QVERIFY(run(t, {{"operation", "weekday"}, {"date", "2025-02-30"}})["error"].get<std::string>().find("no such day") !=
            std::string::npos);
    QVERIFY(run(t, {{"operation", "add"}})["error"].get<std::string>().find("arguments.date is required") != std::string::npos);
    QVERIFY(run(t, {{"operation", "now"}, {"timezone", "Not/AZone"}})["error"].get<std::string>().find("unknown time zone") !=
            std::string::npos);
    QVERIFY(run(t, {{"operation", "yesterday"}})["error"].get<std::string>().find("must be one of") != std::string::npos);
  }
};

#include "test_main.h"
KANANA_TEST_APPLESS_MAIN(TestToolsBuiltin)
#include "test_tools_builtin.moc"
