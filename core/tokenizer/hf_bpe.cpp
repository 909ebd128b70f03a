// HfBpeTokenizer: loading tokenizer.json, added-token splitting, BPE merges, decoding.
#include "tokenizer/hf_bpe.h"

#include <algorithm>
#include <queue>

#include "base/files.h"
#include "base/json.h"
#include "base/log.h"
#include "tokenizer/fingerprint.h"
#include "tokenizer/unicode_tables.h"

namespace kanana::tok {
namespace {

// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the rest to U+0100 onwards.
struct ByteLevelMap {
  std::array<uint32_t, 256> byte_to_cp{};
  std::unordered_map<uint32_t, uint8_t> cp_to_byte;
  ByteLevelMap() {
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      byte_to_cp[b] = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
      cp_to_byte[byte_to_cp[b]] = static_cast<uint8_t>(b);
    }
  }
};
const ByteLevelMap& byte_level() {
  static const ByteLevelMap map;
  return map;
}

// Next code point of valid UTF-8 at *pos.
uint32_t next_cp(std::string_view s, size_t* pos) {
  const auto b0 = static_cast<uint8_t>(s[*pos]);
  size_t len = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
  uint32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  len = std::min(len, s.size() - *pos);
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[*pos + k]) & 0x3F);
  *pos += len;
  return cp;
}

// Start of the code point that ends at `end` (valid UTF-8).
size_t prev_cp_start(std::string_view s, size_t end) {
  size_t p = end - 1;
  while (p > 0 && (static_cast<uint8_t>(s[p]) & 0xC0) == 0x80) --p;
  return p;
}

// What the ByteLevel decoder makes of a token string: each char mapped back to its byte, or,
// if some char is not in the byte map, the string's own UTF-8 (as `tokenizers` does).
std::string token_bytes(const std::string& piece) {
  std::string out;
  out.reserve(piece.size());
  const auto& map = byte_level().cp_to_byte;
  for (size_t pos = 0; pos < piece.size();) {
    const auto it = map.find(next_cp(piece, &pos));
    if (it == map.end()) return piece;
    out.push_back(static_cast<char>(it->second));
  }
  return out;
}

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

bool is_alnum(uint32_t cp) { return unicode::is_letter(cp) || unicode::is_number(cp); }

Status parse_added_tokens(const Json& list, const std::string& origin, std::vector<AddedToken>* out) {
  if (!list.is_array()) return invalid_argument(origin + ": field 'added_tokens' must be an array");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    const Json& t = list[i];
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") ||
        !t["content"].is_string())
      return invalid_argument(origin + ": field '" + where + "' needs an integer 'id' and a string 'content'");
    AddedToken a;
    const int64_t id = t["id"].get<int64_t>();
    if (id > (int64_t{1} << 30)) return invalid_argument(origin + ": field '" + where + ".id' is out of range, got " + t["id"].dump());
    a.id = static_cast<int32_t>(id);
    a.content = t["content"].get<std::string>();
    const auto flag = [&](const char* key) { return t.contains(key) && t[key].is_boolean() && t[key].get<bool>(); };
    a.special = flag("special");
    a.lstrip = flag("lstrip");
    a.rstrip = flag("rstrip");
    a.single_word = flag("single_word");
    a.normalized = flag("normalized");
    if (a.id < 0) return invalid_argument(origin + ": field '" + where + ".id' must not be negative");
    if (a.content.empty()) return invalid_argument(origin + ": field '" + where + ".content' is empty");
    out->push_back(std::move(a));
  }
  return Status::ok();
}

// Find the Split regex and check the rest of the pre-tokenizer is the byte-level kind we run.
Result<SplitPattern> parse_pre_tokenizer(const Json& pre, const std::string& origin) {
  const auto unsupported = [&](const std::string& what) {
    return unimplemented(origin + ": pre_tokenizer " + what +
                         " is not supported (supported: Sequence[Split(Llama 3 or Qwen regex), ByteLevel])");
  };
  if (!pre.is_object()) return unsupported("null");
  std::vector<const Json*> parts;
  if (pre.value("type", "") == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    for (const Json& p : pre["pretokenizers"]) parts.push_back(&p);
  } else {
    parts.push_back(&pre);
  }
  std::optional<SplitPattern> pattern;
  bool byte_level_seen = false;
  for (const Json* p : parts) {
    const std::string type = p->value("type", "");
    if (type == "Split") {
      // find(), not operator[]: on a const object a missing key is undefined behaviour (found by
      // fuzzing: a Split without "pattern" read freed memory).
      const auto found = p->find("pattern");
      if (found == p->end() || !found->is_object() || !found->contains("Regex") || !found->at("Regex").is_string())
        return unsupported("Split with a non-regex pattern");
      const Json& pat = *found;
      if (p->value("behavior", "") != "Isolated" || p->value("invert", false))
        return unsupported("Split with behavior other than Isolated");
      pattern = recognize_split_regex(pat["Regex"].get<std::string>());
      if (!pattern) return unsupported("Split regex " + pat["Regex"].dump());
    } else if (type == "ByteLevel") {
      if (p->value("use_regex", true)) return unsupported("ByteLevel with use_regex (GPT-2 regex)");
      if (p->value("add_prefix_space", false)) return unsupported("ByteLevel with add_prefix_space");
      byte_level_seen = true;
    } else {
      return unsupported("'" + type + "'");
    }
  }
  if (!pattern || !byte_level_seen) return unsupported("without both Split and ByteLevel");
  return *pattern;
}

}  // namespace

