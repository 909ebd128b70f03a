// Embedding training pairs and the FAQ retrieval set from the imported demo corpora (demo_sets.h).
#include "rag/demo_sets.h"

#include <algorithm>
#include <cctype>
#include <random>
#include <set>
#include <vector>

#include "base/files.h"
#include "base/hash.h"
#include "base/json.h"
#include "base/jsonl.h"
#include "base/strings.h"

namespace kanana::rag {
namespace {

namespace fs = std::filesystem;

uint64_t mix(uint64_t seed, std::string_view s) {
  uint64_t h = fnv1a64(s, kFnv1a64Offset ^ (seed * 0x9E3779B97F4A7C15ull));
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

// Lines of a JSONL file as objects; a malformed line is an error naming file:line (these are
// files our own importer wrote, so a bad line means a broken import).
Result<std::vector<Json>> read_objects(const fs::path& file) {
  std::vector<Json> out;
  auto object = [&](JsonlLine& line) {
    out.push_back(std::move(line.value));
    return Status::ok();
  };
  auto read = read_jsonl(file, object, {.objects_only = true});
  if (!read.is_ok() && read.status().code() == StatusCode::kInvalidArgument)
    return data_loss(read.status().message() + "; re-run `kanana data import-demo`");
  KANANA_RETURN_IF_ERROR(read.status());
  return out;
}

std::string str(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

// Sentences of a text (ends: . ! ? 。 or a line break), trimmed, at least `min_chars` long.
std::vector<std::pair<size_t, size_t>> sentence_spans(const std::string& text, int64_t min_chars) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t start = 0;
  auto cut = [&](size_t end) {
    size_t b = start, e = end;
    while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
    if (int64_t(utf8_length(std::string_view(text).substr(b, e - b))) >= min_chars) out.push_back({b, e});
    start = end;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || ((c == '.' || c == '!' || c == '?') && (i + 1 == text.size() || text[i + 1] == ' '))) cut(i + 1);
  }
  cut(text.size());
  return out;
}

class JsonlOut {
 public:
  static Result<JsonlOut> open(const fs::path& path) {
    KANANA_ASSIGN_OR_RETURN(auto w, AtomicFileWriter::open(path));
    return JsonlOut(std::move(w));
  }
  Status write(const Json& j) {
    ++lines_;
    return writer_->write(j.dump() + "\n");
  }
  Status commit() { return writer_->commit(); }
  int64_t lines() const { return lines_; }

