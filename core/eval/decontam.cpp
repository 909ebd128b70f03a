// N-gram overlap between evaluation items and training data (see decontam.h).
#include "eval/decontam.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <unordered_map>

#include "base/strings.h"
#include "data/reader.h"
#include "data/script.h"
#include "shards/fertility.h"
#include "shards/shard.h"
#include "tokenizer/tokenizer.h"

namespace kanana::eval {

namespace fs = std::filesystem;

std::string normalize_for_ngrams(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = true;  // no leading space
  size_t pos = 0;
  while (pos < text.size()) {
    int32_t c = utf8_next(text, &pos);
    if (c < 0) continue;
    uint32_t u = uint32_t(c);
    const auto cls = data::script_of(u);
    if (cls == data::ScriptClass::kSpace || cls == data::ScriptClass::kPunct) {
      if (!space) out += ' ';
      space = true;
      continue;
    }
    if (u < 0x80) {
      u = uint32_t(std::tolower(int(u)));
    } else if (u >= 0xC0 && u <= 0xDE && u != 0xD7) {
      u += 0x20;  // Latin-1 capitals
    }
    append_utf8(&out, u);
    space = false;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

namespace {

uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr uint64_t kBase = 0x100000001b3ull;

// n-grams of item symbol sequences, looked up by a rolling polynomial hash and verified
// symbol by symbol.
class GramIndex {
 public:
  explicit GramIndex(int n) : n_(n) {
    pow_ = 1;
    for (int i = 1; i < n_; ++i) pow_ *= kBase;
  }
  int n() const { return n_; }
  bool empty() const { return map_.empty(); }
  // Returns false when the sequence is shorter than n.
  bool add(int32_t item, std::vector<uint64_t> syms) {
    if (int64_t(syms.size()) < n_) return false;
    const int32_t slot = int32_t(items_.size());
    items_.push_back(item);
    seqs_.push_back(std::move(syms));
    const auto& s = seqs_.back();
    roll(s, [&](size_t pos, uint64_t h) { map_[h].push_back({slot, int32_t(pos)}); });
    return true;
  }
  // on_hit(item, item_pos, doc_pos) for every verified n-gram of `doc` found in an item.
  template <typename F>
  void scan(const std::vector<uint64_t>& doc, F&& on_hit) const {
    if (map_.empty()) return;
    roll(doc, [&](size_t pos, uint64_t h) {
      auto it = map_.find(h);
      if (it == map_.end()) return;
      for (const auto& [slot, ipos] : it->second) {
        const auto& s = seqs_[size_t(slot)];
        if (std::equal(doc.begin() + int64_t(pos), doc.begin() + int64_t(pos) + n_, s.begin() + ipos)) {
          on_hit(items_[size_t(slot)], size_t(ipos), pos);
        }
      }
    });
  }

 private:
  template <typename F>
  void roll(const std::vector<uint64_t>& s, F&& emit) const {
    if (int64_t(s.size()) < n_) return;
    uint64_t h = 0;
    for (int i = 0; i < n_; ++i) h = h * kBase + mix(s[size_t(i)]);
    emit(0, h);
    for (size_t p = 1; p + size_t(n_) <= s.size(); ++p) {
      h = (h - mix(s[p - 1]) * pow_) * kBase + mix(s[p + size_t(n_) - 1]);
      emit(p, h);
    }
  }

  int n_;
  uint64_t pow_;
  std::vector<int32_t> items_;
  std::vector<std::vector<uint64_t>> seqs_;
  std::unordered_map<uint64_t, std::vector<std::pair<int32_t, int32_t>>> map_;
};

std::vector<std::string> words_of(const std::string& normalized) { return split(normalized, ' '); }

std::vector<uint64_t> word_symbols(const std::vector<std::string>& words) {
  std::vector<uint64_t> out;
  out.reserve(words.size());
  for (const auto& w : words) out.push_back(shards::fnv1a64(w.data(), w.size()));
  return out;
}

std::vector<uint64_t> char_symbols(const std::string& normalized) {
  std::vector<uint64_t> out;
  size_t pos = 0;
  while (pos < normalized.size()) {
    const int32_t c = utf8_next(normalized, &pos);
    if (c < 0 || c == ' ') continue;
    out.push_back(uint64_t(c));
  }
  return out;
}

std::string char_text(const std::vector<uint64_t>& syms, size_t pos, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) append_utf8(&out, uint32_t(syms[pos + size_t(i)]));
  return out;
}

std::string join_words(const std::vector<std::string>& words, size_t pos, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i) out += ' ';
    out += words[pos + size_t(i)];
  }
  return out;
}

struct Hits {
  std::vector<std::map<std::string, Contamination>> by_item;  // kind -> first hit
  void add(const EvalText& e, const std::string& kind, std::string ngram, std::string source) {
    auto& m = by_item[size_t(e.doc_id)];
    if (m.count(kind)) return;
    m[kind] = {e.doc_id, e.line, kind, std::move(ngram), std::move(source)};
  }
};

}  // namespace