Result<std::shared_ptr<HfBpeTokenizer>> load_hf_bpe(const std::string& json_text, const std::string& origin) {
  KANANA_ASSIGN_OR_RETURN(Json root, parse_json(json_text, origin));
  // Fields read with value()/get<T>() below throw on another type: an error naming the file.
  return json_guard(origin, [&]() -> Result<std::shared_ptr<HfBpeTokenizer>> {
    if (!root.is_object() || !root.contains("model") || !root["model"].is_object())
      return invalid_argument(origin + ": not a tokenizer.json (no 'model' object)");
    const Json& model = root["model"];
    if (model.value("type", "BPE") != "BPE")
      return unimplemented(origin + ": model.type '" + model.value("type", "") + "' is not supported (only BPE)");
    if (model.value("byte_fallback", false))
      return unimplemented(origin + ": model.byte_fallback is not supported for byte-level BPE");
    if (!model.contains("vocab") || !model["vocab"].is_object())
      return invalid_argument(origin + ": field 'model.vocab' must be an object");
    if (!model.contains("merges") || !model["merges"].is_array())
      return invalid_argument(origin + ": field 'model.merges' must be an array");

    auto t = std::shared_ptr<HfBpeTokenizer>(new HfBpeTokenizer());
    t->ignore_merges_ = model.value("ignore_merges", false);
    if (root.contains("normalizer") && !root["normalizer"].is_null()) {
      const Json& n = root["normalizer"];
      const std::string type = n.value("type", "");
      if (type == "NFC") {
        t->nfc_ = true;
      } else if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
        for (const Json& part : n["normalizers"]) {
          if (part.value("type", "") != "NFC")
            return unimplemented(origin + ": normalizer '" + part.value("type", "") + "' is not supported (only NFC)");
          t->nfc_ = true;
        }
      } else {
        return unimplemented(origin + ": normalizer '" + type + "' is not supported (only NFC or none)");
      }
    }
    KANANA_ASSIGN_OR_RETURN(t->pattern_, parse_pre_tokenizer(root.value("pre_tokenizer", Json()), origin));
    if (root.contains("decoder") && !root["decoder"].is_null() && root["decoder"].value("type", "") != "ByteLevel")
      return unimplemented(origin + ": decoder '" + root["decoder"].value("type", "") + "' is not supported (only ByteLevel)");

    // Vocabulary.
    const Json& vocab = model["vocab"];
    int32_t max_id = -1;
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() > (1 << 30))
        return invalid_argument(origin + ": field 'model.vocab' entry '" + it.key() + "' needs a non-negative integer id");
      max_id = std::max(max_id, it.value().get<int32_t>());
    }
    std::vector<AddedToken> added;
    if (root.contains("added_tokens")) KANANA_RETURN_IF_ERROR(parse_added_tokens(root["added_tokens"], origin, &added));
    for (const auto& a : added) max_id = std::max(max_id, a.id);
    // Ids index tables sized max_id + 1: an id far beyond the number of tokens listed would
    // size an allocation of gigabytes from a few bytes of JSON. Real vocabularies are dense.
    const size_t listed = vocab.size() + added.size();
    if (max_id >= 0 && static_cast<size_t>(max_id) >= 2 * listed + 1024)
      return invalid_argument(origin + ": token id " + std::to_string(max_id) + " is far beyond the " +
                              std::to_string(listed) + " tokens listed in model.vocab and added_tokens");
    const size_t size = static_cast<size_t>(max_id + 1);
    t->pieces_.assign(size, {});
    t->bytes_.assign(size, {});
    t->special_.assign(size, 0);
    t->single_byte_.fill(-1);
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
      const int32_t id = it.value().get<int32_t>();
      t->pieces_[id] = it.key();
      t->bytes_[id] = token_bytes(it.key());
      t->piece_ids_[it.key()] = id;
      t->byte_ids_.emplace(t->bytes_[id], id);
      if (t->bytes_[id].size() == 1) t->single_byte_[static_cast<uint8_t>(t->bytes_[id][0])] = id;
    }
    // Byte-level BPE starts every word from single-byte tokens; a byte without one is dropped
    // by encode() (as `tokenizers` does without an unk token), i.e. text silently disappears.
    // Hand-made test vocabularies lack them on purpose, so this is a warning, said once here.
    const auto missing = static_cast<int>(std::count(t->single_byte_.begin(), t->single_byte_.end(), -1));
    if (missing > 0)
      log::warning(origin + ": " + std::to_string(missing) +
                   " of the 256 byte tokens are missing from model.vocab; text with those bytes loses them when encoded");
    for (const auto& a : added) {
      t->pieces_[a.id] = a.content;
      t->bytes_[a.id] = token_bytes(a.content);
      t->special_[a.id] = a.special;
      t->piece_ids_[a.content] = a.id;  // added tokens win, as in `tokenizers`
      t->added_first_[static_cast<uint8_t>(a.content[0])] = true;
    }
    std::stable_sort(added.begin(), added.end(),
                     [](const AddedToken& x, const AddedToken& y) { return x.content.size() > y.content.size(); });
    t->added_ = std::move(added);

    // Merges: "a b" strings (older files) or ["a", "b"] pairs (newer files).
    const Json& merges = model["merges"];
    t->merges_.reserve(merges.size());
    for (size_t rank = 0; rank < merges.size(); ++rank) {
      const Json& m = merges[rank];
      std::string left, right;
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
          return invalid_argument(origin + ": field 'model.merges[" + std::to_string(rank) + "]' must be \"left right\"");
        left = s.substr(0, space), right = s.substr(space + 1);
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        left = m[0].get<std::string>(), right = m[1].get<std::string>();
      } else {
        return invalid_argument(origin + ": field 'model.merges[" + std::to_string(rank) + "]' must be a pair");
      }
      const auto l = t->piece_ids_.find(left), r = t->piece_ids_.find(right), merged = t->piece_ids_.find(left + right);
      if (l == t->piece_ids_.end() || r == t->piece_ids_.end() || merged == t->piece_ids_.end())
        return invalid_argument(origin + ": merge " + std::to_string(rank) + " ('" + left + "' + '" + right +
                                "') uses a token missing from model.vocab");
      t->merges_.emplace(pair_key(l->second, r->second), HfBpeTokenizer::Merge{static_cast<int32_t>(rank), merged->second});
    }

    // Default specials by well-known names; tokenizer_config.json overrides (load_tokenizer).
    const auto find = [&](std::initializer_list<const char*> names) -> std::optional<int32_t> {
      for (const char* n : names)
        if (auto it = t->piece_ids_.find(n); it != t->piece_ids_.end()) return it->second;
      return std::nullopt;
    };
    t->bos_ = find({"<|begin_of_text|>", "<s>"});
    t->eos_ = find({"<|end_of_text|>", "<|endoftext|>", "</s>"});
    t->fingerprint_ = fingerprint_bytes(json_text);
    return t;
  });
}

