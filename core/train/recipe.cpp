// Recipe JSON → Recipe, with errors naming the field; see recipe.h.
#include "train/recipe.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "base/hash.h"

namespace kanana::train {
namespace {

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() || base.empty() ? path : base / path;
}

// Keys every recipe type reads; types with stages read "stages", the others "schedule".
const std::vector<std::string> kCommonKeys = {"type", "name", "model", "seq_len", "micro_batch_size", "grad_accum",
                                              "seed", "optimizer", "grad_clip", "z_loss", "validation",
                                              "checkpoint", "runtime", "distributed"};

}  // namespace

const OptionTable<Recipe>& recipe_option_fields() {
  using R = Recipe;
  static const OptionTable<R> fields = {
      {.key = "name", .member = &R::name, .help = "run name (default: the recipe file's name)"},
      {.key = "seq_len", .member = &R::seq_len, .help = "tokens per training row", .min = 1},
      {.key = "micro_batch_size", .member = &R::micro_batch_size, .help = "rows per micro-batch, per rank", .min = 1},
      {.key = "grad_accum", .member = &R::grad_accum, .help = "micro-batches per optimizer step", .min = 1},
      {.key = "seed",
       .member = CustomMember<R>{.set = [](R& r, const Json& v) -> std::string {
                                   if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0))
                                     return "must be an integer >= 0, got " + v.dump();
                                   r.seed = v.get<uint64_t>();
                                   return {};
                                 },
                                 .get = [](const R& r) -> Json { return r.seed; }},
       .help = "seed of initialisation, data order and sampling"},
      {.key = "grad_clip", .member = &R::grad_clip, .help = "total gradient norm limit", .min = 0,
       .note = "0 = no clipping"},
      {.key = "z_loss", .member = &R::z_loss, .help = "z-loss coefficient", .min = 0},
  };
  return fields;
}

const OptionTable<ValidationSpec>& validation_option_fields() {
  using V = ValidationSpec;
  static const OptionTable<V> fields = {
      {.key = "interval", .member = &V::interval, .help = "steps between validations", .min = 0,
       .note = "0 = only at the end"},
      {.key = "batches", .member = &V::batches, .help = "micro-batches per validation", .min = 1},
  };
  return fields;
}

const OptionTable<CheckpointSpec>& checkpoint_option_fields() {
  using C = CheckpointSpec;
  static const OptionTable<C> fields = {
      {.key = "interval", .member = &C::interval, .help = "steps between checkpoints", .min = 0,
       .note = "0 = only at the end"},
      {.key = "keep_last", .member = &C::keep_last, .help = "checkpoints kept (older ones are deleted)", .min = 1},
  };
  return fields;
}

const OptionTable<RuntimeSpec>& runtime_option_fields() {
  using T = RuntimeSpec;
  static const OptionTable<T> fields = {
      {.key = "dtype", .member = &T::dtype, .help = "parameter dtype", .choices = {"float32", "bfloat16"}},
      {.key = "autocast_bf16", .member = &T::autocast_bf16, .help = "bf16 autocast around the forward pass"},
      {.key = "activation_checkpointing", .member = &T::activation_checkpointing,
       .help = "recompute decoder layers in backward"},
      {.key = "peak_tflops", .member = &T::peak_tflops, .help = "MFU denominator", .min = 0, .note = "0 = measure"},
      {.key = "max_bad_steps", .member = &T::max_bad_steps, .help = "NaN/inf steps in a row before the run stops",
       .min = 1},
      {.key = "log_interval", .member = &T::log_interval, .help = "steps between metric lines", .min = 1},
  };
  return fields;
}

const OptionTable<DistributedSpec>& distributed_option_fields() {
  using D = DistributedSpec;
  static const OptionTable<D> fields = {
      {.key = "bucket_mb", .member = &D::bucket_mb, .help = "gradient all-reduce bucket size in MiB", .min = 0,
       .min_open = true},
      {.key = "overlap_reduce", .member = &D::overlap_reduce,
       .help = "all-reduce gradient buckets during backward (false: after it)"},
      {.key = "zero_stage", .member = &D::zero_stage, .help = "1 = shard AdamW moments across ranks (ZeRO-1)",
       .min = 0, .max = 1},
  };
  return fields;
}

