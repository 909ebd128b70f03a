// Sampling candidates with core/model generate() or the CPU engine (infer::generate_text) and
// storing them (see candidate_generation.h).
#include "prefs/candidate_generation.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <map>

#include "base/strings.h"
#include "data/hashing.h"
#include "infer/llama_engine.h"
#include "infer/text_generation.h"
#include "model/checkpoint.h"
#include "model/generate.h"
#include "prefs/pref_store.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kanana::prefs {

namespace fs = std::filesystem;

const OptionTable<CandidateSampling>& candidate_sampling_fields() {
  using C = CandidateSampling;
  static const OptionTable<C> fields = concat_options(
      model::sampling_fields_for<C>(),
      {{.key = "num_candidates", .member = &C::num_candidates, .help = "candidates per prompt and model", .min = 1},
       {.key = "chat_template", .member = &C::chat_template, .help = "prompt rendering",
        .choices = {"auto", "raw", "llama3", "chatml"}},
       {.key = "dtype", .member = &C::dtype, .help = "LibTorch's compute dtype", .choices = {"float32", "bfloat16"}},
       {.key = "weights", .member = &C::weights,
        .help = "run on the Torch-free CPU engine with every weight in this format (empty: LibTorch)",
        .choices = {"", "f32", "bf16", "int8", "q4"}}});
  return fields;
}

Json CandidateSampling::to_json() const {
  // The settings that shape a sample: not the count, the base seed (each candidate stores its
  // own) or the template (the caller adds the one used).
  Json j = options_to_json(*this, candidate_sampling_fields());
  for (const char* key : {"num_candidates", "seed", "chat_template"}) j.erase(key);
  if (!greedy) j.erase("greedy");
  if (weights.empty()) j.erase("weights");
  return j;
}

int64_t candidate_seed(uint64_t base_seed, int64_t prompt_id, size_t model, int64_t sample) {
  uint64_t h = data::hash_combine(base_seed, static_cast<uint64_t>(prompt_id));
  h = data::hash_combine(h, static_cast<uint64_t>(model));
  h = data::hash_combine(h, static_cast<uint64_t>(sample));
  return static_cast<int64_t>(h & 0x7FFFFFFFull);  // 31 bits: readable, and any CLI or tool takes it
}

namespace {

struct LoadedSource {
  fs::path dir;
  model::LlamaConfig config;
  int64_t context = 0;                         // positions a prompt and its sample may take
  model::LoadedModel model;                    // LibTorch, or
  std::unique_ptr<infer::LlamaEngine> engine;  // the CPU engine
  std::shared_ptr<const tok::Tokenizer> tokenizer;
  std::optional<tok::ChatTemplateKind> chat;  // unset: raw
};

Result<LoadedSource> load_source(const fs::path& dir, const CandidateSampling& o) {
  LoadedSource s;
  s.dir = dir;
  KANANA_ASSIGN_OR_RETURN(s.tokenizer, tok::load_tokenizer(dir));
  KANANA_ASSIGN_OR_RETURN(s.engine, infer::load_engine_if_asked(dir, o.weights, o.threads));
  if (s.engine) {
    s.config = s.engine->config();
    s.context = s.engine->context();
  } else {
    model::LoadOptions lo;
    KANANA_ASSIGN_OR_RETURN(lo.dtype, model::parse_dtype(o.dtype));
    KANANA_ASSIGN_OR_RETURN(s.model, model::load_model(dir, lo));
    s.model.model->eval();
    s.config = s.model.config;
    s.context = s.config.max_position_embeddings;
  }
  if (o.chat_template == "auto") {
    auto kind = tok::detect_chat_template(dir);
    if (kind.is_ok()) s.chat = *kind;
  } else if (o.chat_template != "raw") {
    KANANA_ASSIGN_OR_RETURN(s.chat, tok::parse_chat_template_name(o.chat_template));
  }
  return s;
}

Result<std::vector<int32_t>> render_prompt(const LoadedSource& s, const Json& messages) {
  tok::EncodeOptions eo;
  if (s.chat) {
    KANANA_ASSIGN_OR_RETURN(auto parsed, tok::parse_chat_messages(messages, "prompt"));
    KANANA_ASSIGN_OR_RETURN(std::string text, tok::render_chat(*s.chat, parsed));
    eo.add_bos = false;  // the template writes its own begin-of-text
    eo.parse_special = true;
    return s.tokenizer->encode(text, eo);
  }
  std::string text;
  for (const Json& m : messages) {
    if (!m.is_object() || !m.contains("content") || !m["content"].is_string()) continue;
    if (!text.empty()) text += "\n\n";
    text += m["content"].get<std::string>();
  }
  eo.add_bos = s.config.bos_token_id.has_value();
  eo.parse_special = false;
  return s.tokenizer->encode(text, eo);
}

}  // namespace

