// The prune → distill job (see pipeline.h).
#include "surgery/pipeline.h"

#include <torch/torch.h>

#include <cstdio>

#include "jobs/events.h"
#include "model/checkpoint.h"
#include "surgery/importance_estimation.h"
#include "surgery/prune.h"
#include "surgery/upscale.h"
#include "train/recipe.h"
#include "train/trainer.h"

namespace kanana::surgery {
namespace {

namespace fs = std::filesystem;

fs::path resolve(const fs::path& base, const std::string& p) {
  const fs::path path(p);
  return path.is_absolute() || base.empty() ? path : base / path;
}

// Forwards estimation progress into events.jsonl as occasional log lines.
class EventProgress final : public Progress {
 public:
  explicit EventProgress(jobs::EventWriter* events) : events_(events) {}
  void update(int64_t done, int64_t total, const std::string& note) override {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(5)) return;
    last_ = now;
    if (events_)
      (void)events_->log("info", "importance: " + std::to_string(done) + "/" + std::to_string(total) + " rows, " + note);
  }
  void finish(const std::string& note) override {
    if (events_) (void)events_->log("info", "importance done: " + note);
  }

 private:
  jobs::EventWriter* events_;
  std::chrono::steady_clock::time_point last_{};
};

Json removed_json(const RemovedMass& m) {
  return {{"layers", m.layers}, {"heads", m.heads}, {"neurons", m.neurons}, {"channels", m.channels}};
}

}  // namespace

Result<ImportanceOptions> parse_importance_options(const Json& json, const std::string& origin, const std::string& path) {
  JsonReader r(json, origin, path);
  KANANA_RETURN_IF_ERROR(r.check_no_unknown({"batch", "sequence", "sum_channels_over_layers", "layer_loss", "batch_size"}));
  ImportanceOptions o;
  Status err;
  const std::string batch = r.get_string_or("batch", "l2", &err);
  const std::string seq = r.get_string_or("sequence", "mean", &err);
  o.sum_channels_over_layers = r.get_bool_or("sum_channels_over_layers", true, &err);
  o.layer_loss = r.get_bool_or("layer_loss", true, &err);
  o.batch_size = r.get_int_or("batch_size", 8, &err);
  KANANA_RETURN_IF_ERROR(err);
  auto b = parse_aggregation(batch);
  if (!b) return r.field_error("batch", b.status().message());
  auto s = parse_aggregation(seq);
  if (!s) return r.field_error("sequence", s.status().message());
  o.batch = *b;
  o.sequence = *s;
  if (o.batch_size < 1) return r.field_error("batch_size", "must be >= 1");
  return o;
}

Result<CalibrationSettings> parse_calibration(const Json& json, const std::string& origin, const fs::path& base,
                                              const std::string& path) {
  JsonReader r(json, origin, path);
  KANANA_RETURN_IF_ERROR(r.check_no_unknown({"pack", "split", "text", "tokenizer", "text_field", "samples", "seq_len"}));
  CalibrationSettings c;
  Status err;
  if (r.has("pack")) c.pack = resolve(base, r.get_string_or("pack", "", &err));
  const std::string split = r.get_string_or("split", "train", &err);
  if (r.has("tokenizer")) c.tokenizer = resolve(base, r.get_string_or("tokenizer", "", &err));
  c.text_field = r.get_string_or("text_field", "text", &err);
  c.samples = r.get_int_or("samples", c.samples, &err);
  c.seq_len = r.get_int_or("seq_len", c.seq_len, &err);
  KANANA_RETURN_IF_ERROR(err);
  if (split != "train" && split != "val") return r.field_error("split", "is '" + split + "'; expected train or val");
  c.validation_split = split == "val";
  if (r.has("text")) {
    const Json& t = json["text"];
    if (t.is_string()) {
      c.text.push_back(resolve(base, t.get<std::string>()));
    } else if (t.is_array()) {
      for (size_t i = 0; i < t.size(); ++i) {
        if (!t[i].is_string()) return r.field_error("text", "must be a file name or a list of file names");
        c.text.push_back(resolve(base, t[i].get<std::string>()));
      }
    } else {
      return r.field_error("text", "must be a file name or a list of file names");
    }
  }
  if (c.pack.empty() == c.text.empty()) return r.field_error("pack", "or 'text' (with 'tokenizer'): give exactly one");
  if (!c.text.empty() && c.tokenizer.empty()) return r.field_error("tokenizer", "is required with 'text'");
  if (c.samples < 1) return r.field_error("samples", "must be >= 1");
  if (c.seq_len < 1) return r.field_error("seq_len", "must be >= 1");
  return c;
}

