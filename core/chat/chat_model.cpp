// Chat with a checkpoint (see chat_model.h).
#include "chat/chat_model.h"

#include <torch/torch.h>

#include <algorithm>

#include "infer/llama_engine.h"
#include "infer/text_generation.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/generate.h"
#include "tokenizer/tokenizer.h"
#include "tools/tool_prompt.h"

namespace kanana::chat {
namespace fs = std::filesystem;

const OptionTable<ChatSampling>& chat_sampling_fields() {
  static const OptionTable<ChatSampling> fields = concat_options(
      model::sampling_fields_for<ChatSampling>(),
      {{.key = "stop", .member = &ChatSampling::stop, .help = "extra stop strings", .value_name = "TEXT"}});
  return fields;
}

Json ChatSampling::to_json() const {
  Json j = options_to_json(*this, chat_sampling_fields());
  if (stop.empty()) j.erase("stop");
  return j;
}

Result<ChatSampling> ChatSampling::from_json(const Json& j, const std::string& origin) {
  ChatSampling s;
  if (!j.is_object()) return invalid_argument(origin + ": sampling must be an object");
  KANANA_RETURN_IF_ERROR(read_options(JsonReader(j, origin, "sampling"), chat_sampling_fields(), s));
  return s;
}

double ChatReply::tokens_per_second() const {
  return decode_seconds > 0 && generated_tokens > 1 ? (generated_tokens - 1) / decode_seconds : 0.0;
}

struct ChatModel::Impl {
  fs::path dir;
  model::LlamaConfig config;
  model::LoadedModel loaded;                   // LibTorch, or
  std::unique_ptr<infer::LlamaEngine> engine;  // the CPU engine
  std::string dtype;                           // LibTorch's compute dtype
  std::shared_ptr<const tok::Tokenizer> tokenizer;
  tok::ChatTemplateKind kind = tok::ChatTemplateKind::kChatMl;
  bool chat_tokens = false;
  std::vector<std::string> warnings;

