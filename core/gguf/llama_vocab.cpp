// Tokenizer files -> GGUF tokenizer.* keys (see llama_vocab.h).
#include "gguf/llama_vocab.h"

#include <cstring>
#include <map>
#include <optional>

#include "base/files.h"
#include "base/json.h"
#include "tokenizer/pretokenizer.h"

namespace kanana::gguf {

namespace fs = std::filesystem;

namespace {

// ---- protobuf wire format (just what ModelProto needs) -----------------------------------

class ProtoReader {
 public:
  ProtoReader(std::string_view bytes, const std::string& origin) : p_(bytes), origin_(origin) {}
  bool done() const { return pos_ >= p_.size(); }
  Status error(const std::string& what) const {
    return data_loss(origin_ + ": not a valid SentencePiece model (" + what + " at byte " + std::to_string(pos_) + ")");
  }
  Result<uint64_t> varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) return error("truncated varint");
      const uint8_t b = static_cast<uint8_t>(p_[pos_++]);
      v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    return error("varint longer than 10 bytes");
  }
  Result<std::string_view> bytes() {
    KANANA_ASSIGN_OR_RETURN(uint64_t n, varint());
    if (n > p_.size() - pos_) return error("a field of " + std::to_string(n) + " bytes runs past the end");
    std::string_view s = p_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  Result<uint32_t> fixed32() {
    if (p_.size() - pos_ < 4) return error("truncated fixed32");
    uint32_t v;
    std::memcpy(&v, p_.data() + pos_, 4);
    pos_ += 4;
    return v;
  }
  Status skip(int wire) {
    switch (wire) {
      case 0: return varint().status();
      case 1:
        if (p_.size() - pos_ < 8) return error("truncated fixed64");
        pos_ += 8;
        return Status::ok();
      case 2: return bytes().status();
      case 5: return fixed32().status();
      default: return error("unsupported wire type " + std::to_string(wire));
    }
  }

 private:
  std::string_view p_;
  const std::string& origin_;
  size_t pos_ = 0;
};

// ---- tokenizer.json helpers ---------------------------------------------------------------

// A special token entry of tokenizer_config.json: "text" or {"content": "text", ...}.
std::optional<std::string> token_text(const Json& cfg, const std::string& key) {
  if (!cfg.is_object() || !cfg.contains(key)) return std::nullopt;
  const Json& e = cfg[key];
  if (e.is_string()) return e.get<std::string>();
  if (e.is_object() && e.contains("content") && e["content"].is_string()) return e["content"].get<std::string>();
  return std::nullopt;
}

// llama.cpp's does_token_look_special: added tokens that are control tokens in practice.
bool looks_special(const std::string& t) {
  auto wrapped = [&](std::string_view a, std::string_view b) {
    return t.size() >= a.size() + b.size() && t.compare(0, a.size(), a) == 0 &&
           t.compare(t.size() - b.size(), b.size(), b) == 0;
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<\xEF\xBD\x9C", "\xEF\xBD\x9C>") || wrapped("<unused", ">");
}

// The regex of the byte-level pre-tokenizer's Split step, if any.
std::optional<std::string> split_regex(const Json& pre) {
  if (!pre.is_object()) return std::nullopt;
  if (pre.value("type", "") == "Sequence" && pre.contains("pretokenizers")) {
    for (const Json& p : pre["pretokenizers"]) {
      if (auto r = split_regex(p)) return r;
    }
    return std::nullopt;
  }
  if (pre.value("type", "") == "Split" && pre.contains("pattern") && pre["pattern"].is_object() &&
      pre["pattern"].contains("Regex") && pre["pattern"]["Regex"].is_string()) {
    return pre["pattern"]["Regex"].get<std::string>();
  }
  return std::nullopt;
}

struct Specials {
  std::map<std::string, int64_t> ids;  // "bos", "eos", "unk", "pad" -> id
  std::map<std::string, bool> add;     // "bos", "eos" -> add_*_token
};

void set_special(Specials& s, const std::string& kind, const Json& id, int64_t n_vocab) {
  if (s.ids.count(kind) || !id.is_number_integer()) return;  // first source wins, as in SpecialVocab
  const int64_t v = id.get<int64_t>();
  if (v >= 0 && v < n_vocab) s.ids[kind] = v;
}

// tokenizer_config.json names (looked up in tokenizer.json's added tokens), its add_*_token
// flags, and the TemplateProcessing post-processor (Llama 3 adds <|begin_of_text|> there).
void specials_from_tokenizer_files(const Json& tok, const Json& cfg, int64_t n_vocab, Specials& s) {
  const Json empty = Json::array();
  const Json& added = tok.is_object() && tok.contains("added_tokens") ? tok["added_tokens"] : empty;
  auto added_id = [&](const std::string& text) -> Json {
    for (const Json& a : added) {
      if (a.is_object() && a.value("content", "") == text && a.contains("id")) return a["id"];
    }
    return Json();
  };
  auto bos = token_text(cfg, "bos_token"), eos = token_text(cfg, "eos_token");
  if (tok.is_object() && tok.contains("post_processor") && tok["post_processor"].is_object()) {
    const Json& pp = tok["post_processor"];
    const Json single = Json::array({pp});
    for (const Json& p : pp.contains("processors") ? pp["processors"] : single) {
      if (!p.is_object() || p.value("type", "") != "TemplateProcessing" || !p.contains("single")) continue;
      const Json& seq = p["single"];
      if (!seq.is_array() || seq.size() < 2) continue;
      auto special_of = [](const Json& item) -> std::optional<std::string> {
        if (item.is_object() && item.contains("SpecialToken") && item["SpecialToken"].contains("id")) {
          return item["SpecialToken"]["id"].get<std::string>();
        }
        return std::nullopt;
      };
      if (auto first = special_of(seq.front())) {
        if (!bos) bos = first;
        s.add["bos"] = *first == *bos;
      }
      if (auto last = special_of(seq.back())) {
        if (!eos) eos = last;
        s.add["eos"] = *last == *eos;
      }
    }
  }
  if (bos) set_special(s, "bos", added_id(*bos), n_vocab);
  if (eos) set_special(s, "eos", added_id(*eos), n_vocab);
  if (auto unk = token_text(cfg, "unk_token")) set_special(s, "unk", added_id(*unk), n_vocab);
  if (auto pad = token_text(cfg, "pad_token")) set_special(s, "pad", added_id(*pad), n_vocab);
  for (const char* kind : {"bos", "eos"}) {
    const std::string key = std::string("add_") + kind + "_token";
    if (cfg.is_object() && cfg.contains(key) && cfg[key].is_boolean()) s.add[kind] = cfg[key].get<bool>();
  }
}

void specials_from_config(const model::LlamaConfig& c, Specials& s) {
  if (c.bos_token_id) set_special(s, "bos", Json(*c.bos_token_id), c.vocab_size);
  if (!c.eos_token_ids.empty()) set_special(s, "eos", Json(c.eos_token_ids.front()), c.vocab_size);
  if (c.pad_token_id) set_special(s, "pad", Json(*c.pad_token_id), c.vocab_size);
  // Where the tokenizer files do not say, the workbench's own rule (`kanana generate` adds BOS
  // exactly when config.json has a bos_token_id), so llama.cpp sees the prompts it sees.
  if (!s.add.count("bos")) s.add["bos"] = c.bos_token_id.has_value();
}

void add_specials(const Specials& s, std::vector<KeyValue>& kv) {
  static const std::map<std::string, std::string> key = {{"bos", "tokenizer.ggml.bos_token_id"},
                                                         {"eos", "tokenizer.ggml.eos_token_id"},
                                                         {"unk", "tokenizer.ggml.unknown_token_id"},
                                                         {"pad", "tokenizer.ggml.padding_token_id"}};
  for (const auto& [kind, id] : s.ids) kv.push_back({key.at(kind), Value::u32(static_cast<uint32_t>(id))});
  for (const auto& [kind, on] : s.add) kv.push_back({"tokenizer.ggml.add_" + kind + "_token", Value::boolean(on)});
}

// tokenizer_config.json's chat_template (a string, or a list of {name, template}), else
// chat_template.jinja.
Status add_chat_template(const fs::path& dir, const Json& cfg, std::vector<KeyValue>& kv) {
  if (cfg.is_object() && cfg.contains("chat_template")) {
    const Json& t = cfg["chat_template"];
    if (t.is_string()) {
      kv.push_back({"tokenizer.chat_template", Value::str(t.get<std::string>())});
      return Status::ok();
    }
    if (t.is_array()) {
      for (const Json& e : t) {
        if (!e.is_object() || !e.contains("name") || !e.contains("template") || !e["template"].is_string()) {
          return invalid_argument((dir / "tokenizer_config.json").string() +
                                  ": field 'chat_template': list entries need 'name' and 'template'");
        }
        const std::string name = e["name"].get<std::string>();
        kv.push_back({name == "default" ? "tokenizer.chat_template" : "tokenizer.chat_template." + name,
                      Value::str(e["template"].get<std::string>())});
      }
      return Status::ok();
    }
  }
  std::error_code ec;
  if (fs::is_regular_file(dir / "chat_template.jinja", ec)) {
    KANANA_ASSIGN_OR_RETURN(std::string text, read_file(dir / "chat_template.jinja"));
    kv.push_back({"tokenizer.chat_template", Value::str(std::move(text))});
  }
  return Status::ok();
}

// ---- the two tokenizer kinds --------------------------------------------------------------

Result<LlamaVocab> gpt2_vocab(const fs::path& file, const Json& tok, const std::string& pre, const Json& cfg,
                              const model::LlamaConfig& c) {
  const std::string origin = file.string();
  const Json& model = tok["model"];
  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return invalid_argument(origin + ": field 'model.vocab' is missing or not an object");
  }
  const int64_t n = c.vocab_size;
  std::vector<std::string> tokens(n);
  std::vector<int64_t> types(n, kTokenUnused);
  std::vector<bool> filled(n, false);
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    if (!it.value().is_number_integer()) return invalid_argument(origin + ": field 'model.vocab." + it.key() + "' is not an id");
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= n) {
      return invalid_argument(origin + ": token '" + it.key() + "' has id " + std::to_string(id) +
                              ", outside config.json's vocab_size " + std::to_string(n));
    }
    tokens[id] = it.key();
    types[id] = kTokenNormal;
    filled[id] = true;
  }
  if (tok.contains("added_tokens") && tok["added_tokens"].is_array()) {
    size_t k = 0;
    for (const Json& a : tok["added_tokens"]) {
      const std::string field = "added_tokens[" + std::to_string(k++) + "]";
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
          !a["content"].is_string()) {
        return invalid_argument(origin + ": field '" + field + "' needs an integer 'id' and a string 'content'");
      }
      const int64_t id = a["id"].get<int64_t>();
      if (id < 0 || id >= n) {
        return invalid_argument(origin + ": field '" + field + ".id' = " + std::to_string(id) +
                                " is outside config.json's vocab_size " + std::to_string(n));
      }
      const std::string content = a["content"].get<std::string>();
      tokens[id] = content;
      types[id] = a.value("special", false) || looks_special(content) ? kTokenControl : kTokenUserDefined;
      filled[id] = true;
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    if (!filled[i]) tokens[i] = "[PAD" + std::to_string(i) + "]";
  }

  std::vector<std::string> merges;
  if (model.contains("merges") && model["merges"].is_array()) {
    merges.reserve(model["merges"].size());
    size_t k = 0;
    for (const Json& m : model["merges"]) {
      if (m.is_string()) {
        merges.push_back(m.get<std::string>());
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        // The pair form may hold spaces; llama.cpp's text form writes them as U+0120 ("Ġ").
        std::string joined;
        for (int part = 0; part < 2; ++part) {
          if (part) joined += ' ';
          for (char ch : m[part].get<std::string>()) joined += ch == ' ' ? std::string("\xC4\xA0") : std::string(1, ch);
        }
        merges.push_back(std::move(joined));
      } else {
        return invalid_argument(origin + ": field 'model.merges[" + std::to_string(k) + "]' is neither \"a b\" nor [a, b]");
      }
      ++k;
    }
  }
  if (merges.empty()) return invalid_argument(origin + ": field 'model.merges' is missing or empty");

  LlamaVocab v;
  v.summary = "gpt2/" + pre + ", " + std::to_string(n) + " tokens, " + std::to_string(merges.size()) + " merges";
  v.metadata.push_back({"tokenizer.ggml.model", Value::str("gpt2")});
  v.metadata.push_back({"tokenizer.ggml.pre", Value::str(pre)});
  v.metadata.push_back({"tokenizer.ggml.tokens", Value::string_array(std::move(tokens))});
  v.metadata.push_back({"tokenizer.ggml.token_type", Value::int_array(ValueType::kInt32, std::move(types))});
  v.metadata.push_back({"tokenizer.ggml.merges", Value::string_array(std::move(merges))});
  Specials s;
  specials_from_tokenizer_files(tok, cfg, n, s);
  specials_from_config(c, s);
  add_specials(s, v.metadata);
  return v;
}

