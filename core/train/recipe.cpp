// Recipe JSON → Recipe, with errors naming the field; see recipe.h.
#include "train/recipe.h"

#include <algorithm>

#include "shards/shard.h"
#include "train/task.h"

namespace kanana::train {
namespace {

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
  std::filesystem::path path(p);
  return path.is_absolute() || base.empty() ? path : base / path;
}

// Keys every recipe type reads; types with stages read "stages", the others "schedule".
const std::vector<std::string> kCommonKeys = {"type", "name", "model", "seq_len", "micro_batch_size", "grad_accum",
                                              "seed", "optimizer", "grad_clip", "z_loss", "validation",
                                              "checkpoint", "runtime"};

Status parse_common(const Json& json, const std::string& origin, const std::filesystem::path& base, bool uses_stages,
                    Recipe& r) {
  JsonReader rd(json, origin);
  Status err;
  r.name = rd.get_string_or("name", "", &err);
  r.seq_len = rd.get_int_or("seq_len", r.seq_len, &err);
  r.micro_batch_size = rd.get_int_or("micro_batch_size", r.micro_batch_size, &err);
  r.grad_accum = rd.get_int_or("grad_accum", r.grad_accum, &err);
  const int64_t seed = rd.get_int_or("seed", int64_t(r.seed), &err);
  r.grad_clip = rd.get_number_or("grad_clip", r.grad_clip, &err);
  r.z_loss = rd.get_number_or("z_loss", r.z_loss, &err);
  KANANA_RETURN_IF_ERROR(err);
  if (r.seq_len < 1) return rd.field_error("seq_len", "must be >= 1");
  if (r.micro_batch_size < 1) return rd.field_error("micro_batch_size", "must be >= 1");
  if (r.grad_accum < 1) return rd.field_error("grad_accum", "must be >= 1");
  if (seed < 0) return rd.field_error("seed", "must be >= 0");
  r.seed = uint64_t(seed);
  if (r.grad_clip < 0) return rd.field_error("grad_clip", "must be >= 0 (0 = no clipping)");
  if (r.z_loss < 0) return rd.field_error("z_loss", "must be >= 0");

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

  // optimizer
  if (rd.has("optimizer")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader o, rd.child("optimizer"));
    KANANA_RETURN_IF_ERROR(o.check_no_unknown({"beta1", "beta2", "eps", "weight_decay", "weight_decay_mode", "skip_1d_decay"}));
    auto& opt = r.optimizer;
    opt.beta1 = o.get_number_or("beta1", opt.beta1, &err);
    opt.beta2 = o.get_number_or("beta2", opt.beta2, &err);
    opt.eps = o.get_number_or("eps", opt.eps, &err);
    opt.weight_decay = o.get_number_or("weight_decay", opt.weight_decay, &err);
    opt.skip_1d_decay = o.get_bool_or("skip_1d_decay", opt.skip_1d_decay, &err);
    const std::string mode = o.get_string_or("weight_decay_mode", "independent", &err);
    KANANA_RETURN_IF_ERROR(err);
    auto parsed = parse_weight_decay_mode(mode);
    if (!parsed) return o.field_error("weight_decay_mode", "is '" + mode + "'; expected independent or coupled");
    opt.decay_mode = *parsed;
    if (opt.beta1 < 0 || opt.beta1 >= 1) return o.field_error("beta1", "must be in [0, 1)");
    if (opt.beta2 < 0 || opt.beta2 >= 1) return o.field_error("beta2", "must be in [0, 1)");
    if (!(opt.eps > 0)) return o.field_error("eps", "must be > 0");
    if (opt.weight_decay < 0 || opt.weight_decay >= 1) return o.field_error("weight_decay", "must be in [0, 1)");
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
    KANANA_RETURN_IF_ERROR(v.check_no_unknown({"path", "paths", "interval", "batches"}));
    r.validation.interval = v.get_int_or("interval", 0, &err);
    r.validation.batches = v.get_int_or("batches", r.validation.batches, &err);
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
    if (r.validation.interval < 0) return v.field_error("interval", "must be >= 0");
    if (r.validation.batches < 1) return v.field_error("batches", "must be >= 1");
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
    KANANA_RETURN_IF_ERROR(c.check_no_unknown({"interval", "keep_last"}));
    r.checkpoint.interval = c.get_int_or("interval", 0, &err);
    r.checkpoint.keep_last = c.get_int_or("keep_last", r.checkpoint.keep_last, &err);
    KANANA_RETURN_IF_ERROR(err);
    if (r.checkpoint.interval < 0) return c.field_error("interval", "must be >= 0");
    if (r.checkpoint.keep_last < 1) return c.field_error("keep_last", "must be >= 1");
  }

