// `kanana generate`: load a model folder (weights + tokenizer) and stream a completion of a
// prompt, or one chat turn with --chat, to stdout. Timing goes to stderr.
// Two engines: LibTorch (core/model, --dtype) by default, or with --weights FORMAT the
// Torch-free CPU engine (core/infer) with every weight in FORMAT (f32, bf16, int8, q4).
#include <torch/torch.h>

#include <cstdio>

#include "base/process_memory.h"
#include "cli/registry.h"
#include "cli/sampling_args.h"
#include "infer/llama_engine.h"
#include "infer/text_generation.h"
#include "model/checkpoint.h"
#include "model/generate.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kanana::cli {

namespace {

double mib(uint64_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

// The prompt as ids (chat template or plain text) and the chat's stop ids / strings.
struct PromptIds {
  std::vector<int32_t> ids;
  std::vector<int32_t> stop_ids;
  std::vector<std::string> stop_strings;
};

Result<PromptIds> encode_prompt(const Args& a, const std::string& model_dir, const tok::Tokenizer& tokenizer,
                                bool add_bos) {
  PromptIds p;
  if (a.flag("chat")) {
    KANANA_ASSIGN_OR_RETURN(auto kind, tok::detect_chat_template(model_dir));
    std::vector<tok::ChatMessage> messages;
    if (a.has("system") && !a.get("system").empty()) messages.push_back({"system", a.get("system")});
    messages.push_back({"user", a.get("prompt")});
    KANANA_ASSIGN_OR_RETURN(auto text, tok::render_chat(kind, messages));
    tok::EncodeOptions eo;
    eo.add_bos = false;  // the template writes its own begin-of-text
    eo.parse_special = true;
    p.ids = tokenizer.encode(text, eo);
    p.stop_ids = tok::chat_stop_ids(kind, tokenizer);
    p.stop_strings = tok::chat_stop_strings(kind);
  } else {
    tok::EncodeOptions eo;
    eo.add_bos = add_bos;
    eo.parse_special = false;
    p.ids = tokenizer.encode(a.get("prompt"), eo);
  }
  if (p.ids.empty()) return invalid_argument("--prompt encodes to no tokens");
  return p;
}

// --weights: the Torch-free engine. One sequence; stops at config.json's eos ids, the chat's
// stop ids/strings and --stop strings. The decode loop allocates nothing per token in the
// engine and sampler (the text pieces are the tokenizer's).
int run_native(const Args& a, Context& ctx, const model::SamplingOptions& sa, const std::string& format_name,
               int threads) {
  const std::string model_dir = a.get("model");
  auto format = infer::parse_weight_format(format_name);
  if (!format.is_ok()) return report_error(format.status().with_context("--weights"), true);
  if (a.has("num-samples") && a.get("num-samples") != "1")
    return report_error(invalid_argument("--num-samples > 1 needs the LibTorch engine (leave out --weights)"), true);
  auto tokenizer = tok::load_tokenizer(model_dir);
  if (!tokenizer.is_ok()) return report_error(tokenizer.status());
  auto config_or = model::read_llama_config(model_dir);
  if (!config_or.is_ok()) return report_error(config_or.status());
  auto prompt = encode_prompt(a, model_dir, **tokenizer, config_or->bos_token_id.has_value());
  if (!prompt.is_ok()) return report_error(prompt.status(), true);
  const int64_t prompt_len = int64_t(prompt->ids.size());
  if (prompt_len >= config_or->max_position_embeddings)
    return report_error(invalid_argument("the prompt (" + std::to_string(prompt_len) + " tokens) fills the model's " +
                                         std::to_string(config_or->max_position_embeddings) + " positions"),
                        true);
  // The KV cache holds exactly this prompt and its continuation.
  const int64_t max_new = std::min<int64_t>(sa.max_new_tokens, config_or->max_position_embeddings - prompt_len);
  infer::EngineOptions eo;
  eo.weights = *format;
  eo.threads = threads;
  eo.context = prompt_len + max_new;
  auto engine_or = infer::LlamaEngine::load(model_dir, eo);
  if (!engine_or.is_ok()) return report_error(engine_or.status());
  infer::LlamaEngine& engine = **engine_or;

  infer::TextRequest request;
  request.sampling = sa;
  request.stop_ids = prompt->stop_ids;
  request.stop_strings = a.get_all("stop");
  request.stop_strings.insert(request.stop_strings.end(), prompt->stop_strings.begin(), prompt->stop_strings.end());
  auto result = infer::generate_text(engine, prompt->ids, request, *tokenizer,
                                     [](const std::string& text) {
                                       std::fwrite(text.data(), 1, text.size(), stdout);
                                       std::fflush(stdout);
                                       return true;
                                     },
                                     ctx.cancel);
  if (!result.is_ok()) return report_error(result.status());
  std::printf("\n");
  std::fflush(stdout);
  const auto& st = engine.load_stats();
  std::fprintf(stderr,
               "engine %s, %d threads: load %.2fs; prompt %lld tokens in %.2fs (%.1f tok/s); generated %lld tokens "
               "in %.2fs (%.1f tok/s); stop: %s\n",
               infer::weight_format_name(*format), engine.threads(), st.seconds,
               static_cast<long long>(result->prompt_tokens), result->prefill_seconds,
               result->prefill_seconds > 0 ? double(result->prompt_tokens) / result->prefill_seconds : 0.0,
               static_cast<long long>(result->generated_tokens), result->decode_seconds,
               result->decode_tokens_per_second(), result->stop_reason.c_str());
  const auto mem = process_memory();
  std::fprintf(stderr,
               "memory: resident %.0f MiB (peak %.0f MiB); weights %.0f MiB, KV cache %.0f MiB (%lld positions), "
               "checkpoint files %.0f MiB\n",
               mib(mem.resident_bytes), mib(mem.peak_resident_bytes), mib(st.weight_bytes), mib(st.kv_cache_bytes),
               static_cast<long long>(engine.context()), mib(st.checkpoint_bytes));
  return result->stop_reason == "cancelled" ? kExitCancelled : kExitOk;
}

// `kanana generate` samples like `kanana chat` (model/sampling_options.h), 128 tokens at most.
model::GenerationOptions generate_defaults() {
  model::GenerationOptions go;
  go.temperature = model::kChatTemperature;
  go.top_p = model::kChatTopP;
  return go;
}

int run_generate(const Args& a, Context& ctx) {
  const std::string model_dir = a.get("model");
  model::GenerationOptions go = generate_defaults();
  if (Status st = parse_sampling(a, go); !st.is_ok()) return report_error(st, /*usage=*/true);
  auto samples = a.get_int("num-samples");
  if (!samples.is_ok()) return report_error(samples.status(), /*usage=*/true);
  go.num_samples = *samples;
  go.stop_strings = a.get_all("stop");

  auto threads = parse_threads(a);
  if (!threads.is_ok()) return report_error(threads.status(), true);
  auto weights = parse_weights(a);
  if (!weights.is_ok()) return report_error(weights.status(), /*usage=*/true);
  if (!weights->empty()) return run_native(a, ctx, go, *weights, *threads);
  // A folder saved by `kanana model quantize` runs on the engine in its stored format.
  if (auto stored = infer::stored_weight_format(model_dir); stored.is_ok() && stored->has_value())
    return run_native(a, ctx, go, infer::weight_format_name(**stored), *threads);
  torch::set_num_threads(*threads);

  model::LoadOptions lo;
  if (a.has("dtype") && !a.get("dtype").empty()) {
    auto dt = model::parse_dtype(a.get("dtype"));
    if (!dt.is_ok()) return report_error(dt.status(), true);
    lo.dtype = *dt;
  } else {
    lo.dtype = torch::kFloat32;  // CPU matmuls are fastest in fp32 with LibTorch 1.13
  }
  auto tokenizer = tok::load_tokenizer(model_dir);
  if (!tokenizer.is_ok()) return report_error(tokenizer.status());
  auto loaded = model::load_model(model_dir, lo);
  if (!loaded.is_ok()) return report_error(loaded.status());

  auto encoded = encode_prompt(a, model_dir, **tokenizer, loaded->config.bos_token_id.has_value());
  if (!encoded.is_ok()) return report_error(encoded.status(), true);
  const std::vector<int32_t>& prompt = encoded->ids;
  for (int32_t id : encoded->stop_ids) go.stop_token_ids.push_back(id);
  for (const auto& s : encoded->stop_strings) go.stop_strings.push_back(s);

  int64_t current_row = -1;
  auto result = model::generate(
      loaded->model, {prompt}, go, *tokenizer,
      [&](const model::GeneratedToken& t) {
        if (go.num_samples > 1 && t.row != current_row) {
          if (t.text.empty()) return true;
          std::printf("%s[sample %lld] ", current_row >= 0 ? "\n" : "", static_cast<long long>(t.sample_index));
          current_row = t.row;
        }
        std::fwrite(t.text.data(), 1, t.text.size(), stdout);
        std::fflush(stdout);
        return true;
      },
      ctx.cancel);
  if (!result.is_ok()) return report_error(result.status());
  std::printf("\n");
  std::fflush(stdout);  // the statistics go to stderr: keep them after the text on a terminal
  const auto& r = *result;
  std::fprintf(stderr, "prompt %lld tokens in %.2fs, generated %lld tokens in %.2fs (%.1f tok/s), stop: %s\n",
               static_cast<long long>(r.prompt_tokens), r.prefill_seconds, static_cast<long long>(r.generated_tokens),
               r.decode_seconds, r.decode_seconds > 0 ? (r.generated_tokens - 1) / r.decode_seconds : 0.0,
               r.sequences.empty() ? "" : r.sequences[0].stop_reason.c_str());
  if (!r.sequences.empty() && r.sequences[0].stop_reason == "cancelled") return kExitCancelled;
  return kExitOk;
}

}  // namespace

KANANA_COMMAND(generate) {
  return {.path = "generate",
          .summary = "stream a completion (or a chat reply with --chat) from a model folder",
          .options = concat(concat({{.name = "model", .value_name = "DIR", .help = "model folder with tokenizer", .required = true, .short_name = 'm'},
                                    {.name = "prompt", .value_name = "TEXT", .help = "prompt text (the user message with --chat)", .required = true, .short_name = 'p'}},
                                   sampling_options(generate_defaults())),
                            {{.name = "num-samples", .value_name = "N", .help = "completions in one batch", .default_value = "1"},
                             {.name = "stop", .value_name = "TEXT", .help = "stop string (repeatable)", .repeated = true},
                             {.name = "chat", .help = "wrap the prompt in the model's chat template"},
                             {.name = "system", .value_name = "TEXT", .help = "system message with --chat"},
                             {.name = "dtype", .value_name = "f32|bf16", .help = "LibTorch engine: compute dtype (default f32)"},
                             weights_option(),
                             threads_option()}),
          .run = run_generate};
}

}  // namespace kanana::cli