Result<LlamaVocab> sentencepiece_vocab(const fs::path& file, const fs::path& dir, const Json& cfg,
                                       const model::LlamaConfig& c) {
  KANANA_ASSIGN_OR_RETURN(std::string bytes, read_file(file));
  KANANA_ASSIGN_OR_RETURN(SentencePieceModel spm, parse_sentencepiece_model(bytes, file.string()));
  const int64_t n = c.vocab_size;
  std::vector<std::string> tokens(n);
  std::vector<double> scores(n, -10000.0);
  std::vector<int64_t> types(n, kTokenUnused);
  for (int64_t i = 0; i < n; ++i) tokens[i] = "[PAD" + std::to_string(i) + "]";
  if (int64_t(spm.pieces.size()) > n) {
    return invalid_argument(file.string() + ": " + std::to_string(spm.pieces.size()) +
                            " pieces but config.json's vocab_size is " + std::to_string(n));
  }
  for (size_t i = 0; i < spm.pieces.size(); ++i) {
    tokens[i] = spm.pieces[i].text;
    scores[i] = spm.pieces[i].score;
    types[i] = spm.pieces[i].type;
  }
  // Tokens added on top of the model (tokenizer_config.json added_tokens_decoder).
  if (cfg.is_object() && cfg.contains("added_tokens_decoder") && cfg["added_tokens_decoder"].is_object()) {
    for (auto it = cfg["added_tokens_decoder"].begin(); it != cfg["added_tokens_decoder"].end(); ++it) {
      const Json& e = it.value();
      int64_t id = -1;
      try {
        id = std::stoll(it.key());
      } catch (...) {
      }
      if (id < 0 || id >= n || !e.is_object() || !e.contains("content") || !e["content"].is_string()) {
        return invalid_argument((dir / "tokenizer_config.json").string() + ": field 'added_tokens_decoder." + it.key() +
                                "' needs an id below vocab_size and a string 'content'");
      }
      std::string content = e["content"].get<std::string>();
      if (e.value("special", false) || looks_special(content)) {
        types[id] = kTokenControl;
      } else {
        types[id] = kTokenUserDefined;
        for (size_t p; (p = content.find("\xE2\x96\x81")) != std::string::npos;) content.replace(p, 3, " ");
      }
      scores[id] = -1000.0;
      tokens[id] = std::move(content);
    }
  }
  LlamaVocab v;
  v.summary = "llama (SentencePiece), " + std::to_string(spm.pieces.size()) + " pieces";
  v.metadata.push_back({"tokenizer.ggml.model", Value::str("llama")});
  v.metadata.push_back({"tokenizer.ggml.pre", Value::str("default")});
  v.metadata.push_back({"tokenizer.ggml.tokens", Value::string_array(std::move(tokens))});
  v.metadata.push_back({"tokenizer.ggml.scores", Value::float_array(ValueType::kFloat32, std::move(scores))});
  v.metadata.push_back({"tokenizer.ggml.token_type", Value::int_array(ValueType::kInt32, std::move(types))});
  v.metadata.push_back({"tokenizer.ggml.add_space_prefix", Value::boolean(spm.add_dummy_prefix)});
  Specials s;
  specials_from_tokenizer_files(Json(), cfg, n, s);
  specials_from_config(c, s);
  const std::pair<const char*, int32_t> from_spec[] = {
      {"bos", spm.bos_id}, {"eos", spm.eos_id}, {"unk", spm.unk_id}, {"pad", spm.pad_id}};
  for (const auto& [kind, id] : from_spec) set_special(s, kind, Json(id), n);
  add_specials(s, v.metadata);
  return v;
}

}  // namespace