  if (rd.has("runtime")) {
    KANANA_ASSIGN_OR_RETURN(JsonReader t, rd.child("runtime"));
    KANANA_RETURN_IF_ERROR(t.check_no_unknown({"dtype", "autocast_bf16", "activation_checkpointing", "peak_tflops",
                                                      "max_bad_steps", "log_interval"}));
    auto& rt = r.runtime;
    rt.dtype = t.get_string_or("dtype", rt.dtype, &err);
    rt.autocast_bf16 = t.get_bool_or("autocast_bf16", rt.autocast_bf16, &err);
    rt.activation_checkpointing = t.get_bool_or("activation_checkpointing", rt.activation_checkpointing, &err);
    rt.peak_tflops = t.get_number_or("peak_tflops", rt.peak_tflops, &err);
    rt.max_bad_steps = t.get_int_or("max_bad_steps", rt.max_bad_steps, &err);
    rt.log_interval = t.get_int_or("log_interval", rt.log_interval, &err);
    KANANA_RETURN_IF_ERROR(err);
    if (rt.dtype != "float32" && rt.dtype != "bfloat16")
      return t.field_error("dtype", "is '" + rt.dtype + "'; expected float32 or bfloat16");
    if (rt.peak_tflops < 0) return t.field_error("peak_tflops", "must be >= 0 (0 = measure)");
    if (rt.max_bad_steps < 1) return t.field_error("max_bad_steps", "must be >= 1");
    if (rt.log_interval < 1) return t.field_error("log_interval", "must be >= 1");
  }
  return Status::ok();
}

}  // namespace

std::vector<std::string> recipe_types() {
  std::vector<std::string> names;
  for (const TaskType* t : task_types()) names.push_back(t->name);
  return names;
}

Result<Recipe> parse_recipe(const Json& json, const std::string& origin, const std::filesystem::path& base_dir) {
  if (!json.is_object()) return invalid_argument(origin + ": a recipe must be a JSON object");
  JsonReader rd(json, origin);
  Recipe r;
  std::string known;
  for (const auto& t : recipe_types()) known += (known.empty() ? "" : ", ") + t;
  if (!rd.has("type")) return rd.field_error("type", "is required (one of: " + known + ")");
  KANANA_ASSIGN_OR_RETURN(r.type, rd.get_string("type"));
  const TaskType* type = find_task_type(r.type);
  if (!type) return rd.field_error("type", "is '" + r.type + "'; this build trains: " + known);
  std::vector<std::string> allowed = kCommonKeys;
  allowed.push_back(type->uses_stages ? "stages" : "schedule");
  allowed.insert(allowed.end(), type->keys.begin(), type->keys.end());
  for (const auto& [key, value] : json.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return rd.field_error(key, "is not a known field of a '" + r.type + "' recipe");
  }
  KANANA_RETURN_IF_ERROR(parse_common(json, origin, base_dir, type->uses_stages, r));
  if (type->parse) KANANA_RETURN_IF_ERROR(type->parse(json, origin, base_dir, r));
  const std::string canonical = json.dump();
  r.hash = shards::hex64(shards::fnv1a64(canonical.data(), canonical.size()));
  r.json = json;
  return r;
}

Result<Recipe> read_recipe(const std::filesystem::path& file) {
  KANANA_ASSIGN_OR_RETURN(Json json, read_json_file(file));
  KANANA_ASSIGN_OR_RETURN(Recipe r, parse_recipe(json, file.string(), file.parent_path()));
  r.file = file;
  return r;
}

}  // namespace kanana::train