Result<SamplingSummary> sample_candidates(const std::vector<fs::path>& models, const std::vector<SampleRequest>& requests,
                                          const CandidateSampling& options, const CandidateSink& sink,
                                          const CancelToken* cancel, Progress* progress) {
  if (models.empty()) return invalid_argument("no model folder to sample candidates from");
  KANANA_RETURN_IF_ERROR(check_options(options, candidate_sampling_fields(), "sampling"));
  SamplingSummary summary;
  try {
    if (options.threads > 0) torch::set_num_threads(options.threads);
    torch::NoGradGuard no_grad;
    std::vector<LoadedSource> sources;
    for (const fs::path& dir : models) {
      if (cancel && cancel->is_cancelled()) {
        summary.cancelled = true;
        return summary;
      }
      auto s = load_source(dir, options);
      if (!s.is_ok()) return s.status().with_context("loading " + dir.string() + " for candidates");
      sources.push_back(std::move(s).value());
    }
    int64_t total = 0;
    for (const SampleRequest& r : requests) total += std::max<int64_t>(0, r.count);
    int64_t done = 0;
    for (const SampleRequest& r : requests) {
      if (r.model >= sources.size())
        return invalid_argument("request for prompt " + std::to_string(r.prompt_id) + " names model " +
                                std::to_string(r.model) + " of " + std::to_string(sources.size()));
      LoadedSource& src = sources[r.model];
      auto prompt = render_prompt(src, r.messages);
      if (!prompt.is_ok()) return prompt.status().with_context("prompt " + std::to_string(r.prompt_id));
      if (prompt->empty()) return invalid_argument("prompt " + std::to_string(r.prompt_id) + " encodes to no tokens");
      model::GenerationOptions go(options);
      go.num_samples = 1;
      if (src.chat) {
        for (int32_t id : tok::chat_stop_ids(*src.chat, *src.tokenizer)) go.stop_token_ids.push_back(id);
        for (const auto& s : tok::chat_stop_strings(*src.chat)) go.stop_strings.push_back(s);
      }
      // Leave room for the prompt inside the model's context.
      const int64_t room = src.context - static_cast<int64_t>(prompt->size());
      if (room < 1)
        return invalid_argument("prompt " + std::to_string(r.prompt_id) + " has " + std::to_string(prompt->size()) +
                                " tokens, more than the model's context of " + std::to_string(src.context));
      go.max_new_tokens = std::min(go.max_new_tokens, room);
      Json sampling = options.to_json();
      sampling["chat_template"] = src.chat ? tok::chat_template_name(*src.chat) : "raw";
      for (int64_t k = 0; k < r.count; ++k) {
        if (cancel && cancel->is_cancelled()) {
          summary.cancelled = true;
          return summary;
        }
        const int64_t sample = r.first_sample + k;
        const int64_t seed = candidate_seed(options.seed, r.prompt_id, r.model, sample);
        go.seed = static_cast<uint64_t>(seed);
        const auto start = std::chrono::steady_clock::now();
        model::GeneratedSequence seq;
        if (src.engine) {
          infer::TextRequest request;
          request.sampling = go;
          request.stop_ids = go.stop_token_ids;
          request.stop_strings = go.stop_strings;
          auto result = infer::generate_text(*src.engine, *prompt, request, src.tokenizer, {}, cancel);
          if (!result.is_ok()) return result.status().with_context("sampling prompt " + std::to_string(r.prompt_id));
          seq.text = std::move(result->text);
          seq.tokens = std::move(result->ids);
          seq.stop_reason = result->stop_reason;
        } else {
          auto result = model::generate(src.model.model, {*prompt}, go, src.tokenizer, {}, cancel);
          if (!result.is_ok()) return result.status().with_context("sampling prompt " + std::to_string(r.prompt_id));
          seq = std::move(result->sequences.at(0));
        }
        if (seq.stop_reason == "cancelled") {
          summary.cancelled = true;
          return summary;
        }
        SampledCandidate c;
        c.prompt_id = r.prompt_id;
        c.model = r.model;
        c.sample = sample;
        c.text = sanitize_utf8(seq.text);  // a sample can end inside a UTF-8 sequence
        c.seed = seed;
        c.sampling = sampling;
        c.stop_reason = seq.stop_reason;
        c.tokens = static_cast<int64_t>(seq.tokens.size());
        c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        summary.tokens += c.tokens;
        summary.seconds += c.seconds;
        ++summary.candidates;
        if (sink) KANANA_RETURN_IF_ERROR(sink(c));
        ++done;
        if (progress) progress->update(done, total, "prompt " + std::to_string(r.prompt_id));
      }
    }
  } catch (const c10::Error& e) {
    return internal_error(std::string("LibTorch error while sampling candidates: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return internal_error(std::string("error while sampling candidates: ") + e.what());
  }
  if (progress) progress->finish(std::to_string(summary.candidates) + " candidates");
  return summary;
}

Result<SamplingSummary> fill_candidates(store::Workspace& workspace, const FillRequest& request,
                                        const StoredCallback& on_stored, const CancelToken* cancel, Progress* progress) {
  if (request.models.empty() || request.models.size() > 2)
    return invalid_argument("candidates come from one or two models (got " + std::to_string(request.models.size()) + ")");
  if (request.sampling.num_candidates < 1) return invalid_argument("the number of candidates per prompt must be at least 1");
  PrefStore store(workspace);
  std::vector<int64_t> checkpoints;
  for (const fs::path& dir : request.models) {
    KANANA_ASSIGN_OR_RETURN(const int64_t id, store.find_or_add_checkpoint(dir));
    checkpoints.push_back(id);
  }
  KANANA_ASSIGN_OR_RETURN(auto prompts, store.list_prompts(request.prompt_set_id));
  std::map<int64_t, const Prompt*> by_id;
  for (const Prompt& p : prompts) by_id[p.row.id] = &p;
  std::vector<int64_t> wanted = request.prompt_ids;
  if (wanted.empty())
    for (const Prompt& p : prompts) wanted.push_back(p.row.id);
  std::vector<SampleRequest> requests;
  for (int64_t id : wanted) {
    auto it = by_id.find(id);
    if (it == by_id.end())
      return not_found("prompt " + std::to_string(id) + " is not in prompt set " + std::to_string(request.prompt_set_id));
    KANANA_ASSIGN_OR_RETURN(auto existing, store.list_candidates(id));
    for (size_t m = 0; m < checkpoints.size(); ++m) {
      int64_t have = 0;
      for (const Candidate& c : existing) have += c.row.checkpoint_id == checkpoints[m] ? 1 : 0;
      if (have >= request.sampling.num_candidates) continue;
      requests.push_back({id, it->second->messages, m, have, request.sampling.num_candidates - have});
    }
  }
  // Interleave the models per prompt: requests are already prompt-major.
  auto sink = [&](const SampledCandidate& c) -> Status {
    store::CandidateRecord row;
    row.prompt_id = c.prompt_id;
    row.checkpoint_id = checkpoints[c.model];
    row.text = c.text;
    row.sampling_json = c.sampling.dump();
    row.seed = c.seed;
    Json meta = {{"stop_reason", c.stop_reason}, {"tokens", c.tokens}, {"sample", c.sample},
                 {"seconds", std::round(c.seconds * 1000.0) / 1000.0}};
    KANANA_ASSIGN_OR_RETURN(const int64_t id, store.add_candidate(row, meta));
    if (on_stored) on_stored(c.prompt_id, id);
    return Status::ok();
  };
  return sample_candidates(request.models, requests, request.sampling, sink, cancel, progress);
}

}  // namespace kanana::prefs