Result<SentencePieceModel> parse_sentencepiece_model(std::string_view bytes, const std::string& origin) {
  SentencePieceModel m;
  ProtoReader top(bytes, origin);
  while (!top.done()) {
    KANANA_ASSIGN_OR_RETURN(uint64_t tag, top.varint());
    const int field = int(tag >> 3), wire = int(tag & 7);
    if (field == 1 && wire == 2) {  // repeated SentencePiece pieces
      KANANA_ASSIGN_OR_RETURN(std::string_view body, top.bytes());
      ProtoReader p(body, origin);
      SentencePieceModel::Piece piece;
      while (!p.done()) {
        KANANA_ASSIGN_OR_RETURN(uint64_t t, p.varint());
        const int f = int(t >> 3), w = int(t & 7);
        if (f == 1 && w == 2) {
          KANANA_ASSIGN_OR_RETURN(std::string_view s, p.bytes());
          piece.text = std::string(s);
        } else if (f == 2 && w == 5) {
          KANANA_ASSIGN_OR_RETURN(uint32_t bits, p.fixed32());
          std::memcpy(&piece.score, &bits, 4);
        } else if (f == 3 && w == 0) {
          KANANA_ASSIGN_OR_RETURN(uint64_t type, p.varint());
          if (type < 1 || type > 6) {
            return p.error("piece " + std::to_string(m.pieces.size()) + " has unknown type " + std::to_string(type));
          }
          piece.type = static_cast<int32_t>(type);
        } else {
          KANANA_RETURN_IF_ERROR(p.skip(w));
        }
      }
      m.pieces.push_back(std::move(piece));
    } else if ((field == 2 || field == 3) && wire == 2) {  // TrainerSpec, NormalizerSpec
      KANANA_ASSIGN_OR_RETURN(std::string_view body, top.bytes());
      ProtoReader p(body, origin);
      while (!p.done()) {
        KANANA_ASSIGN_OR_RETURN(uint64_t t, p.varint());
        const int f = int(t >> 3), w = int(t & 7);
        if (w != 0) {
          KANANA_RETURN_IF_ERROR(p.skip(w));
          continue;
        }
        KANANA_ASSIGN_OR_RETURN(uint64_t v, p.varint());
        const int32_t iv = static_cast<int32_t>(static_cast<int64_t>(v));  // int32 fields: sign-extended
        if (field == 2 && f == 40) m.unk_id = iv;
        if (field == 2 && f == 41) m.bos_id = iv;
        if (field == 2 && f == 42) m.eos_id = iv;
        if (field == 2 && f == 43) m.pad_id = iv;
        if (field == 3 && f == 3) m.add_dummy_prefix = v != 0;
      }
    } else {
      KANANA_RETURN_IF_ERROR(top.skip(wire));
    }
  }
  if (m.pieces.empty()) return data_loss(origin + ": not a valid SentencePiece model (no pieces)");
  return m;
}

