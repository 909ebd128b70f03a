// Generative tasks (lm-eval "generate_until"): few-shot prompt, greedy decoding until a stop
// sequence, answer filters, exact match (see runner.h).
#include <torch/torch.h>

#include "eval/answer_extract.h"
#include "eval/prompt.h"
#include "eval/runner.h"
#include "model/generate.h"
#include "model/llama.h"
#include "tokenizer/chat_template.h"

namespace kanana::eval {

Result<TaskResult> run_generation(EvalModel& model, const TaskSpec& spec_in, const RunOptions& o, Progress* progress,
                                  const CancelToken* cancel) {
  TaskSpec spec = spec_in;
  if (spec.type != TaskType::kGenerate) {
    return invalid_argument(spec.name + " is a multiple-choice task (" + spec.data.string() + "); use `kanana eval mc`");
  }
  if (o.num_fewshot >= 0) spec.num_fewshot = o.num_fewshot;
  if (o.chat) spec.chat = *o.chat;
  if (o.max_new_tokens > 0) spec.max_new_tokens = o.max_new_tokens;
  for (const auto& s : o.extra_stop) spec.stop.push_back(s);
  if (spec.filters.empty()) spec.filters = {AnswerFilter{}};
  for (const auto& f : spec.filters) KANANA_RETURN_IF_ERROR(validate_filter(f));

  KANANA_ASSIGN_OR_RETURN(TaskItems loaded, load_task_items(spec, spec.data, o.skip_bad_items, o.limit));
  std::vector<TaskItem> pool;
  bool pool_is_eval = false;
  if (spec.num_fewshot > 0) {
    const auto& path = spec.fewshot_data.empty() ? spec.data : spec.fewshot_data;
    KANANA_ASSIGN_OR_RETURN(TaskItems p, load_task_items(spec, path, /*skip_bad_items=*/true));
    pool = std::move(p.items);
    pool_is_eval = spec.fewshot_data.empty();
  }
  FewshotSampler sampler(&pool, pool_is_eval, o.seed);

  // Prompts.
  std::optional<tok::ChatTemplateKind> chat_kind;
  if (spec.chat) {
    auto k = tok::detect_chat_template(model.tokenizer());
    if (!k.is_ok()) return k.status().with_context("--chat");
    chat_kind = *k;
  }
  const int64_t max_length = o.max_length > 0 ? o.max_length : model.max_length();
  const int64_t max_prompt = std::max<int64_t>(1, max_length - spec.max_new_tokens);
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::string> prompt_texts;
  std::vector<std::vector<int64_t>> shot_lines;
  for (const auto& item : loaded.items) {
    const auto shots = sampler.sample(item, spec.num_fewshot);
    if (int(shots.size()) < spec.num_fewshot) {
      return invalid_argument(spec.data.string() + ": " + std::to_string(spec.num_fewshot) + "-shot needs more few-shot examples than the pool has");
    }
    std::vector<int64_t> lines;
    for (const auto* s : shots) lines.push_back(s->line);
    shot_lines.push_back(lines);
    std::vector<int32_t> ids;
    std::string text;
    if (chat_kind) {
      // Few-shot examples as earlier turns (lm-eval's fewshot_as_multiturn).
      std::vector<tok::ChatMessage> messages;
      if (!item.description.empty()) messages.push_back({"system", item.description});
      for (const auto* s : shots) {
        messages.push_back({"user", s->text});
        messages.push_back({"assistant", shot_target(spec, *s)});
      }
      messages.push_back({"user", item.text});
      KANANA_ASSIGN_OR_RETURN(text, tok::render_chat(*chat_kind, messages));
      tok::EncodeOptions eo;
      eo.add_bos = false;  // the template writes its own begin-of-text
      eo.parse_special = true;
      ids = model.tokenizer().encode(text, eo);
    } else {
      text = build_context(spec, item, shots);
      ids = model.encode(text, model.add_bos());
      if (ids.empty()) {
        if (auto p = model.prefix_token()) ids = {*p};
      }
    }
    if (int64_t(ids.size()) > max_prompt) ids.erase(ids.begin(), ids.end() - max_prompt);  // keep the end, like lm-eval
    prompts.push_back(std::move(ids));
    prompt_texts.push_back(std::move(text));
  }

  model::GenerationOptions go;
  go.greedy = true;
  go.max_new_tokens = spec.max_new_tokens;
  go.stop_strings = spec.stop;
  if (chat_kind) {
    for (int32_t id : tok::chat_stop_ids(*chat_kind, model.tokenizer())) go.stop_token_ids.push_back(id);
    for (const auto& s : tok::chat_stop_strings(*chat_kind)) go.stop_strings.push_back(s);
  }
  std::vector<std::string> responses(prompts.size());
  std::vector<std::string> stop_reasons(prompts.size());
  const size_t batch = size_t(std::max<int64_t>(1, o.batch_size));
  for (size_t begin = 0; begin < prompts.size(); begin += batch) {
    if (cancel && cancel->is_cancelled()) return cancelled();
    const size_t end = std::min(prompts.size(), begin + batch);
    std::vector<std::vector<int32_t>> part(prompts.begin() + int64_t(begin), prompts.begin() + int64_t(end));
    KANANA_ASSIGN_OR_RETURN(auto gen, model::generate(model.model(), part, go, model.shared_tokenizer(), {}, cancel));
    for (const auto& s : gen.sequences) {
      responses[begin + size_t(s.prompt_index)] = s.text;
      stop_reasons[begin + size_t(s.prompt_index)] = s.stop_reason;
    }
    if (progress) progress->update(int64_t(end), int64_t(prompts.size()));
  }

  TaskResult r;
  r.name = spec.name;
  r.output_type = "generate_until";
  r.num_fewshot = spec.num_fewshot;
  r.original = loaded.lines;
  r.effective = int64_t(loaded.items.size());
  r.skipped = loaded.skipped;
  r.config = spec.to_json();
  r.config["num_fewshot"] = spec.num_fewshot;
  r.config["fewshot_seed"] = o.seed;
  std::map<std::string, std::vector<double>> em;
  std::vector<std::string> categories, langs;
  for (size_t i = 0; i < loaded.items.size(); ++i) {
    const TaskItem& item = loaded.items[i];
    const std::string gold = gold_answer(item.target);
    Json extracted = Json::object(), scored = Json::object();
    for (const auto& f : spec.filters) {
      auto ans = extract_answer(f, responses[i]);
      const double hit = answers_match(ans, gold) ? 1.0 : 0.0;
      em["exact_match," + f.name].push_back(hit);
      extracted[f.name] = ans ? Json(*ans) : Json("[invalid]");
      scored["exact_match," + f.name] = hit;
    }
    categories.push_back(item.category);
    langs.push_back(item.lang);
    Json sample = {{"doc_id", item.doc_id}, {"line", item.line},       {"prompt", prompt_texts[i]},
                   {"fewshot_lines", shot_lines[i]}, {"response", responses[i]}, {"stop_reason", stop_reasons[i]},
                   {"target", item.target},  {"gold", gold},             {"extracted", extracted}};
    for (const auto& [k, v] : scored.items()) sample[k] = v;
    if (!item.category.empty()) sample["category"] = item.category;
    r.samples.push_back(std::move(sample));
  }
  std::vector<std::string> keys;
  for (auto& [key, values] : em) {
    keys.push_back(key);
    add_mean_metric(&r, key, values, true);
  }
  bool any_category = false;
  for (const auto& c : categories) any_category = any_category || !c.empty();
  if (any_category) r.breakdown["category"] = breakdown_by(r, categories, keys);
  r.breakdown["lang"] = breakdown_by(r, langs, keys);
  return r;
}

}  // namespace kanana::eval
