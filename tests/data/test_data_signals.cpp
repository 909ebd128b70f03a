// Signals on known Korean and English strings (values worked out by hand in the comments),
// language ID with the real lid.176 model (skipped when the data cache lacks it), filter
// recipe errors naming the field, and each kind of rule removing what it should.
#include <QtTest>

#include <cmath>

#include "data/filters.h"
#include "data/lang_id.h"
#include "data/signals.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::data;

#define QFUZZY(a, b) QVERIFY2(std::fabs((a) - (b)) < 1e-9, (std::to_string(a) + " != " + std::to_string(b)).c_str())

namespace {
const char* kEnglishGood =
    "The river runs through the old town, and the people who live there have built bridges with stone and wood. "
    "In the spring the water rises to the edge of the fields, so the farmers plant late and harvest in the autumn. "
    "Visitors come to see the mills, which have turned for more than two hundred years, and to walk along the banks.";
const char* kKoreanGood =
    "서울은 대한민국의 수도이며 한강을 따라 발달한 도시이다. 조선 시대부터 정치와 경제의 중심지였고, 지금도 많은 사람들이 "
    "이곳에서 일하고 공부한다. 도시의 북쪽에는 궁궐과 오래된 골목이 남아 있고, 남쪽에는 새로 지은 업무 지구가 있다. "
    "주말에는 강변 공원에서 자전거를 타거나 산책을 하는 시민이 많다.";

FilterRecipe recipe_from(const std::string& text) {
  auto j = parse_json(text, "recipe.json");
  auto r = parse_filter_recipe(*j, "recipe.json");
  if (!r.is_ok()) qFatal("%s", r.status().to_string().c_str());
  return *r;
}
std::string first_rule(const FilterRecipe& r, const std::string& text, const std::string& lang = "") {
  auto d = apply_filters(r, compute_signals(text), lang);
  return d.keep ? std::string("<kept>") : r.rules[static_cast<size_t>(d.first_rule)].name;
}
}  // namespace

