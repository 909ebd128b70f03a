// `kanana generate`: load a model folder (weights + tokenizer) and stream a completion of a
// prompt, or one chat turn with --chat, to stdout. Timing goes to stderr.
#include <torch/torch.h>

#include <cstdio>

#include "cli/registry.h"
#include "cli/sampling_args.h"
#include "model/checkpoint.h"
#include "model/generate.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kanana::cli {

namespace {

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

  std::vector<int32_t> prompt;
  if (a.flag("chat")) {
    auto kind = tok::detect_chat_template(model_dir);
    if (!kind.is_ok()) return report_error(kind.status());
    std::vector<tok::ChatMessage> messages;
    if (a.has("system") && !a.get("system").empty()) messages.push_back({"system", a.get("system")});
    messages.push_back({"user", a.get("prompt")});
    auto text = tok::render_chat(*kind, messages);
    if (!text.is_ok()) return report_error(text.status());
    tok::EncodeOptions eo;
    eo.add_bos = false;  // the template writes its own begin-of-text
    eo.parse_special = true;
    prompt = (*tokenizer)->encode(*text, eo);
    for (int32_t id : tok::chat_stop_ids(*kind, **tokenizer)) go.stop_token_ids.push_back(id);
    for (const auto& s : tok::chat_stop_strings(*kind)) go.stop_strings.push_back(s);
  } else {
    tok::EncodeOptions eo;
    eo.add_bos = loaded->config.bos_token_id.has_value();
    eo.parse_special = false;
    prompt = (*tokenizer)->encode(a.get("prompt"), eo);
  }
  if (prompt.empty()) return report_error(invalid_argument("--prompt encodes to no tokens"), true);

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
                             {.name = "dtype", .value_name = "f32|bf16", .help = "compute dtype (default f32)"},
                             threads_option()}),
          .run = run_generate};
}

}  // namespace kanana::cli