namespace {

Status parse_common(const Json& json, const std::string& origin, const std::filesystem::path& base, bool uses_stages,
                    Recipe& r) {
  JsonReader rd(json, origin);
  Status err;
  KANANA_RETURN_IF_ERROR(read_options(rd, recipe_option_fields(), r, base, /*reject_unknown=*/false));
  // The name becomes a folder under runs/: "../../x" or "a/b" would put the run elsewhere.
  if (r.name == "." || r.name == ".." || r.name.find_first_of("/\\") != std::string::npos ||
      std::any_of(r.name.begin(), r.name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
    return rd.field_error("name", "must be a plain folder name (no '/', '\\', '..' or control characters), got '" +
                                      r.name + "'");

  // model
  if (!rd.has("model")) return rd.field_error("model", "is required ({\"preset\": ...}, {\"config\": ...} or {\"init_from\": ...})");
  KANANA_ASSIGN_OR_RETURN(JsonReader m, rd.child("model"));
  KANANA_RETURN_IF_ERROR(m.check_no_unknown({"preset", "config", "init_from"}));
  r.model.preset = m.get_string_or("preset", "", &err);
  const std::string config = m.get_string_or("config", "", &err);
  const std::string init = m.get_string_or("init_from", "", &err);
  KANANA_RETURN_IF_ERROR(err);
  if (int(!r.model.preset.empty()) + int(!config.empty()) + int(!init.empty()) != 1)
    return rd.field_error("model", "must have exactly one of 'preset', 'config', 'init_from'");
  if (!config.empty()) r.model.config = resolve(base, config);
  if (!init.empty()) r.model.init_from = resolve(base, init);

  if (rd.has("optimizer")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader o, rd.child("optimizer"));
    KANANA_RETURN_IF_ERROR(read_options(o, adamw_option_fields(), r.optimizer, base));
  }

  if (uses_stages) {
    // stages: data via the shards parser (it accepts our extra "schedule" key), schedules here
    if (!rd.has("stages")) return rd.field_error("stages", "is required (a non-empty array of stages)");
    shards::ParseStagesOptions so;
    so.base_dir = base;
    so.reject_unknown_stage_keys = true;
    so.extra_stage_keys = {"schedule"};
    KANANA_ASSIGN_OR_RETURN(r.stages, shards::parse_stages(json["stages"], origin, so));
    for (size_t i = 0; i < r.stages.size(); ++i) {
      const std::string path = "stages[" + std::to_string(i) + "].schedule";
      const Json& stage = json["stages"][i];
      if (!stage.contains("schedule")) return invalid_argument(origin + ": field '" + path + "' is required");
      KANANA_ASSIGN_OR_RETURN(LrSchedule s, parse_lr_schedule(stage["schedule"], origin, path));
      r.schedules.push_back(std::move(s));
    }
  } else {
    if (!rd.has("schedule")) return rd.field_error("schedule", "is required (e.g. {\"kind\": \"cosine\", \"peak_lr\": 1e-4, ...})");
    KANANA_ASSIGN_OR_RETURN(LrSchedule s, parse_lr_schedule(json["schedule"], origin, "schedule"));
    r.schedules.push_back(std::move(s));
  }

  if (rd.has("validation")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader v, rd.child("validation"));
    KANANA_RETURN_IF_ERROR(read_options(v, validation_option_fields(), r.validation, base, true, {"path", "paths"}));
    const std::string p = v.get_string_or("path", "", &err);
    KANANA_RETURN_IF_ERROR(err);
    if (!p.empty()) r.validation.packs.push_back(resolve(base, p));
    if (v.has("paths")) {
      const Json& a = json["validation"]["paths"];
      if (!a.is_array()) return v.field_error("paths", "must be an array of pack folders");
      for (const auto& e : a) {
        if (!e.is_string()) return v.field_error("paths", "must be an array of pack folders");
        r.validation.packs.push_back(resolve(base, e.get<std::string>()));
      }
    }
  }
  if (r.validation.packs.empty() && uses_stages) {
    for (const auto& s : r.stages.front().sources) {
      bool seen = false;
      for (const auto& p : r.validation.packs) seen |= p == s.path;
      if (!seen) r.validation.packs.push_back(s.path);
    }
  }

  if (rd.has("checkpoint")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader c, rd.child("checkpoint"));
    KANANA_RETURN_IF_ERROR(read_options(c, checkpoint_option_fields(), r.checkpoint, base));
  }
  if (rd.has("runtime")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader t, rd.child("runtime"));
    KANANA_RETURN_IF_ERROR(read_options(t, runtime_option_fields(), r.runtime, base));
  }
  if (rd.has("distributed")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader d, rd.child("distributed"));
    KANANA_RETURN_IF_ERROR(read_options(d, distributed_option_fields(), r.distributed, base));
  }
  return Status::ok();
}

}  // namespace

namespace {

struct ExtraTypes {
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<RecipeType>> types;  // stable addresses
};

ExtraTypes& extra_types() {
  static ExtraTypes r;  // function-local: safe from static registrars in any library
  return r;
}

}  // namespace

bool register_recipe_type(RecipeType type) {
  auto& r = extra_types();
  std::lock_guard<std::mutex> lock(r.mutex);
  const std::string name = type.name;
  r.types[name] = std::make_unique<RecipeType>(std::move(type));
  return true;
}

const RecipeType* find_recipe_type(const std::string& name) {
  {
    auto& r = extra_types();
    std::lock_guard<std::mutex> lock(r.mutex);
    if (auto it = r.types.find(name); it != r.types.end()) return it->second.get();
  }
  for (const RecipeType& t : recipe_type_table())
    if (t.name == name) return &t;
  return nullptr;
}