Result<std::shared_ptr<HfBpeTokenizer>> load_hf_bpe_file(const std::filesystem::path& path) {
  KANANA_ASSIGN_OR_RETURN(std::string text, read_file(path));
  return load_hf_bpe(text, path.string());
}

Status HfBpeTokenizer::set_special_tokens(const SpecialTokenNames& names) {
  const auto set = [&](const std::optional<std::string>& content, std::optional<int32_t>* slot, const char* what) -> Status {
    if (!content) return Status::ok();
    if (content->empty()) {
      slot->reset();
      return Status::ok();
    }
    const auto id = piece_to_id(*content);
    if (!id) return not_found(std::string(what) + " token '" + *content + "' is not in the tokenizer's vocabulary");
    *slot = *id;
    return Status::ok();
  };
  KANANA_RETURN_IF_ERROR(set(names.bos, &bos_, "bos"));
  KANANA_RETURN_IF_ERROR(set(names.eos, &eos_, "eos"));
  KANANA_RETURN_IF_ERROR(set(names.pad, &pad_, "pad"));
  return Status::ok();
}

void HfBpeTokenizer::split_added(std::string_view text, bool normalized_pass, bool parse_special,
                                 std::vector<Segment>* out) const {
  size_t seg_start = 0, pos = 0;
  while (pos < text.size()) {
    if (!added_first_[static_cast<uint8_t>(text[pos])]) {
      ++pos;
      continue;
    }
    const AddedToken* hit = nullptr;
    for (const auto& a : added_) {  // longest first: leftmost-longest matching
      if (a.normalized != normalized_pass || (a.special && !parse_special)) continue;
      if (text.compare(pos, a.content.size(), a.content) == 0) {
        hit = &a;
        break;
      }
    }
    size_t start = pos, stop = hit ? pos + hit->content.size() : pos;
    if (hit && hit->single_word) {
      size_t p = prev_cp_start(text, std::max<size_t>(start, 1));
      const bool word_before = start > 0 && is_alnum(next_cp(text, &p));
      p = stop;
      const bool word_after = stop < text.size() && is_alnum(next_cp(text, &p));
      if (word_before || word_after) hit = nullptr;
    }
    if (!hit) {
      ++pos;
      continue;
    }
    if (hit->lstrip) {
      while (start > seg_start) {
        size_t p = prev_cp_start(text, start), q = p;
        if (!unicode::is_whitespace(next_cp(text, &q))) break;
        start = p;
      }
    }
    if (hit->rstrip) {
      while (stop < text.size()) {
        size_t q = stop;
        if (!unicode::is_whitespace(next_cp(text, &q))) break;
        stop = q;
      }
    }
    if (start > seg_start) out->push_back({text.substr(seg_start, start - seg_start), -1});
    out->push_back({text.substr(start, stop - start), hit->id});
    seg_start = pos = stop;
  }
  if (seg_start < text.size()) out->push_back({text.substr(seg_start), -1});
}

