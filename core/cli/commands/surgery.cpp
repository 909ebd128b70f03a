// `kanana surgery info|upscale|importance|prune|pipeline`: model surgery from the command
// line (core/surgery): shape and cost of a checkpoint and of a target, SOLAR depth
// up-scaling, Minitron/Kanana importance scores on a calibration set, GQA-aligned pruning
// (iterative), and the prune → distill job the Surgery plugin launches.
#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/registry.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "surgery/importance_estimation.h"
#include "surgery/pipeline.h"
#include "surgery/prune.h"
#include "surgery/shape.h"
#include "surgery/upscale.h"

namespace kanana::cli {
namespace {

namespace fs = std::filesystem;
using namespace kanana::surgery;

std::string human(double n) {
  char buf[64];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.3gB", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.3gM", n / 1e6);
  else if (n >= 1e3) std::snprintf(buf, sizeof buf, "%.3gK", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

// ----- shared option groups -----

std::vector<OptionSpec> target_options() {
  return {{.name = "layers", .value_name = "N", .help = "target num_hidden_layers (depth pruning)"},
          {.name = "hidden", .value_name = "N", .help = "target hidden_size (embedding channels)"},
          {.name = "intermediate", .value_name = "N", .help = "target intermediate_size (MLP neurons)"},
          {.name = "heads", .value_name = "N", .help = "target num_attention_heads (a multiple of the kv heads)"},
          {.name = "heads-per-group", .value_name = "N", .help = "target query heads per kv group"},
          {.name = "tie-embeddings", .help = "tie input and output embeddings (an untied model is tied by averaging)"}};
}

Result<TargetShape> read_target(const Args& a) {
  TargetShape t;
  auto read = [&](const char* flag, std::optional<int64_t>* out) -> Status {
    if (!a.has(flag)) return Status::ok();
    KANANA_ASSIGN_OR_RETURN(int64_t v, a.get_int(flag));
    *out = v;
    return Status::ok();
  };
  KANANA_RETURN_IF_ERROR(read("layers", &t.num_hidden_layers));
  KANANA_RETURN_IF_ERROR(read("hidden", &t.hidden_size));
  KANANA_RETURN_IF_ERROR(read("intermediate", &t.intermediate_size));
  KANANA_RETURN_IF_ERROR(read("heads", &t.num_attention_heads));
  KANANA_RETURN_IF_ERROR(read("heads-per-group", &t.heads_per_group));
  if (a.flag("tie-embeddings")) t.tie_word_embeddings = true;
  return t;
}

// The calibration and importance flags; their --help defaults are CalibrationSpec's and
// ImportanceOptions' own (surgery/importance_estimation.h, surgery/importance.h).
std::vector<OptionSpec> calibration_options() {
  const CalibrationSpec cal;
  const ImportanceOptions imp;
  return {{.name = "pack", .value_name = "DIR", .help = "calibration token pack (kanana data pack)"},
          {.name = "pack-split", .value_name = "train|val", .help = "split of the pack",
           .default_value = cal.pack_validation_split ? "val" : "train"},
          {.name = "text", .value_name = "FILE", .help = "calibration JSONL/text file (repeatable)", .repeated = true},
          {.name = "tokenizer", .value_name = "PATH", .help = "tokenizer for --text (default: the model folder's)"},
          {.name = "text-field", .value_name = "KEY", .help = "JSONL text field", .default_value = cal.text_field},
          {.name = "samples", .value_name = "N", .help = "calibration rows", .default_value = std::to_string(cal.samples)},
          {.name = "seq-len", .value_name = "N", .help = "tokens per row", .default_value = std::to_string(cal.seq_len)},
          {.name = "batch-size", .value_name = "N", .help = "rows per forward pass",
           .default_value = std::to_string(imp.batch_size)},
          {.name = "batch-agg", .value_name = "l2|mean|sum|max", .help = "aggregation over samples",
           .default_value = aggregation_name(imp.batch)},
          {.name = "seq-agg", .value_name = "mean|l2|sum|max", .help = "aggregation over a sample's tokens",
           .default_value = aggregation_name(imp.sequence)},
          {.name = "first-layer-channels", .help = "score channels on the first layer's norm only (default: summed over all norms)"},
          {.name = "no-layer-loss", .help = "skip the loss-with-layer-dropped pass (one extra forward per layer)"}};
}

std::vector<OptionSpec> runtime_options() {
  return {{.name = "device", .value_name = "DEV", .help = "cpu, cuda or cuda:N", .default_value = "cpu"},
          {.name = "threads", .value_name = "N", .help = "torch intra-op threads (0 = LibTorch default)", .default_value = "0"},
          {.name = "quiet", .help = "no progress bar"}};
}

Result<CalibrationSpec> read_calibration(const Args& a, const fs::path& model_dir) {
  CalibrationSpec c;
  if (a.has("pack") && !a.get("pack").empty()) c.pack = a.get("pack");
  const std::string split = a.get("pack-split");
  if (split != "train" && split != "val") return invalid_argument("--pack-split must be train or val, got '" + split + "'");
  c.pack_validation_split = split == "val";
  for (const auto& t : a.get_all("text")) c.text.emplace_back(t);
  c.tokenizer = a.has("tokenizer") && !a.get("tokenizer").empty() ? fs::path(a.get("tokenizer")) : model_dir;
  c.text_field = a.get("text-field");
  KANANA_ASSIGN_OR_RETURN(c.samples, a.get_int("samples"));
  KANANA_ASSIGN_OR_RETURN(c.seq_len, a.get_int("seq-len"));
  if (c.pack.empty() == c.text.empty()) return invalid_argument("give calibration data: --pack DIR or --text FILE...");
  if (c.samples < 1 || c.seq_len < 1) return invalid_argument("--samples and --seq-len must be at least 1");
  return c;
}

Result<ImportanceOptions> read_importance_options(const Args& a) {
  ImportanceOptions o;
  KANANA_ASSIGN_OR_RETURN(o.batch, parse_aggregation(a.get("batch-agg")));
  KANANA_ASSIGN_OR_RETURN(o.sequence, parse_aggregation(a.get("seq-agg")));
  KANANA_ASSIGN_OR_RETURN(o.batch_size, a.get_int("batch-size"));
  if (o.batch_size < 1) return invalid_argument("--batch-size must be at least 1");
  o.sum_channels_over_layers = !a.flag("first-layer-channels");
  o.layer_loss = !a.flag("no-layer-loss");
  return o;
}

Result<torch::Device> read_runtime(const Args& a) {
  KANANA_ASSIGN_OR_RETURN(int64_t threads, a.get_int("threads"));
  if (threads > 0) torch::set_num_threads(int(threads));
  try {
    torch::Device d(a.get("device"));
    if (d.is_cuda() && !torch::cuda::is_available())
      return invalid_argument("--device " + a.get("device") + ": this LibTorch has no CUDA device");
    return d;
  } catch (const std::exception&) {
    return invalid_argument("--device '" + a.get("device") + "' is not a device (cpu, cuda, cuda:N)");
  }
}

model::LoadOptions load_options(torch::Device device) {
  model::LoadOptions lo;
  lo.device = device;
  if (device.is_cpu()) lo.dtype = torch::kFloat32;  // bf16 matmuls are slow on CPUs
  return lo;
}

void print_stats(const char* label, const model::LlamaConfig& c, int64_t context, const ShapeStats* base) {
  const ShapeStats s = shape_stats(c, context);
  auto ratio = [&](double v, double b) {
    char buf[32];
    std::snprintf(buf, sizeof buf, " (%.1f%%)", 100.0 * v / b);
    return base ? std::string(buf) : std::string();
  };
  std::printf("%s\n  shape:        %s\n", label, describe_shape(c).c_str());
  std::printf("  parameters:   %lld (%s)%s, non-embedding %lld (%s)%s\n", (long long)s.parameters,
              human(double(s.parameters)).c_str(), base ? ratio(double(s.parameters), double(base->parameters)).c_str() : "",
              (long long)s.non_embedding_parameters, human(double(s.non_embedding_parameters)).c_str(),
              base ? ratio(double(s.non_embedding_parameters), double(base->non_embedding_parameters)).c_str() : "");
  std::printf("  FLOPs/token:  %s forward at %lld tokens of context%s\n", human(s.flops_per_token).c_str(),
              (long long)context, base ? ratio(s.flops_per_token, base->flops_per_token).c_str() : "");
}

// ----- commands -----

int run_surgery_info(const Args& a, Context&) {
  const fs::path dir = a.positional()[0];
  auto config = model::read_llama_config(dir);
  if (!config) return report_error(config.status());
  auto context = a.get_int("context");
  if (!context) return report_error(context.status(), true);
  auto target = read_target(a);
  if (!target) return report_error(target.status(), true);
  print_stats(dir.c_str(), *config, *context, nullptr);
  if (!target->empty()) {
    auto t = target_config(*config, *target);
    if (!t) return report_error(t.status(), true);
    const ShapeStats base = shape_stats(*config, *context);
    print_stats("target", *t, *context, &base);
  }
  return kExitOk;
}

int run_upscale(const Args& a, Context&) {
  const fs::path dir = a.positional()[0];
  auto config = model::read_llama_config(dir);
  if (!config) return report_error(config.status());
  const int64_t n = config->num_hidden_layers;
  Result<std::vector<int64_t>> map = std::vector<int64_t>{};
  if (a.has("layer-map") && !a.get("layer-map").empty()) {
    if (a.has("drop") && !a.get("drop").empty())
      return report_error(invalid_argument("give --drop or --layer-map, not both"), true);
    map = parse_layer_map(a.get("layer-map"), n);
  } else {
    int64_t m = n / 4;  // SOLAR: 8 of 32
    if (a.has("drop") && !a.get("drop").empty()) {
      auto d = a.get_int("drop");
      if (!d) return report_error(d.status(), true);
      m = *d;
    }
    map = solar_layer_map(n, m);
  }
  if (!map) return report_error(map.status(), true);
  auto r = upscale_checkpoint(dir, a.get("out"), *map);
  if (!r) return report_error(r.status());
  std::printf("wrote %s: %lld -> %lld layers (layer map %s), %s parameters\n", a.get("out").c_str(), (long long)n,
              (long long)r->config.num_hidden_layers, format_layer_map(*map).c_str(),
              human(double(model::parameter_count(r->config))).c_str());
  return kExitOk;
}

int run_importance(const Args& a, Context& ctx) {
  const fs::path dir = a.positional()[0];
  auto device = read_runtime(a);
  if (!device) return report_error(device.status(), true);
  auto cal = read_calibration(a, dir);
  if (!cal) return report_error(cal.status(), true);
  auto opts = read_importance_options(a);
  if (!opts) return report_error(opts.status(), true);
  auto source = open_calibration(*cal);
  if (!source) return report_error(source.status(), true);
  auto loaded = model::load_model(dir, load_options(*device));
  if (!loaded) return report_error(loaded.status());
  std::unique_ptr<Progress> progress;
  if (!a.flag("quiet")) progress = make_terminal_progress("importance");
  auto scores = estimate_importance(loaded->model, **source, *opts, progress.get(), ctx.cancel);
  if (!scores) return report_error(scores.status());
  if (auto st = write_importance(a.get("out"), *scores); !st) return report_error(st);
  std::printf("wrote %s: %lld rows, %lld tokens, base loss %.4f (%s)\n", a.get("out").c_str(), (long long)scores->samples,
              (long long)scores->tokens, scores->base_loss, scores->calibration.c_str());
  std::printf("layer  block_importance  loss_if_dropped  head_score(min..max)\n");
  for (size_t l = 0; l < scores->heads.size(); ++l) {
    const auto& h = scores->heads[l];
    std::printf("%5zu  %16.4f  %15s  %.4g..%.4g\n", l, scores->block_importance[l],
                scores->layer_loss.empty() ? "-" : std::to_string(scores->layer_loss[l]).c_str(),
                *std::min_element(h.begin(), h.end()), *std::max_element(h.begin(), h.end()));
  }
  return kExitOk;
}

int run_prune(const Args& a, Context& ctx) {
  const fs::path dir = a.positional()[0];
  const fs::path out = a.get("out");
  auto config = model::read_llama_config(dir);
  if (!config) return report_error(config.status());
  // Everything about the request is checked before the model is read.
  auto target = read_target(a);
  if (!target) return report_error(target.status(), true);
  if (target->empty()) return report_error(invalid_argument("give a target shape (--layers, --hidden, --intermediate, --heads ...)"), true);
  auto target_cfg = target_config(*config, *target);
  if (!target_cfg) return report_error(target_cfg.status(), true);
  auto steps = a.get_int("steps");
  if (!steps) return report_error(steps.status(), true);
  if (*steps < 1) return report_error(invalid_argument("--steps must be at least 1"), true);
  const std::string metric = a.get("depth-metric");
  if (metric != "loss" && metric != "block_importance")
    return report_error(invalid_argument("--depth-metric must be loss or block_importance"), true);
  auto device = read_runtime(a);
  if (!device) return report_error(device.status(), true);
  auto opts = read_importance_options(a);
  if (!opts) return report_error(opts.status(), true);
  std::optional<ImportanceScores> initial;
  if (a.has("importance") && !a.get("importance").empty()) {
    auto s = read_importance(a.get("importance"));
    if (!s) return report_error(s.status(), true);
    initial = std::move(*s);
  }
  std::unique_ptr<CalibrationSource> source;
  const bool has_data = (a.has("pack") && !a.get("pack").empty()) || !a.get_all("text").empty();
  if (has_data) {
    auto cal = read_calibration(a, dir);
    if (!cal) return report_error(cal.status(), true);
    auto s = open_calibration(*cal);
    if (!s) return report_error(s.status(), true);
    source = std::move(*s);
  }
  const auto& tc = *target_cfg;
  const bool needs_scores = tc.num_hidden_layers < config->num_hidden_layers || tc.hidden_size < config->hidden_size ||
                            tc.intermediate_size < config->intermediate_size ||
                            tc.num_attention_heads < config->num_attention_heads;
  if (needs_scores && !source && !(initial && *steps == 1))
    return report_error(invalid_argument(initial ? "--steps > 1 recomputes importance: give calibration data (--pack / --text)"
                                                 : "pruning needs importance: give --importance FILE or calibration data (--pack / --text)"),
                        true);
  auto loaded = model::load_model(dir, load_options(*device));
  if (!loaded) return report_error(loaded.status());
  if (initial) {
    auto st = check_importance_matches(*initial, model_fingerprint(loaded->model), loaded->config,
                                       "the importance file " + a.get("importance"));
    if (!st) return report_error(st, true);
  }
  PruneOptions po;
  po.steps = *steps;
  po.importance = *opts;
  po.plan.depth_by_loss = metric == "loss";
  po.plan.rescale_norms = a.flag("rescale-norms");
  po.initial_scores = initial ? &*initial : nullptr;
  std::unique_ptr<Progress> progress;
  if (!a.flag("quiet")) progress = make_terminal_progress("importance");
  auto result = prune_model(
      loaded->model, *target, source.get(), po, [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); },
      progress.get(), ctx.cancel);
  if (!result) return report_error(result.status());
  model::SaveModelOptions so;
  if (auto d = model::parse_dtype(config->torch_dtype)) so.dtype = *d;
  so.metadata["kanana.surgery"] = "pruned";
  if (auto st = model::save_model(out, result->model, so); !st) return report_error(st);
  if (auto st = copy_tokenizer_files(dir, out); !st) return report_error(st);
  Json record = Json::array();
  for (size_t i = 0; i < result->steps.size(); ++i) {
    const auto& s = result->steps[i];
    record.push_back({{"config", model::llama_config_to_json(s.config)},
                      {"removed_mass", {{"layers", s.removed.layers}, {"heads", s.removed.heads},
                                        {"neurons", s.removed.neurons}, {"channels", s.removed.channels}}},
                      {"plan", plan_to_json(result->plans[i])}});
    if (s.scored) {
      std::printf("step %zu: removed importance mass: layers %.1f%%, heads %.1f%%, neurons %.1f%%, channels %.1f%%\n", i + 1,
                  100 * s.removed.layers, 100 * s.removed.heads, 100 * s.removed.neurons, 100 * s.removed.channels);
    }
  }
  if (auto st = write_json_file(out / "prune.json", Json{{"source", fs::absolute(dir).string()}, {"steps", record}}); !st)
    return report_error(st);
  const ShapeStats before = shape_stats(*config), after = shape_stats(result->model->config());
  std::printf("wrote %s: %s, %s parameters (%.1f%% of %s)\n", out.c_str(), describe_shape(result->model->config()).c_str(),
              human(double(after.parameters)).c_str(), 100.0 * double(after.parameters) / double(before.parameters),
              human(double(before.parameters)).c_str());
  return kExitOk;
}

int run_pipeline_cmd(const Args& a, Context& ctx) {
  auto spec = read_pipeline_spec(a.get("spec"));
  if (!spec) return report_error(spec.status(), true);
  auto threads = a.get_int("threads");
  if (!threads) return report_error(threads.status(), true);
  PipelineOptions o;
  o.run_dir = a.get("run-dir");
  o.resume = a.flag("resume");
  o.threads = int(*threads);
  o.device = a.get("device");
  o.cancel = ctx.cancel;
  o.print_progress = !a.flag("quiet");
  auto r = run_pipeline(*spec, o);
  if (!r) return report_error(r.status());
  std::printf("%s: student %s, final checkpoint %s%s\n", r->finished ? "finished" : "paused", r->student.c_str(),
              r->final_checkpoint.c_str(), r->val_loss ? (", val_loss " + std::to_string(*r->val_loss)).c_str() : "");
  return kExitOk;
}

}  // namespace

KANANA_COMMAND(surgery_info) {
  return {.path = "surgery info",
          .summary = "shape, parameters and FLOPs per token of a model (and of a pruning target)",
          .options = concat({{.name = "context", .value_name = "N", .help = "context length for attention FLOPs",
                              .default_value = "0"}},
                            target_options()),
          .positional = {"MODEL", 1, 1},
          .run = run_surgery_info};
}

KANANA_COMMAND(surgery_upscale) {
  return {.path = "surgery upscale",
          .summary = "depth up-scaling (SOLAR): a deeper model from duplicated layer ranges",
          .description = "Default: two copies of the n layers, the last m dropped from the first and the first m\n"
                         "from the second (m = n/4, SOLAR's 8 of 32): 2(n - m) layers. --layer-map gives any other\n"
                         "scheme as source layer indices/ranges, e.g. 0-23,8-31. Continue with a pre-training recipe\n"
                         "(resources/recipes/train/dus-continued-pretrain.json).",
          .options = {{.name = "out", .value_name = "DIR", .help = "output folder", .required = true, .short_name = 'o'},
                      {.name = "drop", .value_name = "M", .help = "layers dropped from each copy (default n/4)"},
                      {.name = "layer-map", .value_name = "SPEC", .help = "explicit source layer per new layer"}},
          .positional = {"MODEL", 1, 1},
          .run = run_upscale};
}

KANANA_COMMAND(surgery_importance) {
  return {.path = "surgery importance",
          .summary = "score heads, neurons, channels and layers on a calibration set (forward passes only)",
          .description = "Minitron/Kanana activation importance: per-head attention output norms, SwiGLU act(gate)*up,\n"
                         "RMSNorm outputs summed over layers, block importance 1 - cos(x_in, x_out) and the loss with\n"
                         "each layer dropped. Kanana's best aggregation is the default (batch l2, sequence mean).",
          .options = concat({{.name = "out", .value_name = "FILE", .help = "importance JSON", .required = true, .short_name = 'o'}},
                            calibration_options(), runtime_options()),
          .positional = {"MODEL", 1, 1},
          .run = run_importance};
}

KANANA_COMMAND(surgery_prune) {
  return {.path = "surgery prune",
          .summary = "prune to a target shape (GQA-aligned heads, neurons, channels, layers; iterative)",
          .description = "The target is checked before anything is loaded: heads must split evenly over the kv groups,\n"
                         "no dimension may exceed the source's or drop to zero. Importance comes from --importance (made\n"
                         "on exactly this model) or is computed on calibration data (--pack / --text); --steps > 1\n"
                         "recomputes it before every step. Writes a Hugging Face folder and prune.json (kept indices).",
          .options = concat({{.name = "out", .value_name = "DIR", .help = "output folder", .required = true, .short_name = 'o'},
                             {.name = "importance", .value_name = "FILE", .help = "scores from `surgery importance` on this model"},
                             {.name = "steps", .value_name = "N", .help = "iterative schedule steps", .default_value = "1"},
                             {.name = "depth-metric", .value_name = "loss|block_importance",
                              .help = "layer ranking for depth pruning", .default_value = "loss"},
                             {.name = "rescale-norms", .help = "scale RMSNorm weights by sqrt(hidden/hidden') after channel pruning"}},
                            target_options(), calibration_options(), runtime_options()),
          .positional = {"MODEL", 1, 1},
          .run = run_prune};
}

KANANA_COMMAND(surgery_pipeline) {
  return {.path = "surgery pipeline",
          .summary = "prune a teacher, then distil the student from it (one job; see core/surgery/pipeline.h)",
          .options = {{.name = "spec", .value_name = "FILE", .help = "pipeline spec (JSON)", .required = true},
                      {.name = "run-dir", .value_name = "DIR", .help = "run folder", .required = true},
                      {.name = "resume", .help = "keep a finished pruning step and continue the distillation"},
                      {.name = "threads", .value_name = "N", .help = "torch intra-op threads", .default_value = "0"},
                      {.name = "device", .value_name = "DEV", .help = "cpu, cuda or cuda:N", .default_value = "cpu"},
                      {.name = "quiet", .help = "no per-step lines"}},
          .run = run_pipeline_cmd};
}

}  // namespace kanana::cli