std::vector<std::string> recipe_types() {
  std::set<std::string> names;
  for (const RecipeType& t : recipe_type_table()) names.insert(t.name);
  {
    auto& r = extra_types();
    std::lock_guard<std::mutex> lock(r.mutex);
    for (const auto& [name, type] : r.types) names.insert(name);
  }
  return {names.begin(), names.end()};
}

Result<Recipe> parse_recipe(const Json& json, const std::string& origin, const std::filesystem::path& base_dir) {
  if (!json.is_object()) return invalid_argument(origin + ": a recipe must be a JSON object");
  JsonReader rd(json, origin);
  Recipe r;
  std::string known;
  for (const auto& t : recipe_types()) known += (known.empty() ? "" : ", ") + t;
  if (!rd.has("type")) return rd.field_error("type", "is required (one of: " + known + ")");
  KANANA_ASSIGN_OR_RETURN(r.type, rd.get_string("type"));
  const RecipeType* type = find_recipe_type(r.type);
  if (!type) return rd.field_error("type", "is '" + r.type + "'; recipe types: " + known);
  std::vector<std::string> allowed = kCommonKeys;
  allowed.push_back(type->uses_stages ? "stages" : "schedule");
  allowed.insert(allowed.end(), type->keys.begin(), type->keys.end());
  for (const auto& [key, value] : json.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return rd.field_error(key, "is not a known field of a '" + r.type + "' recipe");
  }
  KANANA_RETURN_IF_ERROR(parse_common(json, origin, base_dir, type->uses_stages, r));
  if (type->parse) KANANA_RETURN_IF_ERROR(type->parse(json, origin, base_dir, r));
  r.json = json;
  // The hash says what is trained (`--resume` refuses another recipe): how the work is split
  // over ranks and micro-batches (gradient buckets, overlap, ZeRO stage, micro_batch_size,
  // grad_accum) and runtime limits are left out, so a run may resume on another number of
  // ranks with the same global batch. (A resume that changes the global batch is not refused.)
  Json hashed = resolved_recipe_json(r);
  for (const char* key : {"distributed", "runtime", "micro_batch_size", "grad_accum"}) hashed.erase(key);
  r.hash = hex64(fnv1a64(hashed.dump()));
  return r;
}

Result<Recipe> read_recipe(const std::filesystem::path& file) {
  KANANA_ASSIGN_OR_RETURN(Json json, read_json_file(file));
  std::error_code ec;
  std::filesystem::path base = std::filesystem::absolute(file, ec).parent_path();
  if (ec) base = file.parent_path();
  KANANA_ASSIGN_OR_RETURN(Recipe r, json_guard(file.string(), [&] { return parse_recipe(json, file.string(), base); }));
  r.file = file;
  return r;
}

Json resolved_recipe_json(const Recipe& r) {
  Json j = options_to_json(r, recipe_option_fields());
  j["type"] = r.type;
  if (!r.model.preset.empty()) j["model"] = {{"preset", r.model.preset}};
  if (!r.model.config.empty()) j["model"] = {{"config", r.model.config.string()}};
  if (!r.model.init_from.empty()) j["model"] = {{"init_from", r.model.init_from.string()}};
  j["optimizer"] = options_to_json(r.optimizer, adamw_option_fields());
  const RecipeType* type = find_recipe_type(r.type);
  if (type && type->uses_stages) {
    Json stages = Json::array();
    for (size_t i = 0; i < r.stages.size(); ++i) {
      const auto& st = r.stages[i];
      Json sources = Json::array();
      for (const auto& src : st.sources)
        sources.push_back({{"name", src.name}, {"path", src.path.string()}, {"weight", src.weight}});
      Json stage = {{"name", st.name}, {"token_budget", st.token_budget}, {"sources", sources}};
      if (i < r.schedules.size()) stage["schedule"] = lr_schedule_to_json(r.schedules[i]);
      stages.push_back(std::move(stage));
    }
    j["stages"] = std::move(stages);
  } else if (!r.schedules.empty()) {
    j["schedule"] = lr_schedule_to_json(r.schedules.front());
  }
  Json validation = options_to_json(r.validation, validation_option_fields());
  Json paths = Json::array();
  for (const auto& p : r.validation.packs) paths.push_back(p.string());
  validation["paths"] = std::move(paths);
  j["validation"] = std::move(validation);
  j["checkpoint"] = options_to_json(r.checkpoint, checkpoint_option_fields());
  j["runtime"] = options_to_json(r.runtime, runtime_option_fields());
  j["distributed"] = options_to_json(r.distributed, distributed_option_fields());
  if (type && type->to_json) {
    const Json own = type->to_json(r);  // named: items() must not outlive it
    for (const auto& [key, value] : own.items()) j[key] = value;
  }
  return j;
}

}  // namespace kanana::train
