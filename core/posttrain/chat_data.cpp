// Chat and preference JSONL, their tokenization with the chat template, SFT packing.
#include "posttrain/chat_data.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "base/files.h"
#include "base/jsonl.h"
#include "base/strings.h"

namespace kanana::posttrain {
namespace {

namespace fs = std::filesystem;

// One message list under `field` ("messages", "chosen", ...): errors name file:line and the
// field path, e.g. "data.jsonl:7: field 'chosen[1].role' ...".
Result<std::vector<tok::ChatMessage>> parse_messages(const Json& value, const std::string& origin,
                                                     const std::string& field) {
  if (!value.is_array()) return invalid_argument(origin + ": field '" + field + "' must be an array of messages");
  std::vector<tok::ChatMessage> out;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string path = field + "[" + std::to_string(i) + "]";
    JsonReader r(value[i], origin, path);
    if (!value[i].is_object()) return invalid_argument(origin + ": field '" + path + "' must be an object");
    tok::ChatMessage m;
    KANANA_ASSIGN_OR_RETURN(m.role, r.get_string("role"));
    if (m.role != "system" && m.role != "user" && m.role != "assistant" && m.role != "tool")
      return r.field_error("role", "is '" + m.role + "', not one of system, user, assistant, tool");
    const Json& content = value[i].contains("content") ? value[i]["content"] : Json();
    if (content.is_string()) {
      m.content = content.get<std::string>();
      if (!is_valid_utf8(m.content)) return r.field_error("content", "is not valid UTF-8");
    } else if (!content.is_null()) {
      return r.field_error("content", "must be a string or null");
    }
    if (r.has("name")) {
      KANANA_ASSIGN_OR_RETURN(m.name, r.get_string("name"));
    }
    if (r.has("tool_call_id")) {
      KANANA_ASSIGN_OR_RETURN(m.tool_call_id, r.get_string("tool_call_id"));
    }
    if (value[i].contains("tool_calls") && !value[i]["tool_calls"].is_null()) {
      if (m.role != "assistant") return r.field_error("tool_calls", "is only allowed on assistant messages");
      if (!value[i]["tool_calls"].is_array()) return r.field_error("tool_calls", "must be an array");
      m.tool_calls = value[i]["tool_calls"];
    }
    out.push_back(std::move(m));
  }
  return out;
}

bool same_message(const tok::ChatMessage& a, const tok::ChatMessage& b) {
  return a.role == b.role && a.content == b.content && a.name == b.name && a.tool_call_id == b.tool_call_id &&
         a.tool_calls == b.tool_calls;
}

Status check_reply(const std::vector<tok::ChatMessage>& reply, const std::string& origin, const std::string& field) {
  if (reply.empty()) return invalid_argument(origin + ": field '" + field + "' has no reply messages");
  if (reply.front().role != "assistant")
    return invalid_argument(origin + ": field '" + field + "' must start with an assistant message (found '" +
                            reply.front().role + "')");
  return Status::ok();
}

template <typename T, typename Parse>
Result<JsonlData<T>> read_jsonl(const fs::path& file, const ReadOptions& options, Parse parse) {
  JsonlData<T> out;
  KANANA_ASSIGN_OR_RETURN(
      JsonlReport report,
      kanana::read_jsonl(
          file,
          [&](JsonlLine& line) -> Status {
            KANANA_ASSIGN_OR_RETURN(T item, parse(line.value, line.origin));
            out.items.push_back(std::move(item));
            return Status::ok();
          },
          {.skip_bad_lines = !options.strict, .objects_only = true}));
  out.lines = report.lines;
  out.problems = report.messages();
  return out;
}

// Encode `text` cut at the byte ranges of `spans`, marking the tokens inside them.
void encode_segments(const tok::Tokenizer& tokenizer, const std::string& text,
                     const std::vector<std::pair<size_t, size_t>>& spans, TokenizedChat* out) {
  tok::EncodeOptions eo;
  eo.add_bos = false;
  eo.add_eos = false;
  eo.parse_special = true;
  auto add = [&](size_t begin, size_t end, bool assistant) {
    if (end <= begin) return;
    auto ids = tokenizer.encode(std::string_view(text).substr(begin, end - begin), eo);
    out->ids.insert(out->ids.end(), ids.begin(), ids.end());
    out->assistant.insert(out->assistant.end(), ids.size(), assistant ? 1 : 0);
  };
  size_t at = 0;
  for (const auto& [b, e] : spans) {
    add(at, b, false);
    const size_t first = out->ids.size();
    add(b, e, true);
    out->turns.emplace_back(first, out->ids.size());
    at = e;
  }
  add(at, text.size(), false);
}

uint64_t splitmix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

// ---- reading -------------------------------------------------------------------------

Result<ChatExample> parse_chat_example(const Json& line, const std::string& origin) {
  if (!line.contains("messages")) return invalid_argument(origin + ": field 'messages' is required");
  ChatExample ex;
  ex.origin = origin;
  KANANA_ASSIGN_OR_RETURN(ex.messages, parse_messages(line["messages"], origin, "messages"));
  if (ex.messages.empty()) return invalid_argument(origin + ": field 'messages' is empty");
  if (std::none_of(ex.messages.begin(), ex.messages.end(), [](const auto& m) { return m.role == "assistant"; }))
    return invalid_argument(origin + ": field 'messages' has no assistant turn (nothing to train on)");
  return ex;
}

Result<PreferencePair> parse_preference_pair(const Json& line, const std::string& origin) {
  for (const char* key : {"chosen", "rejected"})
    if (!line.contains(key)) return invalid_argument(origin + ": field '" + std::string(key) + "' is required");
  const Json& c = line["chosen"];
  const Json& r = line["rejected"];
  const Json* p = line.contains("prompt") && !line["prompt"].is_null() ? &line["prompt"] : nullptr;
  for (const auto& [key, v] : {std::pair<const char*, const Json*>{"chosen", &c}, {"rejected", &r}, {"prompt", p}}) {
    if (v && !v->is_string() && !v->is_array())
      return invalid_argument(origin + ": field '" + std::string(key) + "' must be a string or a list of messages");
    if (v && v->is_string() && !is_valid_utf8(v->get_ref<const std::string&>()))
      return invalid_argument(origin + ": field '" + std::string(key) + "' is not valid UTF-8");
  }
  PreferencePair pair;
  pair.origin = origin;
  if (c.is_string() && r.is_string() && (!p || p->is_string())) {
    if (!p) return invalid_argument(origin + ": field 'prompt' is required when 'chosen' and 'rejected' are strings");
    pair.conversational = false;
    pair.prompt_text = p->get<std::string>();
    pair.chosen_text = c.get<std::string>();
    pair.rejected_text = r.get<std::string>();
    if (pair.chosen_text.empty() || pair.rejected_text.empty())
      return invalid_argument(origin + ": field '" + std::string(pair.chosen_text.empty() ? "chosen" : "rejected") +
                              "' is empty");
    // The same pair as messages, for chat-template formats.
    pair.prompt = {tok::ChatMessage{"user", pair.prompt_text, {}, {}, {}}};
    pair.chosen = {tok::ChatMessage{"assistant", pair.chosen_text, {}, {}, {}}};
    pair.rejected = {tok::ChatMessage{"assistant", pair.rejected_text, {}, {}, {}}};
    return pair;
  }
  auto reply = [&](const Json& v, const char* key) -> Result<std::vector<tok::ChatMessage>> {
    if (v.is_string()) return std::vector<tok::ChatMessage>{tok::ChatMessage{"assistant", v.get<std::string>(), {}, {}, {}}};
    return parse_messages(v, origin, key);
  };
  KANANA_ASSIGN_OR_RETURN(pair.chosen, reply(c, "chosen"));
  KANANA_ASSIGN_OR_RETURN(pair.rejected, reply(r, "rejected"));
  if (p) {
    if (p->is_string()) {
      pair.prompt = {tok::ChatMessage{"user", p->get<std::string>(), {}, {}, {}}};
    } else {
      KANANA_ASSIGN_OR_RETURN(pair.prompt, parse_messages(*p, origin, "prompt"));
    }
    if (pair.prompt.empty()) return invalid_argument(origin + ": field 'prompt' is empty");
  } else {
    // Implicit prompt: the messages both conversations share.
    size_t k = 0;
    while (k < pair.chosen.size() && k < pair.rejected.size() && same_message(pair.chosen[k], pair.rejected[k])) ++k;
    if (k == 0)
      return invalid_argument(origin + ": 'chosen' and 'rejected' share no prompt messages (give field 'prompt')");
    pair.prompt.assign(pair.chosen.begin(), pair.chosen.begin() + int64_t(k));
    pair.chosen.erase(pair.chosen.begin(), pair.chosen.begin() + int64_t(k));
    pair.rejected.erase(pair.rejected.begin(), pair.rejected.begin() + int64_t(k));
  }
  KANANA_RETURN_IF_ERROR(check_reply(pair.chosen, origin, "chosen"));
  KANANA_RETURN_IF_ERROR(check_reply(pair.rejected, origin, "rejected"));
  return pair;
}

Result<JsonlData<ChatExample>> read_chat_jsonl(const fs::path& file, const ReadOptions& options) {
  return read_jsonl<ChatExample>(file, options, parse_chat_example);
}

Result<JsonlData<PreferencePair>> read_preference_jsonl(const fs::path& file, const ReadOptions& options) {
  return read_jsonl<PreferencePair>(file, options, parse_preference_pair);
}

Result<JsonlData<ChatExample>> read_prompt_jsonl(const fs::path& file, const ReadOptions& options) {
  return read_jsonl<ChatExample>(file, options, [](const Json& line, const std::string& origin) -> Result<ChatExample> {
    ChatExample ex;
    ex.origin = origin;
    if (line.contains("chosen") && line.contains("rejected")) {
      KANANA_ASSIGN_OR_RETURN(PreferencePair pair, parse_preference_pair(line, origin));
      ex.messages = std::move(pair.prompt);
    } else if (line.contains("prompt")) {
      const Json& p = line["prompt"];
      if (p.is_string()) {
        if (p.get_ref<const std::string&>().empty()) return invalid_argument(origin + ": field 'prompt' is empty");
        ex.messages = {tok::ChatMessage{"user", p.get<std::string>(), {}, {}, {}}};
      } else {
        KANANA_ASSIGN_OR_RETURN(ex.messages, parse_messages(p, origin, "prompt"));
      }
    } else if (line.contains("messages")) {
      KANANA_ASSIGN_OR_RETURN(ex.messages, parse_messages(line["messages"], origin, "messages"));
      while (!ex.messages.empty() && ex.messages.back().role == "assistant") ex.messages.pop_back();
    } else {
      return invalid_argument(origin + ": field 'prompt' (or 'messages') is required");
    }
    if (ex.messages.empty()) return invalid_argument(origin + ": the prompt has no messages");
    return ex;
  });
}

// ---- tokenization --------------------------------------------------------------------

Result<TokenizedChat> tokenize_chat(const tok::Tokenizer& tokenizer, tok::ChatTemplateKind kind,
                                    const std::vector<tok::ChatMessage>& messages) {
  tok::ChatRenderOptions ro;
  ro.add_generation_prompt = false;
  ro.add_bos = true;
  KANANA_ASSIGN_OR_RETURN(tok::RenderedChat rendered, tok::render_with_spans(kind, messages, ro));
  TokenizedChat out;
  encode_segments(tokenizer, rendered.text, rendered.assistant_spans, &out);
  return out;
}

Result<std::vector<int32_t>> tokenize_prompt(const tok::Tokenizer& tokenizer, const TextFormat& format,
                                             const std::vector<tok::ChatMessage>& prompt) {
  if (format.raw) {
    if (prompt.size() != 1) return invalid_argument("the raw format needs a prompt of one text (got " +
                                                    std::to_string(prompt.size()) + " messages)");
    tok::EncodeOptions eo;
    eo.add_bos = true;
    return tokenizer.encode(prompt.front().content, eo);
  }
  tok::ChatRenderOptions ro;
  ro.add_generation_prompt = true;
  ro.add_bos = true;
  KANANA_ASSIGN_OR_RETURN(tok::RenderedChat rendered, tok::render_with_spans(format.chat, prompt, ro));
  TokenizedChat out;
  encode_segments(tokenizer, rendered.text, rendered.assistant_spans, &out);
  return std::move(out.ids);
}

Result<PromptReply> tokenize_prompt_reply_text(const tok::Tokenizer& tokenizer, const std::string& prompt,
                                               const std::string& reply) {
  PromptReply out;
  tok::EncodeOptions eo;
  eo.add_bos = true;
  out.prompt = tokenizer.encode(prompt, eo);
  eo.add_bos = false;
  eo.add_eos = true;
  out.reply = tokenizer.encode(reply, eo);
  if (out.reply.empty()) return invalid_argument("the reply encodes to no tokens");
  out.reply_mask.assign(out.reply.size(), 1);
  return out;
}

Result<PromptReply> tokenize_prompt_reply(const tok::Tokenizer& tokenizer, const TextFormat& format,
                                          const std::vector<tok::ChatMessage>& prompt,
                                          const std::vector<tok::ChatMessage>& reply) {
  if (format.raw) {
    if (prompt.size() != 1 || reply.size() != 1)
      return invalid_argument("the raw format needs one prompt text and one reply text");
    return tokenize_prompt_reply_text(tokenizer, prompt.front().content, reply.front().content);
  }
  if (reply.empty() || reply.front().role != "assistant") return invalid_argument("a reply must start with an assistant turn");
  std::vector<tok::ChatMessage> all = prompt;
  all.insert(all.end(), reply.begin(), reply.end());
  KANANA_ASSIGN_OR_RETURN(TokenizedChat chat, tokenize_chat(tokenizer, format.chat, all));
  const size_t before = size_t(std::count_if(prompt.begin(), prompt.end(), [](const auto& m) { return m.role == "assistant"; }));
  if (chat.turns.size() <= before) return internal_error("the rendered reply has no assistant span");
  const size_t begin = chat.turns[before].first;
  const size_t end = chat.turns.back().second;
  PromptReply out;
  out.prompt.assign(chat.ids.begin(), chat.ids.begin() + int64_t(begin));
  out.reply.assign(chat.ids.begin() + int64_t(begin), chat.ids.begin() + int64_t(end));
  out.reply_mask.assign(chat.assistant.begin() + int64_t(begin), chat.assistant.begin() + int64_t(end));
  if (out.reply.empty()) return invalid_argument("the reply encodes to no tokens");
  return out;
}

Result<TokenizedPair> tokenize_pair(const tok::Tokenizer& tokenizer, const TextFormat& format, const PreferencePair& pair,
                                    int64_t max_length, int64_t max_prompt_length) {
  PromptReply c, r;
  if (format.raw) {
    if (pair.conversational) return invalid_argument(pair.origin + ": a conversational pair needs a chat template, not the raw format");
    KANANA_ASSIGN_OR_RETURN(c, tokenize_prompt_reply_text(tokenizer, pair.prompt_text, pair.chosen_text));
    KANANA_ASSIGN_OR_RETURN(r, tokenize_prompt_reply_text(tokenizer, pair.prompt_text, pair.rejected_text));
  } else {
    auto cr = tokenize_prompt_reply(tokenizer, format, pair.prompt, pair.chosen);
    if (!cr) return cr.status().with_context(pair.origin + ": field 'chosen'");
    auto rr = tokenize_prompt_reply(tokenizer, format, pair.prompt, pair.rejected);
    if (!rr) return rr.status().with_context(pair.origin + ": field 'rejected'");
    c = std::move(cr).value();
    r = std::move(rr).value();
  }
  if (c.prompt != r.prompt) return internal_error(pair.origin + ": the prompt encodes differently before the two replies");
  TokenizedPair out;
  out.prompt = std::move(c.prompt);
  const int64_t longest = int64_t(std::max(c.reply.size(), r.reply.size()));
  if (int64_t(out.prompt.size()) + longest > max_length) {
    out.truncated = true;
    if (int64_t(out.prompt.size()) > max_prompt_length)
      out.prompt.erase(out.prompt.begin(), out.prompt.end() - max_prompt_length);  // keep the end
    const int64_t room = max_length - int64_t(out.prompt.size());
    if (room < 1) return invalid_argument(pair.origin + ": the prompt leaves no room for the reply (max_length " +
                                          std::to_string(max_length) + ")");
    for (PromptReply* p : {&c, &r}) {
      if (int64_t(p->reply.size()) > room) {
        p->reply.resize(size_t(room));
        p->reply_mask.resize(size_t(room));
      }
    }
  }
  c.prompt.clear();
  r.prompt.clear();
  out.chosen = std::move(c);
  out.rejected = std::move(r);
  return out;
}

// ---- SFT rows ------------------------------------------------------------------------

int64_t SftSequence::targets() const { return std::count_if(labels.begin(), labels.end(), [](int32_t l) { return l != -100; }); }

SftSequence make_sft_sequence(const TokenizedChat& chat, int64_t seq_len, bool* truncated) {
  SftSequence s;
  const int64_t n = int64_t(chat.ids.size());
  const int64_t positions = std::min<int64_t>(std::max<int64_t>(n - 1, 0), seq_len);
  if (truncated) *truncated = n - 1 > seq_len;
  s.input.assign(chat.ids.begin(), chat.ids.begin() + positions);
  s.labels.resize(size_t(positions));
  for (int64_t j = 0; j < positions; ++j) s.labels[size_t(j)] = chat.assistant[size_t(j + 1)] ? chat.ids[size_t(j + 1)] : -100;
  return s;
}

SftRows pack_sft_sequences(const std::vector<SftSequence>& sequences, int64_t seq_len, bool packing, int32_t pad_id) {
  // Bins (rows) as lists of sequence indices.
  std::vector<std::vector<size_t>> bins;
  std::vector<int64_t> used;
  if (packing) {
    std::vector<size_t> order(sequences.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return sequences[a].input.size() > sequences[b].input.size(); });
    std::multimap<int64_t, size_t> room;  // free positions -> bin; best fit = smallest room that fits
    for (size_t i : order) {
      const int64_t len = int64_t(sequences[i].input.size());
      if (len == 0) continue;
      auto it = room.lower_bound(len);
      size_t bin;
      if (it == room.end()) {
        bin = bins.size();
        bins.emplace_back();
        used.push_back(0);
      } else {
        bin = it->second;
        room.erase(it);
      }
      bins[bin].push_back(i);
      used[bin] += len;
      if (seq_len - used[bin] > 0) room.emplace(seq_len - used[bin], bin);
    }
  } else {
    for (size_t i = 0; i < sequences.size(); ++i)
      if (!sequences[i].input.empty()) bins.push_back({i});
  }
  SftRows out;
  out.seq_len = seq_len;
  out.rows = int64_t(bins.size());
  const size_t total = size_t(out.rows * seq_len);
  out.input.assign(total, pad_id);
  out.labels.assign(total, -100);
  out.positions.assign(total, 0);
  out.segments.assign(total, -1);
  out.targets.assign(size_t(out.rows), 0);
  for (size_t b = 0; b < bins.size(); ++b) {
    size_t at = b * size_t(seq_len);
    int32_t segment = 0;
    for (size_t i : bins[b]) {
      const SftSequence& s = sequences[i];
      for (size_t j = 0; j < s.input.size(); ++j, ++at) {
        out.input[at] = s.input[j];
        out.labels[at] = s.labels[j];
        out.positions[at] = int32_t(j);
        out.segments[at] = segment;
      }
      out.targets[b] += s.targets();
      ++segment;
    }
    // Padding continues the positions of the last conversation (any value works: nothing
    // real attends to it and it has no labels).
    const size_t row_end = (b + 1) * size_t(seq_len);
    for (int32_t p = at > b * size_t(seq_len) ? out.positions[at - 1] + 1 : 0; at < row_end; ++at) out.positions[at] = p++;
  }
  return out;
}