  // Encode like SFT does (posttrain/chat_data.cpp): cut at the assistant spans, specials parsed.
  std::vector<int32_t> encode(const tok::RenderedChat& r) const {
    tok::EncodeOptions eo;
    eo.add_bos = false;
    eo.parse_special = true;
    std::vector<int32_t> ids;
    size_t at = 0;
    auto add = [&](size_t b, size_t e) {
      if (e <= b) return;
      auto part = tokenizer->encode(std::string_view(r.text).substr(b, e - b), eo);
      ids.insert(ids.end(), part.begin(), part.end());
    };
    for (const auto& [b, e] : r.assistant_spans) {
      add(at, b);
      add(b, e);
      at = e;
    }
    add(at, r.text.size());
    return ids;
  }
};

ChatModel::ChatModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChatModel::~ChatModel() = default;

Result<std::unique_ptr<ChatModel>> ChatModel::load(const fs::path& dir, const ChatModelOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  std::error_code ec;
  if (!fs::exists(dir, ec)) KANANA_RETURN_IF_ERROR(tok::model_tokenizer_path(dir).status());  // says "missing"
  if (!fs::is_regular_file(dir / "config.json", ec))
    return not_found(dir.string() + " is not a model folder (no config.json)");
  if (options.threads > 0) torch::set_num_threads(options.threads);
  fs::path tok_path = options.tokenizer;
  if (tok_path.empty()) {
    KANANA_ASSIGN_OR_RETURN(tok_path, tok::model_tokenizer_path(dir));
  }
  KANANA_ASSIGN_OR_RETURN(impl->tokenizer, tok::load_tokenizer(tok_path));
  KANANA_ASSIGN_OR_RETURN(impl->engine, infer::load_engine_if_asked(dir, options.weights, options.threads));
  if (impl->engine) {
    impl->config = impl->engine->config();
  } else {
    model::LoadOptions lo;
    impl->dtype = options.dtype.empty() ? "f32" : options.dtype;
    KANANA_ASSIGN_OR_RETURN(lo.dtype, model::parse_dtype(impl->dtype));
    try {
      KANANA_ASSIGN_OR_RETURN(impl->loaded, model::load_model(dir, lo));
    } catch (const c10::Error& e) {
      return internal_error(dir.string() + ": loading the model failed: " + e.what_without_backtrace());
    }
    impl->loaded.model->eval();
    impl->config = impl->loaded.config;
    impl->warnings = impl->loaded.warnings;
  }
  if (impl->tokenizer->vocab_size() > impl->config.vocab_size)
    return invalid_argument(dir.string() + ": the tokenizer has " + std::to_string(impl->tokenizer->vocab_size()) +
                            " tokens but the model only " + std::to_string(impl->config.vocab_size));
  if (!options.chat_template.empty()) {
    KANANA_ASSIGN_OR_RETURN(impl->kind, tok::parse_chat_template_name(options.chat_template));
    impl->chat_tokens = tok::detect_chat_template(*impl->tokenizer).is_ok();
  } else if (auto k = tok::detect_chat_template(tok_path); k.is_ok()) {
    impl->kind = *k;
    impl->chat_tokens = tok::detect_chat_template(*impl->tokenizer).is_ok();
  } else {
    impl->kind = tok::ChatTemplateKind::kChatMl;
    impl->chat_tokens = false;
  }
  if (!impl->chat_tokens)
    impl->warnings.push_back("the tokenizer has no " + std::string(tok::chat_template_name(impl->kind)) +
                             " chat tokens: the chat markers are encoded as plain text (a base model, not a chat model)");
  return std::unique_ptr<ChatModel>(new ChatModel(std::move(impl)));
}

const fs::path& ChatModel::dir() const { return impl_->dir; }
tok::ChatTemplateKind ChatModel::template_kind() const { return impl_->kind; }
bool ChatModel::has_chat_tokens() const { return impl_->chat_tokens; }
int64_t ChatModel::context_length() const {
  return impl_->engine ? impl_->engine->context() : impl_->config.max_position_embeddings;
}
int64_t ChatModel::parameter_count() const { return model::parameter_count(impl_->config); }

std::string ChatModel::backend() const {
  if (impl_->engine)
    return "CPU engine " + std::string(infer::weight_format_name(impl_->engine->options().weights)) + " (" +
           std::to_string(impl_->engine->threads()) + " threads)";
  return "LibTorch " + impl_->dtype;
}

uint64_t ChatModel::weight_bytes() const {
  if (impl_->engine) return impl_->engine->load_stats().weight_bytes;
  uint64_t bytes = 0;
  for (const auto& p : impl_->loaded.model->parameters()) bytes += uint64_t(p.numel()) * p.element_size();
  return bytes;
}
const std::vector<std::string>& ChatModel::warnings() const { return impl_->warnings; }

std::string ChatModel::piece(int32_t id) const { return impl_->tokenizer->id_to_piece(id); }

Result<RenderedPrompt> ChatModel::render(const std::vector<tok::ChatMessage>& messages, const Json& tools,
                                         int64_t reserve) const {
  if (messages.empty()) return invalid_argument("the conversation is empty");
  std::vector<tok::ChatMessage> msgs = messages;
  RenderedPrompt out;
  const int64_t budget = context_length() - std::max<int64_t>(reserve, 1);
  while (true) {
    KANANA_ASSIGN_OR_RETURN(tok::RenderedChat r, tools::render_chat_with_tools(impl_->kind, msgs, tools));
    std::vector<int32_t> ids = impl_->encode(r);
    if (static_cast<int64_t>(ids.size()) <= budget) {
      out.text = std::move(r.text);
      out.ids = std::move(ids);
      return out;
    }
    // Drop the oldest exchange after the system message: a user turn and what answered it.
    const size_t first = !msgs.empty() && msgs[0].role == "system" ? 1 : 0;
    size_t last_user = msgs.size();
    for (size_t i = msgs.size(); i-- > first;)
      if (msgs[i].role == "user") {
        last_user = i;
        break;
      }
    if (first >= last_user)
      return out_of_range("the conversation is " + std::to_string(ids.size()) + " tokens; with " +
                          std::to_string(reserve) + " new tokens it does not fit the model's context of " +
                          std::to_string(context_length()) + " even without older turns");
    size_t end = first + 1;
    while (end < last_user && msgs[end].role != "user") ++end;
    out.dropped_messages += static_cast<int>(end - first);
    msgs.erase(msgs.begin() + static_cast<std::ptrdiff_t>(first), msgs.begin() + static_cast<std::ptrdiff_t>(end));
  }
}

Result<ChatReply> ChatModel::reply(const std::vector<tok::ChatMessage>& messages, const Json& tools,
                                   const ChatSampling& sampling, const TextCallback& on_text, const CancelToken* cancel) {
  KANANA_RETURN_IF_ERROR(model::check_sampling(sampling));
  const int64_t reserve = std::min(sampling.max_new_tokens, context_length() / 2);
  KANANA_ASSIGN_OR_RETURN(RenderedPrompt prompt, render(messages, tools, reserve));
  const int64_t max_new = std::min<int64_t>(sampling.max_new_tokens, context_length() - int64_t(prompt.ids.size()));
  std::vector<int32_t> stop_ids = tok::chat_stop_ids(impl_->kind, *impl_->tokenizer);
  std::vector<std::string> stop_strings = tok::chat_stop_strings(impl_->kind);
  if (impl_->kind == tok::ChatTemplateKind::kChatMl && !impl_->chat_tokens) stop_strings.push_back("<|im_start|>");
  for (const auto& s : sampling.stop) stop_strings.push_back(s);
  ChatReply r;
  r.dropped_messages = prompt.dropped_messages;

  if (impl_->engine) {
    infer::TextRequest request;
    request.sampling = sampling;
    request.sampling.max_new_tokens = max_new;
    request.stop_ids = std::move(stop_ids);
    request.stop_strings = std::move(stop_strings);
    KANANA_ASSIGN_OR_RETURN(infer::TextResult t, infer::generate_text(*impl_->engine, prompt.ids, request,
                                                                      impl_->tokenizer, on_text, cancel));
    r.text = std::move(t.text);
    r.ids = std::move(t.ids);
    r.stop_reason = t.stop_reason;
    r.prompt_tokens = t.prompt_tokens;
    r.generated_tokens = t.generated_tokens;
    r.prefill_seconds = t.prefill_seconds;
    r.decode_seconds = t.decode_seconds;
    return r;
  }

  model::GenerationOptions go(sampling);
  go.max_new_tokens = max_new;
  go.stop_token_ids = std::move(stop_ids);
  go.stop_strings = std::move(stop_strings);
  model::TokenCallback cb;
  if (on_text)
    cb = [&](const model::GeneratedToken& t) { return t.text.empty() || on_text(t.text); };
  Result<model::GenerationResult> result = internal_error("not run");
  try {
    torch::NoGradGuard no_grad;
    result = model::generate(impl_->loaded.model, {prompt.ids}, go, impl_->tokenizer, cb, cancel);
  } catch (const c10::Error& e) {
    return internal_error("generation failed: " + std::string(e.what_without_backtrace()));
  }
  if (!result.is_ok()) return result.status();
  if (!result->sequences.empty()) {
    r.text = result->sequences[0].text;
    r.ids = result->sequences[0].tokens;
    r.stop_reason = result->sequences[0].stop_reason;
  }
  r.prompt_tokens = result->prompt_tokens;
  r.generated_tokens = result->generated_tokens;
  r.prefill_seconds = result->prefill_seconds;
  r.decode_seconds = result->decode_seconds;
  return r;
}

tools::GenerateFunction ChatModel::tool_generator(ChatSampling sampling, TextCallback on_text, const CancelToken* cancel,
                                                  ChatReply* last_reply) {
  return [this, sampling = std::move(sampling), on_text = std::move(on_text), cancel, last_reply](
             const std::vector<tok::ChatMessage>& messages, const Json& tools) -> Result<std::string> {
    KANANA_ASSIGN_OR_RETURN(ChatReply r, reply(messages, tools, sampling, on_text, cancel));
    if (r.stop_reason == "cancelled") return cancelled("generation was cancelled");
    std::string text = r.text;
    if (last_reply) *last_reply = std::move(r);
    return text;
  };
}

std::vector<fs::path> find_model_folders(const fs::path& dir, int max_depth) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  const auto is_model = [](const fs::path& d) {
    std::error_code e;
    if (!fs::is_regular_file(d / "config.json", e)) return false;
    for (const auto& entry : fs::directory_iterator(d, e))
      if (entry.path().extension() == ".safetensors" && entry.path().filename() != "optimizer.safetensors") return true;
    return false;
  };
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it.depth() >= max_depth) it.disable_recursion_pending();
    if (!it->is_directory(ec)) continue;
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      it.disable_recursion_pending();
      continue;
    }
    if (is_model(it->path())) out.push_back(it->path());
  }
  if (is_model(dir)) out.push_back(dir);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kanana::chat