Result<PipelineSpec> parse_pipeline_spec(const Json& json, const std::string& origin, const fs::path& base) {
  if (!json.is_object()) return invalid_argument(origin + ": a pipeline spec must be a JSON object");
  JsonReader r(json, origin);
  KANANA_RETURN_IF_ERROR(r.check_no_unknown({"teacher", "target", "prune", "distill"}));
  PipelineSpec s;
  KANANA_ASSIGN_OR_RETURN(std::string teacher, r.get_string("teacher"));
  s.teacher = resolve(base, teacher);
  if (!r.has("target")) return r.field_error("target", "is required (the student's shape)");
  KANANA_ASSIGN_OR_RETURN(s.target, parse_target_shape(json["target"], origin + " (field 'target')"));
  // The target is checked against the teacher now: a bad shape is refused before any work.
  KANANA_ASSIGN_OR_RETURN(model::LlamaConfig teacher_cfg, model::read_llama_config(s.teacher));
  if (auto t = target_config(teacher_cfg, s.target); !t)
    return invalid_argument(origin + ": field 'target': " + t.status().message());
  if (!r.has("prune")) return r.field_error("prune", "is required (calibration data for importance)");
  KANANA_ASSIGN_OR_RETURN(JsonReader p, r.child("prune"));
  KANANA_RETURN_IF_ERROR(p.check_no_unknown({"steps", "depth_metric", "rescale_norms", "importance", "calibration", "importance_file"}));
  Status err;
  s.steps = p.get_int_or("steps", 1, &err);
  const std::string metric = p.get_string_or("depth_metric", "loss", &err);
  s.plan.rescale_norms = p.get_bool_or("rescale_norms", false, &err);
  if (p.has("importance_file")) s.importance_file = resolve(base, p.get_string_or("importance_file", "", &err));
  KANANA_RETURN_IF_ERROR(err);
  if (s.steps < 1) return p.field_error("steps", "must be >= 1");
  if (metric != "loss" && metric != "block_importance")
    return p.field_error("depth_metric", "is '" + metric + "'; expected loss or block_importance");
  s.plan.depth_by_loss = metric == "loss";
  if (p.has("importance")) {
    KANANA_ASSIGN_OR_RETURN(s.importance, parse_importance_options(json["prune"]["importance"], origin, "prune.importance"));
  }
  if (!p.has("calibration")) return p.field_error("calibration", "is required");
  KANANA_ASSIGN_OR_RETURN(s.calibration, parse_calibration(json["prune"]["calibration"], origin, base, "prune.calibration"));
  if (!r.has("distill") || !json["distill"].is_object()) return r.field_error("distill", "must be an object (a distill recipe)");
  s.distill = json["distill"];
  for (const char* k : {"type", "teacher", "model"})
    if (s.distill.contains(k)) return r.field_error(std::string("distill.") + k, "is filled in by the pipeline; remove it");
  // Check the distillation recipe now, against a stand-in student, so a typo fails before pruning.
  Json probe = s.distill;
  probe["type"] = "distill";
  probe["teacher"] = s.teacher.string();
  probe["model"] = {{"init_from", s.teacher.string()}};
  auto recipe = train::parse_recipe(probe, origin + " (field 'distill')", base);
  if (!recipe) return recipe.status();
  return s;
}

Result<PipelineSpec> read_pipeline_spec(const fs::path& file) {
  KANANA_ASSIGN_OR_RETURN(Json j, read_json_file(file));
  KANANA_ASSIGN_OR_RETURN(PipelineSpec s, parse_pipeline_spec(j, file.string(), file.parent_path()));
  s.file = file;
  return s;
}