std::vector<EvalText> eval_texts(const TaskSpec& spec, const TaskItems& items) {
  std::vector<EvalText> out;
  for (const auto& item : items.items) {
    EvalText e;
    e.doc_id = int64_t(out.size());
    e.line = item.line;
    e.text = item.text;
    if (spec.type == TaskType::kMultipleChoice && item.gold >= 0 && size_t(item.gold) < item.options.size()) {
      e.text += " " + item.options[size_t(item.gold)];
    } else if (!item.target.empty()) {
      e.text += " " + item.target;
    }
    e.lang = item.lang.empty() ? shards::guess_language(e.text) : item.lang;
    out.push_back(std::move(e));
  }
  return out;
}

Json DecontamReport::to_json() const {
  Json h = Json::array();
  for (const auto& c : hits) {
    h.push_back({{"doc_id", c.doc_id}, {"line", c.line}, {"kind", c.kind}, {"ngram", c.ngram}, {"source", c.source}});
  }
  return {{"items", items},
          {"contaminated", contaminated},
          {"contamination_rate", items ? double(contaminated) / double(items) : 0.0},
          {"too_short", too_short},
          {"train_documents", train_docs},
          {"contaminated_lines", contaminated_lines},
          {"hits", h},
          {"config",
           {{"word_n", options.word_n},
            {"char_n", options.char_n},
            {"char_for_all", options.char_for_all},
            {"token_n", options.token_n},
            {"text_field", options.text_field},
            {"shard_split", options.shard_split}}}};
}

