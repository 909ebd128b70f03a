// `kanana model init` (a fresh model from a preset, saved in Hugging Face layout),
// `kanana model info` (shape, parameter counts and tensors of a checkpoint folder) and
// `kanana model export-gguf` (a checkpoint folder as one GGUF file for llama.cpp) and
// `kanana model quantize` (a checkpoint converted once for the CPU engine, loaded without work).
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "base/files.h"
#include "cli/registry.h"
#include "gguf/llama_export.h"
#include "infer/llama_engine.h"
#include "infer/widen.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/llama.h"
#include "model/presets.h"
#include "safetensors/safetensors.h"
#include "tokenizer/tokenizer.h"

namespace kanana::cli {
namespace fs = std::filesystem;

namespace {

std::string human_count(int64_t n) {
  char buf[64];
  if (n >= 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  else if (n >= 1'000'000) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else if (n >= 1'000) std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

std::string preset_list() {
  std::string s;
  for (const auto& p : model::model_presets()) s += "  " + p.name + ": " + p.description + "\n";
  return s;
}


int run_init(const Args& a, Context&) {
  auto config = model::preset_config(a.get("preset"));
  if (!config.is_ok()) return report_error(config.status(), /*usage=*/true);
  auto dtype = model::parse_dtype(a.get("dtype"));
  if (!dtype.is_ok()) return report_error(dtype.status(), true);
  auto seed = a.get_int("seed");
  if (!seed.is_ok()) return report_error(seed.status(), true);
  const fs::path out = a.get("out");
  if (Status s = check_output_target(out, a.flag("overwrite"), "--out"); !s.is_ok()) return report_error(s);
  if (a.has("tokenizer") && !a.get("tokenizer").empty()) {
    auto tok = tok::load_tokenizer(a.get("tokenizer"));
    if (!tok.is_ok()) return report_error(tok.status());
    // The embedding and head follow the tokenizer, so ids and special tokens agree.
    config->vocab_size = (*tok)->vocab_size();
    config->bos_token_id.reset();
    config->pad_token_id.reset();
    config->eos_token_ids.clear();
    if (auto b = (*tok)->bos_id()) config->bos_token_id = *b;
    if (auto e = (*tok)->eos_id()) config->eos_token_ids = {*e};
    if (auto p = (*tok)->pad_id()) config->pad_token_id = *p;
    std::fprintf(stderr, "vocab_size %lld from the tokenizer\n", static_cast<long long>(config->vocab_size));
  }
  config->torch_dtype = model::dtype_name(*dtype);
  auto m = model::init_model(*config, static_cast<uint64_t>(*seed));
  if (!m.is_ok()) return report_error(m.status());
  model::SaveModelOptions so;
  so.dtype = *dtype;
  so.metadata["preset"] = a.get("preset");
  // Written beside and renamed into place: a failed init leaves an existing --out untouched.
  auto staging = AtomicDirectory::create(out);
  if (!staging.is_ok()) return report_error(staging.status());
  if (auto st = model::save_model((*staging)->path(), *m, so); !st.is_ok()) return report_error(st);
  if (a.has("tokenizer") && !a.get("tokenizer").empty()) {
    if (auto st = tok::copy_tokenizer_files(a.get("tokenizer"), (*staging)->path()); !st.is_ok()) return report_error(st);
  }
  if (auto st = (*staging)->commit(); !st.is_ok()) return report_error(st);
  std::printf("wrote %s: preset %s, %s parameters, %s\n", out.c_str(), a.get("preset").c_str(),
              human_count(model::parameter_count(*config)).c_str(), model::dtype_name(*dtype).c_str());
  return kExitOk;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

int run_info(const Args& a, Context&) {
  const fs::path dir = a.positional()[0];
  auto config = model::read_llama_config(dir);
  if (!config.is_ok()) return report_error(config.status());
  const auto& c = *config;
  std::printf("model:        %s (%s)%s\n", dir.c_str(), c.model_type.c_str(), c.bidirectional ? ", bidirectional" : "");
  std::printf("shape:        hidden %lld, intermediate %lld, layers %lld, heads %lld q / %lld kv, head_dim %lld\n",
              (long long)c.hidden_size, (long long)c.intermediate_size, (long long)c.num_hidden_layers,
              (long long)c.num_attention_heads, (long long)c.num_key_value_heads, (long long)c.head_dim);
  std::printf("vocab:        %lld%s, max positions %lld\n", (long long)c.vocab_size,
              c.tie_word_embeddings ? " (tied embeddings)" : "", (long long)c.max_position_embeddings);
  std::string rope = "theta " + std::to_string(c.rope_theta);
  if (c.rope_scaling) rope += ", scaling " + c.rope_scaling->rope_type + " x" + std::to_string(c.rope_scaling->factor);
  std::printf("rope:         %s\n", rope.c_str());
  std::printf("parameters:   %lld total (%s), %lld non-embedding (%s)\n", (long long)model::parameter_count(c),
              human_count(model::parameter_count(c)).c_str(), (long long)model::non_embedding_parameter_count(c),
              human_count(model::non_embedding_parameter_count(c)).c_str());
  std::printf("flops/token:  %.3g (forward, short context)\n", model::forward_flops_per_token(c, 0));
  std::printf("config dtype: %s\n", c.torch_dtype.c_str());
  auto reader = st::CheckpointReader::open(dir);
  if (!reader.is_ok()) return report_error(reader.status());
  std::map<std::string, std::pair<int64_t, uint64_t>> by_dtype;  // dtype -> (tensors, bytes)
  int64_t stored = 0;
  for (const auto& name : (*reader)->names()) {
    auto info = (*reader)->info(name);
    if (!info.is_ok()) return report_error(info.status());
    auto& e = by_dtype[st::dtype_name(info->dtype)];
    e.first += 1;
    e.second += info->nbytes();
    stored += info->numel();
  }
  std::printf("files:        %zu safetensors file(s)\n", (*reader)->files().size());
  for (const auto& [dt, e] : by_dtype) {
    std::printf("tensors:      %lld %s, %.2f MB\n", (long long)e.first, dt.c_str(), e.second / 1e6);
  }
  std::printf("stored:       %lld parameters\n", (long long)stored);
  // A `model quantize` folder holds the engine's own layout: the engine's loader checks every
  // tensor of it (sizes, padding, finite scales and weights).
  if (auto it = (*reader)->metadata().find(st::kEngineWeightsKey); it != (*reader)->metadata().end()) {
    std::printf("engine:       %s weights saved by `kanana model quantize` (CPU engine only)\n", it->second.c_str());
    infer::EngineOptions eo;
    auto format = infer::parse_weight_format(it->second);
    if (!format.is_ok()) return report_error(format.status().with_context(dir.string()));
    eo.weights = *format;
    eo.context = 1;
    auto engine = infer::LlamaEngine::load(dir, eo);
    if (!engine.is_ok()) return report_error(engine.status());
    return kExitOk;
  }
  // Names and shapes checked against config.json, then every value for NaN/Inf, streaming
  // from the mapping (a model that cannot load is a failure, not a printout with exit 0).
  int problems = 0;
  for (const auto& [name, shape] : model::expected_tensors(c)) {
    if (!(*reader)->has(name)) {
      std::fprintf(stderr, "kanana: error: %s: tensor '%s' is missing\n", dir.c_str(), name.c_str());
      ++problems;
      continue;
    }
    auto info = (*reader)->info(name);
    if (info->shape != shape) {
      std::fprintf(stderr, "kanana: error: %s: tensor '%s' has shape %s, config.json implies %s\n", dir.c_str(),
                   name.c_str(), shape_text(info->shape).c_str(), shape_text(shape).c_str());
      ++problems;
    }
  }
  for (const auto& name : (*reader)->names()) {
    auto info = (*reader)->info(name);
    if (!info.is_ok() || !infer::widens_to_f32(info->dtype)) continue;
    auto bytes = (*reader)->bytes(name);
    if (!bytes.is_ok()) return report_error(bytes.status());
    const size_t esize = st::dtype_size(info->dtype);
    const int64_t n = info->numel();
    std::vector<float> chunk(size_t{1} << 16);
    for (int64_t at = 0; at < n; at += int64_t(chunk.size())) {
      const int64_t m = std::min<int64_t>(n - at, int64_t(chunk.size()));
      infer::widen_to_f32(bytes->data() + size_t(at) * esize, info->dtype, m, chunk.data());
      const auto bad = std::find_if(chunk.begin(), chunk.begin() + m, [](float v) { return !std::isfinite(v); });
      if (bad != chunk.begin() + m) {
        std::fprintf(stderr, "kanana: error: %s: tensor '%s' has a NaN or infinite value (element %lld)\n",
                     dir.c_str(), name.c_str(), static_cast<long long>(at + (bad - chunk.begin())));
        ++problems;
        break;
      }
    }
    (*reader)->release_pages(name);
  }
  if (problems > 0) {
    std::fprintf(stderr, "kanana: error: %s: %d problem(s); the model cannot be used as it is\n", dir.c_str(), problems);
    return kExitFailure;
  }
  return kExitOk;
}

int run_export_gguf(const Args& a, Context& ctx) {
  const fs::path dir = a.positional()[0];
  auto type = gguf::parse_export_type(a.get("type"));
  if (!type.is_ok()) return report_error(type.status(), /*usage=*/true);
  gguf::LlamaExportOptions o;
  o.type = *type;
  o.name = a.get("name");
  o.cancel = ctx.cancel;
  auto progress = make_terminal_progress("export-gguf");
  o.on_tensor = [&](int64_t done, int64_t total, const std::string& name) { progress->update(done, total, name); };
  const fs::path out = a.get("out");
  auto summary = gguf::export_llama_gguf(dir, out, o);
  if (!summary.is_ok()) return report_error(summary.status());
  progress->finish();
  std::printf("wrote %s: %s, %lld tensors, %.2f MB; tokenizer %s\n", out.c_str(), gguf::ggml_type_name(*type),
              static_cast<long long>(summary->tensors), summary->file_bytes / 1e6, summary->vocab.c_str());
  return kExitOk;
}

int run_quantize(const Args& a, Context&) {
  const fs::path dir = a.positional()[0];
  auto format = infer::parse_weight_format(a.get("weights"));
  if (!format.is_ok()) return report_error(format.status().with_context("--weights"), /*usage=*/true);
  auto threads = a.get_int("threads");
  if (!threads.is_ok()) return report_error(threads.status(), /*usage=*/true);
  infer::EngineOptions eo;
  eo.weights = *format;
  eo.threads = static_cast<int>(*threads);
  eo.context = 1;  // converting only: no KV cache
  auto engine = infer::LlamaEngine::load(dir, eo);
  if (!engine.is_ok()) return report_error(engine.status());
  const fs::path out = a.get("out");
  if (Status st = (*engine)->save(out, a.flag("overwrite")); !st.is_ok()) return report_error(st);
  const auto& stats = (*engine)->load_stats();
  std::printf("wrote %s: %s weights, %.1f MB (the checkpoint had %.1f MB), converted in %.2f s; "
              "load it with --weights %s\n",
              out.c_str(), infer::weight_format_name(*format), stats.weight_bytes / 1e6, stats.checkpoint_bytes / 1e6,
              stats.seconds, infer::weight_format_name(*format));
  return kExitOk;
}

}  // namespace

KANANA_COMMAND(model_init) {
  return {.path = "model init",
          .summary = "create a randomly initialised model from a preset (Hugging Face layout)",
          .description = "Presets:\n" + preset_list(),
          .options = {{.name = "preset", .value_name = "NAME", .help = "model preset", .required = true},
                      {.name = "out", .value_name = "DIR", .help = "output folder", .required = true, .short_name = 'o'},
                      {.name = "dtype", .value_name = "f32|bf16", .help = "stored dtype", .default_value = "f32"},
                      {.name = "seed", .value_name = "N", .help = "initialisation seed", .default_value = "0"},
                      {.name = "overwrite", .help = "replace an existing non-empty --out folder"},
                      {.name = "tokenizer", .value_name = "FILE",
                       .help = "tokenizer.json / .model (or a folder) to copy in; sets vocab_size and special ids"}},
          .run = run_init};
}

KANANA_COMMAND(model_info) {
  return {.path = "model info",
          .summary = "print the shape, parameter counts and tensors of a model folder",
          .positional = {"DIR", 1, 1},
          .run = run_info};
}

KANANA_COMMAND(model_export_gguf) {
  return {.path = "model export-gguf",
          .summary = "write a Llama checkpoint folder as one GGUF file for llama.cpp, Ollama, LM Studio",
          .description =
              "Converts config.json, the safetensors weights and the tokenizer (tokenizer.json byte-level BPE or a "
              "SentencePiece tokenizer.model, with tokenizer_config.json's special tokens and chat template) "
              "the way llama.cpp's convert_hf_to_gguf.py does. Matrices are stored as --type; norms stay F32. "
              "Unsupported models are refused before anything is written; the file appears only when complete.",
          .options = {{.name = "out", .value_name = "FILE.gguf", .help = "output file", .required = true, .short_name = 'o'},
                      {.name = "type", .value_name = "f32|f16|q8_0|q4_0", .help = "storage type of the matrices",
                       .default_value = "f32"},
                      {.name = "name", .value_name = "TEXT", .help = "general.name (default: the folder's name)"}},
          .positional = {"DIR", 1, 1},
          .run = run_export_gguf};
}

KANANA_COMMAND(model_quantize) {
  return {.path = "model quantize",
          .summary = "convert a Llama checkpoint once into a CPU-engine weight format (int8, q4), saved to load without work",
          .description =
              "Loads DIR into the CPU engine in --weights (as `kanana generate --weights` does) and writes the converted "
              "weights with config.json and the tokenizer files to --out. `kanana generate`/`chat` load such a folder "
              "in its stored format by copying, with no quantizing at start-up. The folder appears only when complete.",
          .options = {{.name = "out", .value_name = "DIR", .help = "output folder", .required = true, .short_name = 'o'},
                      {.name = "weights", .value_name = "f32|bf16|int8|q4", .help = "weight format", .default_value = "q4"},
                      {.name = "threads", .value_name = "N", .help = "conversion threads (0 = all cores)", .default_value = "0"},
                      {.name = "overwrite", .help = "replace an existing --out folder (only once the new one is complete)"}},
          .positional = {"DIR", 1, 1},
          .run = run_quantize};
}

}  // namespace kanana::cli