 private:
  explicit JsonlOut(std::unique_ptr<AtomicFileWriter> w) : writer_(std::move(w)) {}
  std::unique_ptr<AtomicFileWriter> writer_;
  int64_t lines_ = 0;
};

}  // namespace

Result<DemoSetReport> make_demo_sets(const DemoSetOptions& o) {
  if (!(o.eval_fraction > 0 && o.eval_fraction < 1)) return invalid_argument("eval fraction must be in (0, 1)");
  if (o.repeat_retrieval < 1) return invalid_argument("the repeat count of retrieval pairs must be >= 1");
  const fs::path faq_en = o.corpora / "faq_qa_en.jsonl", faq_ko = o.corpora / "faq_qa_ko.jsonl";
  const fs::path aligned = o.corpora / "ko_en_libreoffice_aligned.jsonl";
  for (const auto& f : {faq_en, faq_ko, aligned}) {
    std::error_code ec;
    if (!fs::is_regular_file(f, ec))
      return not_found(f.string() + " is missing; run `kanana data import-demo` (scripts/setup.sh) first");
  }
  std::error_code ec;
  fs::create_directories(o.out_dir, ec);
  if (ec) return errno_status(o.out_dir, "creating the output folder");

  DemoSetReport rep;
  // Inverse cloze: a sentence as the query, its document without it as the positive.
  auto write_ict = [&](JsonlOut& out, const std::string& text, const std::string& source) -> Status {
    auto sentences = sentence_spans(text, o.min_chars);
    if (sentences.size() < 3) return Status::ok();
    for (int64_t k = 0; k < o.ict_per_document; ++k) {
      const auto [b, e] = sentences[size_t(mix(o.seed + uint64_t(k), text) % sentences.size())];
      const std::string rest = std::string(trim(text.substr(0, b))) + "\n" + std::string(trim(text.substr(e)));
      KANANA_RETURN_IF_ERROR(out.write(Json{{"query", text.substr(b, e - b)}, {"positive", std::string(trim(rest))},
                                            {"source", "ict-" + source}}));
    }
    return Status::ok();
  };
  KANANA_ASSIGN_OR_RETURN(auto passages, JsonlOut::open(o.out_dir / "faq_passages.jsonl"));
  KANANA_ASSIGN_OR_RETURN(auto eval, JsonlOut::open(o.out_dir / "faq_eval.jsonl"));
  KANANA_ASSIGN_OR_RETURN(auto pairs, JsonlOut::open(o.out_dir / "train_pairs.jsonl"));
  // Held-out sections are decided per section number, so a section's Korean and English
  // questions are both held out (no cross-lingual leak from training into evaluation).
  auto held_out = [&](const std::string& section) {
    return double(mix(o.seed, "faq-section:" + section) >> 11) / double(1ull << 53) < o.eval_fraction;
  };
  std::set<std::string> eval_sections, train_sections;
  for (const auto& file : {faq_en, faq_ko}) {
    KANANA_ASSIGN_OR_RETURN(auto rows, read_objects(file));
    for (const auto& r : rows) {
      const std::string id = str(r, "id"), lang = str(r, "lang"), question = str(r, "question"),
                        section = str(r, "section"), text = str(r, "text");
      if (id.empty() || question.empty() || text.empty() || section.empty()) continue;
      const std::string pid = id + "/" + lang;
      KANANA_RETURN_IF_ERROR(passages.write(
          Json{{"id", pid}, {"lang", lang}, {"section", section}, {"question", question}, {"text", text}}));
      if (held_out(section)) {
        eval_sections.insert(section);
        KANANA_RETURN_IF_ERROR(eval.write(Json{{"query", question}, {"relevant", Json::array({pid})}, {"lang", lang}}));
      } else {
        train_sections.insert(section);
        for (int64_t r = 0; r < o.repeat_retrieval; ++r)
          KANANA_RETURN_IF_ERROR(pairs.write(Json{{"query", question}, {"positive", text}, {"source", "debian-faq-" + lang}}));
        KANANA_RETURN_IF_ERROR(write_ict(pairs, text, "debian-faq-" + lang));
      }
    }
  }
  // Installation guide: section title → section text (optional corpus).
  for (const char* name : {"install_guide_en.jsonl", "install_guide_ko.jsonl"}) {
    std::error_code ec;
    if (!fs::is_regular_file(o.corpora / name, ec)) continue;
    KANANA_ASSIGN_OR_RETURN(auto rows, read_objects(o.corpora / name));
    for (const auto& r : rows) {
      const std::string title = str(r, "title"), text = str(r, "text"), lang = str(r, "lang");
      if (utf8_length(title) < 4 || int64_t(utf8_length(text)) < 4 * o.min_chars) continue;
      // The text starts with its title: drop it so the pair is not a copy.
      std::string body = starts_with(text, title) ? std::string(trim(std::string_view(text).substr(title.size()))) : text;
      if (body.empty()) continue;
      for (int64_t r2 = 0; r2 < o.repeat_retrieval; ++r2)
        KANANA_RETURN_IF_ERROR(pairs.write(Json{{"query", title}, {"positive", body}, {"source", "installation-guide-" + lang}}));
      KANANA_RETURN_IF_ERROR(write_ict(pairs, body, "installation-guide-" + lang));
    }
  }
  // Translation pairs: real translations only, one direction per paragraph (both directions of
  // one paragraph in a batch would make a text its own negative), each English text once.
  KANANA_ASSIGN_OR_RETURN(auto rows, read_objects(aligned));
  std::vector<std::pair<std::string, std::string>> translations;  // (en, ko)
  std::set<std::string> seen_en, seen_ko;
  for (const auto& r : rows) {
    if (!r.contains("translated") || !r["translated"].is_boolean() || !r["translated"].get<bool>()) continue;
    std::string en = str(r, "en"), ko = str(r, "text");
    if (int64_t(utf8_length(en)) < o.min_chars || int64_t(utf8_length(ko)) < o.min_chars) continue;
    if (!seen_en.insert(en).second || !seen_ko.insert(ko).second) continue;
    translations.push_back({std::move(en), std::move(ko)});
  }
  std::vector<size_t> order(translations.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(o.seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[size_t(rng() % i)]);
  if (int64_t(order.size()) > o.max_aligned_pairs) order.resize(size_t(o.max_aligned_pairs));
  std::sort(order.begin(), order.end());  // file order: reproducible, shuffled by the trainer
  for (size_t i : order) {
    const auto& [en, ko] = translations[i];
    const bool en_first = mix(o.seed, en) & 1;
    KANANA_RETURN_IF_ERROR(pairs.write(Json{{"query", en_first ? en : ko},
                                            {"positive", en_first ? ko : en},
                                            {"source", en_first ? "libreoffice-en-ko" : "libreoffice-ko-en"}}));
  }
  KANANA_RETURN_IF_ERROR(passages.commit());
  KANANA_RETURN_IF_ERROR(eval.commit());
  KANANA_RETURN_IF_ERROR(pairs.commit());
  rep.written["faq_passages.jsonl"] = passages.lines();
  rep.written["faq_eval.jsonl"] = eval.lines();
  rep.written["train_pairs.jsonl"] = pairs.lines();
  rep.eval_sections = int64_t(eval_sections.size());
  rep.train_sections = int64_t(train_sections.size());
  return rep;
}

}  // namespace kanana::rag