Result<DecontamReport> find_contamination(const std::vector<EvalText>& eval, const std::vector<fs::path>& training,
                                          const DecontamOptions& o, Progress* progress, const CancelToken* cancel) {
  if (o.word_n < 1 || o.char_n < 0 || o.token_n < 1) return invalid_argument("n-gram lengths must be >= 1");
  if (training.empty()) return invalid_argument("no training data to check against");
  DecontamReport report;
  report.options = o;
  report.items = int64_t(eval.size());
  GramIndex words(o.word_n), chars(o.char_n > 0 ? o.char_n : 1);
  std::vector<std::vector<std::string>> item_words(eval.size());
  std::vector<std::vector<uint64_t>> item_chars(eval.size());
  for (size_t i = 0; i < eval.size(); ++i) {
    const std::string norm = normalize_for_ngrams(eval[i].text);
    item_words[i] = words_of(norm);
    bool any = words.add(int32_t(i), word_symbols(item_words[i]));
    if (o.char_n > 0 && (o.char_for_all || eval[i].lang == "ko")) {
      item_chars[i] = char_symbols(norm);
      any = chars.add(int32_t(i), item_chars[i]) || any;
    }
    if (!any) ++report.too_short;
  }
  const bool use_chars = o.char_n > 0 && !chars.empty();
  Hits hits;
  hits.by_item.resize(eval.size());
  int64_t docs_done = 0;

  for (const auto& input : training) {
    if (fs::is_directory(input) && fs::exists(input / "manifest.json")) {
      // Token n-grams with the pack's tokenizer.
      KANANA_ASSIGN_OR_RETURN(auto manifest, shards::read_manifest(input));
      fs::path tok_path = o.tokenizer.empty() ? fs::path(manifest.tokenizer_path) : o.tokenizer;
      if (tok_path.empty()) return invalid_argument(input.string() + ": manifest names no tokenizer; give --tokenizer");
      if (tok_path.is_relative() && !fs::exists(tok_path)) tok_path = input / tok_path;
      auto tok = tok::load_tokenizer(tok_path);
      if (!tok.is_ok()) return tok.status().with_context(input.string() + ": loading its tokenizer");
      GramIndex tokens(o.token_n);
      std::vector<std::vector<int32_t>> item_tokens(eval.size());
      for (size_t i = 0; i < eval.size(); ++i) {
        tok::EncodeOptions eo;
        eo.parse_special = false;
        item_tokens[i] = (*tok)->encode(eval[i].text, eo);
        tokens.add(int32_t(i), std::vector<uint64_t>(item_tokens[i].begin(), item_tokens[i].end()));
      }
      std::vector<shards::Split> splits;
      if (o.shard_split == "train" || o.shard_split == "both") splits.push_back(shards::Split::kTrain);
      if (o.shard_split == "val" || o.shard_split == "both") splits.push_back(shards::Split::kValidation);
      if (splits.empty()) return invalid_argument("shard split must be train, val or both, got '" + o.shard_split + "'");
      for (auto split : splits) {
        KANANA_ASSIGN_OR_RETURN(auto set, shards::ShardSet::open(input, split));
        uint64_t n = set->num_docs();
        if (o.max_train_docs > 0) n = std::min<uint64_t>(n, uint64_t(o.max_train_docs));
        for (uint64_t d = 0; d < n; ++d) {
          if (cancel && cancel->is_cancelled()) return cancelled();
          KANANA_ASSIGN_OR_RETURN(auto ids, set->document(d));
          std::vector<uint64_t> syms(ids.begin(), ids.end());
          const std::string where = input.string() + (split == shards::Split::kValidation ? "/val" : "") + "#" +
                                    std::to_string(d);
          tokens.scan(syms, [&](int32_t item, size_t ipos, size_t) {
            std::vector<int32_t> gram(item_tokens[size_t(item)].begin() + int64_t(ipos),
                                      item_tokens[size_t(item)].begin() + int64_t(ipos) + o.token_n);
            hits.add(eval[size_t(item)], "token", (*tok)->decode(gram, true), where);
          });
          ++docs_done;
          if (progress && docs_done % 1024 == 0) progress->update(docs_done, 0, "documents");
        }
      }
      continue;
    }
    data::ReaderOptions ro;
    ro.text_field = o.text_field;
    KANANA_ASSIGN_OR_RETURN(auto reader, data::CorpusReader::open({input}, ro));
    data::Document doc;
    std::vector<data::BadLine> bad;
    int64_t count = 0;
    while (o.max_train_docs <= 0 || count < o.max_train_docs) {
      if (cancel && cancel->is_cancelled()) return cancelled();
      KANANA_ASSIGN_OR_RETURN(bool more, reader->next_document(&doc, &bad));
      if (!more) break;
      ++count;
      const std::string norm = normalize_for_ngrams(doc.text);
      const std::string where = reader->files()[doc.id.file_index].string() + ":" + std::to_string(doc.id.line);
      const auto doc_words = words_of(norm);
      words.scan(word_symbols(doc_words), [&](int32_t item, size_t ipos, size_t) {
        hits.add(eval[size_t(item)], "word", join_words(item_words[size_t(item)], ipos, o.word_n), where);
      });
      if (use_chars) {
        chars.scan(char_symbols(norm), [&](int32_t item, size_t ipos, size_t) {
          hits.add(eval[size_t(item)], "char", char_text(item_chars[size_t(item)], ipos, o.char_n), where);
        });
      }
      ++docs_done;
      if (progress && docs_done % 1024 == 0) progress->update(docs_done, 0, "documents");
    }
  }
  report.train_docs = docs_done;
  for (size_t i = 0; i < eval.size(); ++i) {
    if (hits.by_item[i].empty()) continue;
    ++report.contaminated;
    report.contaminated_lines.push_back(eval[i].line);
    for (auto& [kind, c] : hits.by_item[i]) report.hits.push_back(c);
  }
  if (progress) progress->finish(std::to_string(report.contaminated) + " of " + std::to_string(report.items) +
                                 " items contaminated");
  return report;
}

}  // namespace kanana::eval