class TestDataSignals : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void englishSignalsExact() {
    // 3 lines (23 + 23 + 10 chars, 2 newlines = 58 chars), line 2 repeats line 1.
    const auto s = compute_signals("The cat sat on the mat.\nThe cat sat on the mat.\nA dog ran.");
    QFUZZY(s.chars, 58.0);
    QFUZZY(s.words, 15.0);
    QFUZZY(s.lines, 3.0);
    QFUZZY(s.paragraphs, 1.0);
    QFUZZY(s.dup_line_frac, 1.0 / 3);
    QFUZZY(s.dup_line_char_frac, 23.0 / 58);
    // non-space chars: 18 + 18 + 8 = 44; letters 41, '.' 3; uppercase T, T, A.
    QFUZZY(s.latin_ratio, 41.0 / 44);
    QFUZZY(s.punct_ratio, 3.0 / 44);
    QFUZZY(s.hangul_ratio, 0.0);
    QFUZZY(s.uppercase_ratio, 3.0 / 41);
    QFUZZY(s.line_punct_frac, 1.0);
    QFUZZY(s.en_stop_words, 1.0);  // only "the"
    QFUZZY(s.alpha_word_frac, 1.0);
    QFUZZY(s.short_line_frac, 1.0);
    QFUZZY(s.few_words_line_frac, 0.0);
    // word n-grams: "x y x y z w" → top 2-gram "x y" twice, 4 of 6 word chars.
    QFUZZY(compute_signals("x y x y z w").top_2gram_frac, 4.0 / 6);
    // "a b c d e a b c d e": the second 5-gram run repeats the first → 5 of 10 chars.
    QFUZZY(compute_signals("a b c d e a b c d e").dup_5gram_frac, 0.5);
    QFUZZY(compute_signals("a b c d e a b c d e").dup_6gram_frac, 0.0);
    const auto b = compute_signals("- one\n- two\nthree...\n#tag");
    QFUZZY(b.bullet_line_frac, 0.5);
    QFUZZY(b.ellipsis_line_frac, 0.25);
    QFUZZY(b.symbol_word_ratio, 2.0 / 6);  // "three..." and "#tag" over 6 words
    QCOMPARE(*signal_value(s, "dup_line_frac"), s.dup_line_frac);
    QVERIFY(!signal_value(s, "no_such_signal"));
  }

  void koreanSignalsExact() {
    // "나는 학교에 간다." twice: 10 chars per line + newline = 21; 7 Hangul + '.' per line.
    const auto s = compute_signals("나는 학교에 간다.\n나는 학교에 간다.");
    QFUZZY(s.chars, 21.0);
    QFUZZY(s.bytes, 49.0);
    QFUZZY(s.words, 6.0);                    // eojeol
    QFUZZY(s.mean_word_length, 16.0 / 6);    // (2 + 3 + 3) × 2 / 6
    QFUZZY(s.hangul_ratio, 14.0 / 16);
    QFUZZY(s.punct_ratio, 2.0 / 16);
    QFUZZY(s.latin_ratio, 0.0);
    QFUZZY(s.ko_function_words, 2.0);        // 는 (나는), 에 (학교에)
    QFUZZY(s.en_stop_words, 0.0);
    QFUZZY(s.dup_line_frac, 0.5);
    QFUZZY(s.dup_line_char_frac, 10.0 / 21);
    QFUZZY(s.line_end_sentence_frac, 1.0);
    // A Korean line ending in 다 without a period counts as a sentence end, not as punctuation.
    const auto k = compute_signals("오늘은 비가 온다");
    QFUZZY(k.line_punct_frac, 0.0);
    QFUZZY(k.line_end_sentence_frac, 1.0);
    QFUZZY(compute_signals("漢字와 한글").han_ratio, 2.0 / 5);
    // Character n-grams catch repetition inside long eojeol: 20 Hangul chars, the second 10 repeat the first.
    QFUZZY(compute_signals("가나다라마바사아자차가나다라마바사아자차").dup_char_ngram_frac, 0.5);
  }

  void languageIdWithRealModel() {
    const auto path = default_lid_model_path();
    if (!std::filesystem::exists(path)) QSKIP(("lid.176.ftz not in the data cache (" + path.string() + "); run scripts/fetch-demo-data.sh").c_str());
    auto lid = LanguageIdentifier::load(path);
    QVERIFY2(lid.is_ok(), lid.status().to_string().c_str());
    auto ko = (*lid)->predict(kKoreanGood);
    QCOMPARE(ko.lang, std::string("ko"));
    QVERIFY(ko.score > 0.9);
    auto en = (*lid)->predict(kEnglishGood);
    QCOMPARE(en.lang, std::string("en"));
    QVERIFY(en.score > 0.9);
    const auto s = compute_signals("이 문장은 한국어로 쓰였습니다.", lid->get());
    QCOMPARE(s.lang, std::string("ko"));
    auto bad = LanguageIdentifier::load(QTemporaryDir().path().toStdString() + "/missing.ftz");
    QVERIFY(!bad.is_ok());

    // The libfasttext backend (KANANA_LID_BACKEND=libfasttext) predicts the same.
    auto library = LanguageIdentifier::load(path, LidBackend::kLibFastText);
    QVERIFY2(library.is_ok(), library.status().to_string().c_str());
    for (const char* text : {kKoreanGood, kEnglishGood, "Ελληνικά", "mixed 한국어 and English", ""}) {
      const auto a = (*lid)->predict_top(text, 3), b = (*library)->predict_top(text, 3);
      QCOMPARE(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        QCOMPARE(a[i].lang, b[i].lang);
        QVERIFY(std::abs(a[i].score - b[i].score) < 2e-5);
      }
    }
    qputenv("KANANA_LID_BACKEND", "libfasttext");
    QCOMPARE(*lid_backend_from_env(), LidBackend::kLibFastText);
    qputenv("KANANA_LID_BACKEND", "fast");
    auto wrong = LanguageIdentifier::load(path);
    QVERIFY(!wrong.is_ok() && wrong.status().message().find("KANANA_LID_BACKEND") != std::string::npos);
    qunsetenv("KANANA_LID_BACKEND");
    QCOMPARE(*lid_backend_from_env(), LidBackend::kNative);
  }

  void recipeErrorsNameTheField() {
    auto err = [](const std::string& text) {
      auto j = parse_json(text, "r.json");
      auto r = parse_filter_recipe(*j, "r.json");
      return r.is_ok() ? std::string("ok") : r.status().message();
    };
    QCOMPARE(err(R"({"rules": [{"name": "a", "signal": "words", "min": 1}, {"name": "b", "signal": "nope", "min": 1}]})").substr(0, 31),
             std::string("r.json: field 'rules[1].signal'"));
    QVERIFY(err(R"({"rules": [{"name": "a", "signal": "words", "min": "x"}]})").find("'rules[0].min'") != std::string::npos);
    QVERIFY(err(R"({"rules": [{"name": "a", "signal": "words"}]})").find("'rules[0].min' or 'max' is required") != std::string::npos);
    QVERIFY(err(R"({"rules": [{"name": "a", "type": "language"}]})").find("'rules[0].keep'") != std::string::npos);
    QVERIFY(err(R"({"rules": [{"name": "a", "signal": "words", "min": 1, "when": {"lang": "ko"}}]})").find("'rules[0].when.lang'") != std::string::npos);
    QVERIFY(err(R"({"rules": [{"name": "a", "signal": "words", "mn": 1}]})").find("mn") != std::string::npos);
    QVERIFY(err(R"({"rules": [{"name": "a", "signal": "words", "min": 1}, {"name": "a", "signal": "chars", "min": 1}]})").find("repeats") != std::string::npos);
    QVERIFY(err(R"({"rules": {}})").find("'rules'") != std::string::npos);
  }

  void eachRuleRemovesWhatItShould() {
    const auto shipped = load_filter_recipe(std::filesystem::path(kanana::test::source_dir().toStdString()) /
                                            "resources/recipes/filters/kanana-web.json");
    QVERIFY2(shipped.is_ok(), shipped.status().to_string().c_str());
    QVERIFY(shipped->needs_language_id());
    // Without a model, the language comes from the document's lang field or its scripts.
    QCOMPARE(first_rule(*shipped, kEnglishGood), std::string("<kept>"));
    QCOMPARE(first_rule(*shipped, kKoreanGood), std::string("<kept>"));
    QCOMPARE(first_rule(*shipped, "Too short for the word count rule."), std::string("gopher_word_count"));
    QCOMPARE(first_rule(*shipped, "Ceci est un texte.", "fr"), std::string("lang"));
    QCOMPARE(first_rule(*shipped, std::string(kKoreanGood).substr(0, 60)), std::string("ko_char_count"));
    QCOMPARE(first_rule(*shipped, std::string(kEnglishGood) + " Lorem ipsum dolor sit amet."), std::string("c4_lorem_ipsum"));
    QCOMPARE(first_rule(*shipped, std::string(kEnglishGood) + " function() { return 1; }"), std::string("c4_curly_brace"));
    std::string repeated;
    for (int i = 0; i < 10; ++i) repeated += "Buy the best shoes with the best price and the fastest delivery today\n";
    QCOMPARE(first_rule(*shipped, repeated), std::string("gopher_dup_line_frac"));
    // First rule vs all failing rules.
    const auto r = recipe_from(R"({"name": "t", "rules": [
      {"name": "min_words", "signal": "words", "min": 5},
      {"name": "max_upper", "signal": "uppercase_ratio", "max": 0.5},
      {"name": "off", "signal": "chars", "min": 1000, "enabled": false},
      {"name": "ko_only", "signal": "hangul_ratio", "min": 0.9, "when": {"lang": ["ko"]}}]})");
    auto d = apply_filters(r, compute_signals("SHOUT LOUD"), "");
    QVERIFY(!d.keep);
    QCOMPARE(d.first_rule, 0);
    QCOMPARE(d.failed_rules, std::vector<int>({0, 1}));
    QCOMPARE(first_rule(r, "several plain lower case words here"), std::string("<kept>"));
    QCOMPARE(first_rule(r, "한국어 문장에 English words 많이 섞임", "ko"), std::string("ko_only"));
    QCOMPARE(first_rule(r, "한국어 문장에 English words 많이 섞임", "en"), std::string("<kept>"));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestDataSignals)
#include "test_data_signals.moc"