Result<LlamaVocab> read_llama_vocab(const fs::path& dir, const model::LlamaConfig& c) {
  std::error_code ec;
  Json cfg = Json::object();
  if (fs::is_regular_file(dir / "tokenizer_config.json", ec)) {
    KANANA_ASSIGN_OR_RETURN(cfg, read_json_file(dir / "tokenizer_config.json"));
  }
  Result<LlamaVocab> v = not_found(dir.string() + ": no tokenizer.json or tokenizer.model to export the vocabulary from");
  std::string bpe_problem;
  if (fs::is_regular_file(dir / "tokenizer.json", ec)) {
    const fs::path file = dir / "tokenizer.json";
    KANANA_ASSIGN_OR_RETURN(Json tok, read_json_file(file));
    const bool bpe = tok.is_object() && tok.contains("model") && tok["model"].is_object() &&
                     tok["model"].value("type", "") == "BPE";
    const auto regex = bpe && tok.contains("pre_tokenizer") ? split_regex(tok["pre_tokenizer"]) : std::nullopt;
    const auto pattern = regex ? tok::recognize_split_regex(*regex) : std::nullopt;
    if (pattern) {
      v = gpt2_vocab(file, tok, pattern->max_digits == 3 ? "llama-bpe" : "qwen2", cfg, c);
    } else {
      bpe_problem = file.string() + ": field 'pre_tokenizer' is not the Llama 3 or Qwen byte-level split "
                    "(the pre-tokenizers llama.cpp implements that the workbench can check)";
    }
  }
  if (!v.is_ok() && v.status().code() == StatusCode::kNotFound && fs::is_regular_file(dir / "tokenizer.model", ec)) {
    v = sentencepiece_vocab(dir / "tokenizer.model", dir, cfg, c);
  }
  if (!v.is_ok()) {
    return v.status().code() == StatusCode::kNotFound && !bpe_problem.empty() ? unimplemented(bpe_problem) : v.status();
  }
  KANANA_RETURN_IF_ERROR(add_chat_template(dir, cfg, v->metadata));
  return v;
}

}  // namespace kanana::gguf