Result<PipelineResult> run_pipeline(const PipelineSpec& spec, const PipelineOptions& options) {
  const fs::path run = options.run_dir;
  std::error_code ec;
  fs::create_directories(run, ec);
  if (ec) return errno_status(run, "creating the run folder");
  if (options.threads > 0) torch::set_num_threads(options.threads);
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(options.device);
  } catch (const std::exception&) {
    return invalid_argument("device '" + options.device + "' is not a device (cpu, cuda, cuda:N)");
  }
  const fs::path student_dir = run / "student";
  const fs::path prune_record = run / "prune.json";
  PipelineResult result;
  result.student = student_dir;

  // Target and teacher are checked before any work.
  KANANA_ASSIGN_OR_RETURN(model::LlamaConfig teacher_cfg, model::read_llama_config(spec.teacher));
  KANANA_ASSIGN_OR_RETURN(model::LlamaConfig target_cfg, target_config(teacher_cfg, spec.target));
  KANANA_RETURN_IF_ERROR(write_json_file(run / "pipeline.json",
                                         {{"teacher", fs::absolute(spec.teacher).string()},
                                          {"student", fs::absolute(student_dir).string()},
                                          {"target", model::llama_config_to_json(target_cfg)},
                                          {"spec", spec.file.string()}}));

  const bool pruned = options.resume && fs::exists(prune_record, ec) && fs::exists(student_dir / "config.json", ec);
  if (!pruned) {
    KANANA_ASSIGN_OR_RETURN(auto events, jobs::EventWriter::open(run / jobs::kEventsFileName));
    (void)events->state("running");
    (void)events->stage("prune", 0);
    auto fail = [&](const Status& s) {
      (void)events->state(s.code() == StatusCode::kCancelled ? "cancelled" : "failed", s.message());
      return s;
    };
    model::LoadOptions lo;
    lo.device = device;
    if (device.is_cpu()) lo.dtype = torch::kFloat32;  // CPU matmuls in bf16 are slow
    auto teacher = model::load_model(spec.teacher, lo);
    if (!teacher) return fail(teacher.status());
    CalibrationSpec cs;
    cs.pack = spec.calibration.pack;
    cs.pack_validation_split = spec.calibration.validation_split;
    cs.text = spec.calibration.text;
    cs.tokenizer = spec.calibration.tokenizer;
    cs.text_field = spec.calibration.text_field;
    cs.samples = spec.calibration.samples;
    cs.seq_len = spec.calibration.seq_len;
    auto calibration = open_calibration(cs);
    if (!calibration) return fail(calibration.status());
    std::optional<ImportanceScores> initial;
    if (!spec.importance_file.empty()) {
      auto read = read_importance(spec.importance_file);
      if (!read) return fail(read.status());
      initial = std::move(*read);
    }
    PruneOptions po;
    po.steps = spec.steps;
    po.importance = spec.importance;
    po.plan = spec.plan;
    po.initial_scores = initial ? &*initial : nullptr;
    EventProgress progress(events.get());
    auto pruned_model = prune_model(
        teacher->model, spec.target, calibration->get(), po,
        [&](const std::string& line) {
          (void)events->log("info", "prune " + line);
          if (options.print_progress) std::fprintf(stderr, "prune %s\n", line.c_str());
        },
        &progress, options.cancel);
    if (!pruned_model) return fail(pruned_model.status());
    model::SaveModelOptions so;
    auto saved_dtype = model::parse_dtype(teacher_cfg.torch_dtype);
    if (saved_dtype) so.dtype = *saved_dtype;
    so.metadata["kanana.surgery"] = "pruned";
    if (auto st = model::save_model(student_dir, pruned_model->model, so); !st) return fail(st);
    if (auto st = copy_tokenizer_files(spec.teacher, student_dir); !st) return fail(st);
    Json record = Json::array();
    for (size_t i = 0; i < pruned_model->steps.size(); ++i) {
      const auto& step = pruned_model->steps[i];
      record.push_back({{"config", model::llama_config_to_json(step.config)},
                        {"scored", step.scored},
                        {"removed_mass", removed_json(step.removed)},
                        {"base_loss", step.scores.base_loss},
                        {"plan", plan_to_json(pruned_model->plans[i])}});
    }
    for (const auto& step : pruned_model->steps)
      if (step.scored) {
        if (auto st = write_importance(run / "importance.json", step.scores); !st) return fail(st);
        break;
      }
    if (auto st = write_json_file(prune_record, Json{{"steps", record}}); !st) return fail(st);
    (void)events->log("info", "student " + describe_shape(pruned_model->model->config()) + " saved to " +
                                  student_dir.string());
  }

  Json recipe_json = spec.distill;
  recipe_json["type"] = "distill";
  recipe_json["teacher"] = fs::absolute(spec.teacher).string();
  recipe_json["model"] = {{"init_from", fs::absolute(student_dir).string()}};
  if (!recipe_json.contains("name")) recipe_json["name"] = run.filename().string();
  const fs::path base = spec.file.empty() ? fs::path() : spec.file.parent_path();
  KANANA_ASSIGN_OR_RETURN(train::Recipe recipe, train::parse_recipe(recipe_json, spec.file.string() + " (field 'distill')", base));
  train::TrainOptions to;
  to.run_dir = run;
  to.resume = options.resume;
  to.device = device;
  to.threads = options.threads;
  to.cancel = options.cancel;
  to.print_progress = options.print_progress;
  KANANA_ASSIGN_OR_RETURN(auto trained, train::run_training(recipe, to));
  result.final_checkpoint = trained.last_checkpoint;
  result.val_loss = trained.last_val_loss;
  result.finished = trained.finished;
  // Generations from the final checkpoint need the tokenizer next to the weights.
  if (!trained.last_checkpoint.empty()) (void)copy_tokenizer_files(student_dir, trained.last_checkpoint);
  Json summary;
  if (auto j = read_json_file(run / "pipeline.json")) summary = *j;
  summary["final_checkpoint"] = fs::absolute(trained.last_checkpoint).string();
  if (trained.last_val_loss) summary["val_loss"] = *trained.last_val_loss;
  (void)write_json_file(run / "pipeline.json", summary);
  return result;
}

}  // namespace kanana::surgery