std::vector<int32_t> HfBpeTokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  if (options.add_bos && bos_) ids.push_back(*bos_);
  const std::string valid = unicode::utf8_lossy(text);
  std::vector<Segment> raw, normalized;
  split_added(valid, /*normalized_pass=*/false, options.parse_special, &raw);
  for (const Segment& seg : raw) {
    if (seg.added_id >= 0) {
      ids.push_back(seg.added_id);
      continue;
    }
    // Normalize what is not an added token, then match added tokens marked normalized.
    const std::string norm = nfc_ ? unicode::nfc(seg.text) : std::string(seg.text);
    normalized.clear();
    split_added(norm, /*normalized_pass=*/true, options.parse_special, &normalized);
    for (const Segment& part : normalized) {
      if (part.added_id >= 0)
        ids.push_back(part.added_id);
      else
        encode_plain(part.text, &ids);
    }
  }
  if (options.add_eos && eos_) ids.push_back(*eos_);
  return ids;
}

void HfBpeTokenizer::encode_plain(std::string_view text, std::vector<int32_t>* out) const {
  std::vector<std::string_view> words;
  split_pretokens(text, pattern_, &words);
  for (std::string_view w : words) encode_word(w, out);
}

void HfBpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (ignore_merges_ || word.size() == 1) {
    // Llama 3: a word that is itself a token is emitted whole, merges or not.
    if (auto it = byte_ids_.find(std::string(word)); it != byte_ids_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  const std::string key(word);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  // Symbols as a doubly linked list over the word's bytes.
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  std::vector<Symbol> sym;
  sym.reserve(word.size());
  for (unsigned char b : word) {
    if (single_byte_[b] < 0) continue;  // no unk token: `tokenizers` drops the byte too
    const int32_t i = static_cast<int32_t>(sym.size());
    sym.push_back({single_byte_[b], i - 1, i + 1, true});
  }
  if (!sym.empty()) sym.back().next = -1;
  // Min-heap on (rank, position): the lowest-ranked pair merges first, leftmost on ties.
  struct Candidate {
    int32_t rank, pos, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  const auto push = [&](int32_t left) {
    if (left < 0 || sym[left].next < 0) return;
    const auto it = merges_.find(pair_key(sym[left].id, sym[sym[left].next].id));
    if (it != merges_.end()) heap.push({it->second.rank, left, it->second.id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(sym.size()); ++i) push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& left = sym[c.pos];
    if (!left.alive || left.next < 0) continue;
    // Stale if either side changed since the candidate was pushed.
    const auto it = merges_.find(pair_key(left.id, sym[left.next].id));
    if (it == merges_.end() || it->second.id != c.merged || it->second.rank != c.rank) continue;
    Symbol& right = sym[left.next];
    left.id = c.merged;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = c.pos;
    push(left.prev);
    push(c.pos);
  }
  std::vector<int32_t> ids;
  for (const Symbol& s : sym)
    if (s.alive) ids.push_back(s.id);
  out->insert(out->end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= 200000) cache_.clear();
  cache_.emplace(key, std::move(ids));
}

std::string HfBpeTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= bytes_.size()) continue;
    if (skip_special && special_[id]) continue;
    bytes += bytes_[id];
  }
  return unicode::utf8_lossy(bytes);
}

std::string HfBpeTokenizer::id_to_piece(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= pieces_.size()) return {};
  return pieces_[id];
}

std::optional<int32_t> HfBpeTokenizer::piece_to_id(std::string_view piece) const {
  const auto it = piece_ids_.find(std::string(piece));
  if (it == piece_ids_.end()) return std::nullopt;
  return it->second;
}

bool HfBpeTokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < special_.size() && special_[id] != 0;
}

}  // namespace kanana::tok