// ---- shared helpers ------------------------------------------------------------------

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, uint64_t epoch) {
  std::vector<int64_t> v(size_t(std::max<int64_t>(n, 0)));
  std::iota(v.begin(), v.end(), int64_t(0));
  uint64_t state = seed * 0x2545F4914F6CDD1Dull + epoch * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t j = splitmix64(&state) % uint64_t(i + 1);
    std::swap(v[size_t(i)], v[size_t(j)]);
  }
  return v;
}

std::vector<uint8_t> validation_split(size_t n, double val_fraction, uint64_t seed) {
  std::vector<uint8_t> val(n, 0);
  if (val_fraction <= 0 || n < 2) return val;
  std::vector<double> u(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t state = seed ^ (uint64_t(i) * 0xD1B54A32D192ED03ull);
    u[i] = double(splitmix64(&state) >> 11) * (1.0 / 9007199254740992.0);
    val[i] = u[i] < val_fraction ? 1 : 0;
  }
  const size_t count = size_t(std::count(val.begin(), val.end(), uint8_t(1)));
  if (count == 0) val[size_t(std::min_element(u.begin(), u.end()) - u.begin())] = 1;
  if (count == n) val[size_t(std::max_element(u.begin(), u.end()) - u.begin())] = 0;
  return val;
}

int32_t padding_id(const tok::Tokenizer& tokenizer) {
  if (auto p = tokenizer.pad_id()) return *p;
  if (auto e = tokenizer.eos_id()) return *e;
  return 0;
}

}  // namespace kanana::posttrain
