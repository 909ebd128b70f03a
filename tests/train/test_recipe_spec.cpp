// The Torch-free recipe layer (kanana_train_spec; this executable links no LibTorch): option
// tables read JSON with typed values, ranges and unknown-key errors naming the file and field,
// and write the resolved block; every shipped recipe parses, and its resolved form parses back
// to the same recipe and hash; errors of the common blocks and of each type's block name the field.
#include <QtTest>

#include <filesystem>
#include <fstream>

#include "base/files.h"
#include "base/json.h"
#include "base/options.h"
#include "cli/option_flags.h"
#include "model/dtype_name.h"
#include "model/sampling_options.h"
#include "posttrain/posttrain_spec.h"
#include "surgery/distill_spec.h"
#include "train/recipe.h"

using namespace kanana;
namespace fs = std::filesystem;

namespace {

struct Knobs {
  double ratio = 0.5;
  int64_t count = 3;
  bool on = true;
  std::string mode = "fast";
  fs::path file;
  std::vector<fs::path> files;
};

const OptionTable<Knobs>& knob_fields() {
  static const OptionTable<Knobs> t = {
      {.key = "ratio", .member = &Knobs::ratio, .help = "a share", .min = 0, .max = 1, .min_open = true},
      {.key = "count", .member = &Knobs::count, .help = "how many", .min = 1, .note = "at least one"},
      {.key = "on", .member = &Knobs::on, .help = "switch"},
      {.key = "mode", .member = &Knobs::mode, .help = "speed", .choices = {"fast", "slow"}},
      {.key = "file", .member = &Knobs::file, .help = "a file"},
      {.key = "files", .member = &Knobs::files, .help = "files"},
  };
  return t;
}

std::string read_error(const Json& block) {
  Knobs k;
  Status s = read_options(JsonReader(block, "k.json", "knobs"), knob_fields(), k, "/base");
  return s.is_ok() ? std::string() : s.message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

class TestRecipeSpec : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

 private Q_SLOTS:
  void optionTablesKeepDefaultsAndResolvePaths() {
    Knobs k;
    QVERIFY(read_options(JsonReader(Json::object(), "k.json"), knob_fields(), k, "/base").is_ok());
    QCOMPARE(k.ratio, 0.5);
    QCOMPARE(k.count, int64_t(3));
    QCOMPARE(k.mode, std::string("fast"));
    Json in = {{"ratio", 1.0}, {"count", 7}, {"on", false}, {"mode", "slow"}, {"file", "data/x.jsonl"},
               {"files", {"a", "/abs/b"}}};
    QVERIFY(read_options(JsonReader(in, "k.json"), knob_fields(), k, "/base").is_ok());
    QCOMPARE(k.ratio, 1.0);
    QCOMPARE(k.count, int64_t(7));
    QVERIFY(!k.on);
    QCOMPARE(k.file, fs::path("/base/data/x.jsonl"));
    QCOMPARE(k.files, (std::vector<fs::path>{"/base/a", "/abs/b"}));
    // The resolved block has every field; reading it back gives the same struct.
    const Json out = options_to_json(k, knob_fields());
    QCOMPARE(out.size(), knob_fields().size());
    Knobs again;
    QVERIFY(read_options(JsonReader(out, "k.json"), knob_fields(), again, "/elsewhere").is_ok());
    QCOMPARE(options_to_json(again, knob_fields()), out);
  }

  void optionTableErrorsNameTheFieldAndTheRule() {
    QCOMPARE(read_error({{"ratio", 0}}), std::string("k.json: field 'knobs.ratio' must be in (0, 1], got 0"));
    QCOMPARE(read_error({{"count", 0}}), std::string("k.json: field 'knobs.count' must be >= 1 (at least one), got 0"));
    QVERIFY2(contains(read_error({{"ratio", "half"}}), "field 'knobs.ratio' must be a number"), read_error({{"ratio", "half"}}).c_str());
    QVERIFY(contains(read_error({{"count", 2.5}}), "field 'knobs.count'"));
    QVERIFY(contains(read_error({{"on", 1}}), "field 'knobs.on' must be true or false"));
    QCOMPARE(read_error({{"mode", "warp"}}), std::string("k.json: field 'knobs.mode' is 'warp'; expected fast or slow"));
    const std::string unknown = read_error({{"cuont", 2}});
    QVERIFY2(contains(unknown, "field 'knobs.cuont' is not a known field") && contains(unknown, "count"), unknown.c_str());
    QVERIFY(contains(read_error({{"file", ""}}), "field 'knobs.file' is empty"));
    QVERIFY(contains(read_error({{"files", {1}}}), "field 'knobs.files' must be a string or an array of strings"));
  }

  void everyRecipeTypeIsKnownWithoutLibTorch() {
    const auto types = train::recipe_types();
    for (const char* t : {"contrastive", "distill", "dpo", "pretrain", "reward", "sft"})
      QVERIFY2(std::find(types.begin(), types.end(), t) != types.end(), t);
    QVERIFY(train::find_recipe_type("distill")->uses_stages);
    QVERIFY(!train::find_recipe_type("sft")->uses_stages);
  }

  void everyShippedRecipeRoundTripsThroughItsResolvedForm() {
    const fs::path src = fs::path(qEnvironmentVariable("KANANA_SOURCE_DIR").toStdString()) / "resources/recipes/train";
    const fs::path dir = fs::path(tmp_.path().toStdString()) / "recipes";
    fs::create_directories(dir / "models/teacher");
    std::ofstream(dir / "models/teacher/config.json") << "{}";
    int parsed = 0;
    for (const auto& e : fs::directory_iterator(src)) {
      if (e.path().extension() != ".json") continue;
      auto json = read_json_file(e.path());
      QVERIFY(json.is_ok());
      if (!json->contains("type")) continue;  // model configs
      fs::copy_file(e.path(), dir / e.path().filename(), fs::copy_options::overwrite_existing);
      auto recipe = train::read_recipe(dir / e.path().filename());
      QVERIFY2(recipe.is_ok(), recipe.status().message().c_str());
      const Json resolved = train::resolved_recipe_json(*recipe);
      // Defaults are filled in and paths are absolute.
      QCOMPARE(resolved["optimizer"]["weight_decay_mode"].get<std::string>(),
               std::string(train::weight_decay_mode_name(recipe->optimizer.decay_mode)));
      QCOMPARE(resolved["runtime"]["max_bad_steps"].get<int64_t>(), recipe->runtime.max_bad_steps);
      QVERIFY(resolved.contains("checkpoint") && resolved.contains("validation"));
      for (const auto& p : resolved["validation"]["paths"]) QVERIFY(fs::path(p.get<std::string>()).is_absolute());
      // Saved elsewhere and read back: the same recipe and hash.
      const fs::path copy = fs::path(tmp_.path().toStdString()) / "elsewhere" / (e.path().stem().string() + ".resolved.json");
      fs::create_directories(copy.parent_path());
      QVERIFY(write_json_file(copy, resolved).is_ok());
      auto again = train::read_recipe(copy);
      QVERIFY2(again.is_ok(), again.status().message().c_str());
      QCOMPARE(train::resolved_recipe_json(*again), resolved);
      QCOMPARE(again->hash, recipe->hash);
      ++parsed;
    }
    QVERIFY2(parsed >= 8, std::to_string(parsed).c_str());
  }

  void recipeErrorsNameTheField() {
    const Json base = {{"type", "dpo"},
                       {"model", {{"preset", "tiny"}}},
                       {"seq_len", 64},
                       {"schedule", {{"kind", "constant"}, {"peak_lr", 1e-5}}},
                       {"dpo", {{"train", "p.jsonl"}}}};
    QVERIFY(train::parse_recipe(base, "r.json", {}).is_ok());
    auto error = [&](const std::function<void(Json&)>& edit) {
      Json j = base;
      edit(j);
      auto r = train::parse_recipe(j, "r.json", {});
      return r.is_ok() ? std::string() : r.status().message();
    };
    struct Case {
      std::function<void(Json&)> edit;
      std::string expected;
    };
    const std::vector<Case> cases = {
        {[](Json& j) { j["seq_len"] = 0; }, "r.json: field 'seq_len' must be >= 1"},
        {[](Json& j) { j["seed"] = -1; }, "r.json: field 'seed' must be an integer >= 0"},
        {[](Json& j) { j["grad_clip"] = -1; }, "field 'grad_clip' must be >= 0 (0 = no clipping)"},
        {[](Json& j) { j["optimizer"] = {{"beta1", 1.0}}; }, "field 'optimizer.beta1' must be in [0, 1)"},
        {[](Json& j) { j["optimizer"] = {{"weight_decay_mode", "both"}}; },
         "field 'optimizer.weight_decay_mode' is 'both'; expected independent or coupled"},
        {[](Json& j) { j["optimizer"] = {{"bta2", 0.9}}; }, "field 'optimizer.bta2' is not a known field"},
        {[](Json& j) { j["runtime"] = {{"dtype", "fp8"}}; }, "field 'runtime.dtype' is 'fp8'; expected float32 or bfloat16"},
        {[](Json& j) { j["checkpoint"] = {{"keep_last", 0}}; }, "field 'checkpoint.keep_last' must be >= 1"},
        {[](Json& j) { j["validation"] = {{"batches", 0}}; }, "field 'validation.batches' must be >= 1"},
        {[](Json& j) { j["dpo"]["beta"] = -1; }, "field 'dpo.beta' must be > 0"},
        {[](Json& j) { j["dpo"]["loss"] = "hinge"; }, "field 'dpo.loss' must be sigmoid or ipo"},
        {[](Json& j) { j["dpo"]["max_prompt_len"] = 64; }, "field 'dpo.max_prompt_len' must be below seq_len"},
        {[](Json& j) { j["dpo"]["val_fraction"] = 1; }, "field 'dpo.val_fraction' must be in [0, 1)"},
        {[](Json& j) { j["dpo"]["online"] = {{"samples", 4}}; }, "field 'dpo.online.reward_model' is required"},
        {[](Json& j) { j["dpo"]["online"] = {{"reward_model", "rm"}, {"temperature", 0}}; },
         "field 'dpo.online.temperature' must be > 0 (sampling, not greedy), got 0"},
        {[](Json& j) { j["dpo"]["online"] = {{"reward_model", "rm"}, {"top_p", 1.5}}; },
         "field 'dpo.online.top_p' must be in (0, 1], got 1.5"},
        {[](Json& j) { j["dpo"]["online"] = {{"reward_model", "rm"}, {"seed", 3}}; },
         "field 'dpo.online.seed' is not a known field"},
        {[](Json& j) { j["dpo"]["epochs"] = 0; }, "field 'dpo.epochs' must be > 0"},
        {[](Json& j) { j.erase("dpo"); }, "field 'dpo' is required"},
        {[](Json& j) { j["type"] = "rlhf"; }, "field 'type' is 'rlhf'"},
    };
    for (const auto& c : cases) {
      const std::string e = error(c.edit);
      QVERIFY2(contains(e, c.expected), ("expected '" + c.expected + "', got '" + e + "'").c_str());
    }
  }

  void samplingOptionsAreOneTable() {
    using model::SamplingOptions;
    auto read = [](const Json& block, SamplingOptions& out) {
      Status s = read_options(JsonReader(block, "conv.json", "sampling"), model::sampling_fields(), out);
      return s.is_ok() ? std::string() : s.message();
    };
    SamplingOptions s;
    QCOMPARE(read({{"temperature", 0.5}, {"top_k", 40}, {"seed", 7}}, s), std::string());
    QCOMPARE(s.temperature, 0.5);
    QCOMPARE(s.top_k, int64_t(40));
    QCOMPARE(s.seed, int64_t(7));
    QCOMPARE(s.top_p, 1.0);  // absent: the struct's default
    QCOMPARE(s.max_new_tokens, int64_t(128));
    // The resolved block lists every field, and reads back to the same settings.
    const Json resolved = options_to_json(s, model::sampling_fields());
    QCOMPARE(resolved.size(), model::sampling_fields().size());
    SamplingOptions again;
    QCOMPARE(read(resolved, again), std::string());
    QCOMPARE(options_to_json(again, model::sampling_fields()), resolved);

    const std::vector<std::pair<Json, std::string>> cases = {
        {{{"top_pp", 0.9}}, "conv.json: field 'sampling.top_pp' is not a known field (known: max_new_tokens, greedy, "
                            "temperature, top_k, top_p, min_p, repetition_penalty, seed)"},
        {{{"temperature", -0.5}}, "field 'sampling.temperature' must be >= 0 (0 = greedy), got -0.5"},
        {{{"top_p", 0}}, "field 'sampling.top_p' must be in (0, 1], got 0"},
        {{{"top_p", 1.01}}, "field 'sampling.top_p' must be in (0, 1], got 1.01"},
        {{{"top_k", -1}}, "field 'sampling.top_k' must be >= 0, got -1"},
        {{{"min_p", 1}}, "field 'sampling.min_p' must be in [0, 1), got 1"},
        {{{"repetition_penalty", 0}}, "field 'sampling.repetition_penalty' must be > 0, got 0"},
        {{{"max_new_tokens", 0}}, "field 'sampling.max_new_tokens' must be >= 1, got 0"},
        {{{"max_new_tokens", 2.5}}, "field 'sampling.max_new_tokens'"},
        {{{"greedy", "yes"}}, "field 'sampling.greedy'"},
        {{{"seed", -2}}, "field 'sampling.seed' must be >= 0, got -2"},
    };
    for (const auto& [block, expected] : cases) {
      SamplingOptions o;
      const std::string e = read(block, o);
      QVERIFY2(contains(e, expected), ("expected '" + expected + "', got '" + e + "'").c_str());
    }
    // Settings made in code (a GUI form) get the same checks.
    SamplingOptions bad;
    bad.top_p = 0;
    QCOMPARE(model::check_sampling(bad).message(), std::string("sampling: field 'top_p' must be in (0, 1], got 0"));
    QVERIFY(model::check_sampling(SamplingOptions{}).is_ok());
  }

  void samplingFlagsShowTheCommandsDefaults() {
    // A struct derived from the settings sets its own defaults once; its flags and --help show them.
    struct Chatty : model::SamplingOptions {
      int64_t turns = 5;
      Chatty() {
        temperature = model::kChatTemperature;
        top_p = model::kChatTopP;
        max_new_tokens = 256;
      }
    };
    const OptionTable<Chatty> fields =
        concat_options(model::sampling_fields_for<Chatty>(),
                       {{.key = "turns", .member = &Chatty::turns, .help = "turns kept", .min = 1}});
    const auto flags = cli::option_flags(fields, Chatty{});
    auto flag = [&](const std::string& name) {
      for (const auto& f : flags)
        if (f.name == name) return f;
      return cli::OptionSpec{.name = "(absent)"};
    };
    QCOMPARE(flag("temperature").default_value, std::string("0.7"));
    QCOMPARE(flag("top-p").default_value, std::string("0.9"));
    QCOMPARE(flag("top-p").value_name, std::string("P"));
    QCOMPARE(flag("max-new-tokens").default_value, std::string("256"));
    QCOMPARE(flag("repetition-penalty").default_value, std::string("1"));
    QCOMPARE(flag("turns").default_value, std::string("5"));
    QCOMPARE(flag("greedy").value_name, std::string());  // a switch
    QCOMPARE(flag("seed").help, std::string("sampling seed"));
    QCOMPARE(flags.size(), model::sampling_fields().size() + 1);
    // The online DPO block takes a subset, with its own default and a stricter temperature.
    const auto& online = posttrain::online_spec_fields();
    std::vector<std::string> keys;
    for (const auto& f : online) keys.push_back(f.key);
    QVERIFY(std::find(keys.begin(), keys.end(), "top_p") != keys.end());
    QVERIFY(std::find(keys.begin(), keys.end(), "seed") == keys.end());
    QCOMPARE(options_to_json(posttrain::OnlineSpec{}, online)["max_new_tokens"], Json(64));
    QCOMPARE(cli::option_flags(online)[0].default_value, std::string("64"));
    posttrain::OnlineSpec on;
    on.temperature = 0;
    QCOMPARE(check_options(on, online, "online").message(),
             std::string("online: field 'temperature' must be > 0 (sampling, not greedy), got 0"));
  }

  void dtypeNamesHaveOneSpellingListAndOneError() {
    QCOMPARE(*model::canonical_dtype_name("bf16"), std::string("bfloat16"));
    QCOMPARE(*model::canonical_dtype_name("fp32"), std::string("float32"));
    QCOMPARE(*model::canonical_dtype_name("float16"), std::string("float16"));
    QVERIFY(!model::canonical_dtype_name("fp8"));
    QVERIFY(!model::canonical_dtype_name("BF16"));  // safetensors' spelling is a file format, not a compute dtype
    QCOMPARE(model::parse_dtype_name("int4").status().message(),
             std::string("unknown dtype 'int4' (expected float32, bfloat16 or float16; also f32, fp32, bf16, f16, fp16)"));
  }

  void defaultsAreWrittenOnce() {
    // The DPO loss's beta default is the struct's, whatever reads it.
    Json j = {{"type", "dpo"},
              {"model", {{"preset", "tiny"}}},
              {"seq_len", 64},
              {"schedule", {{"kind", "constant"}, {"peak_lr", 1e-5}}},
              {"dpo", {{"train", "p.jsonl"}}}};
    auto r = train::parse_recipe(j, "r.json", {});
    QVERIFY(r.is_ok());
    QCOMPARE(std::any_cast<posttrain::DpoTaskOptions>(r->task_options).loss.beta, posttrain::DpoOptions{}.beta);
    QCOMPARE(train::resolved_recipe_json(*r)["dpo"]["beta"].get<double>(), posttrain::DpoOptions{}.beta);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestRecipeSpec)
#include "test_recipe_spec.moc"
