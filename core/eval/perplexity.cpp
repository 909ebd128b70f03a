// Perplexity and bits-per-byte per source and language (see runner.h).
//
// Every document is scored as its text tokens (no BOS/EOS of the pack) after one prefix token
// (BOS, else EOS — what it follows in a packed stream), in rolling windows of `window`
// predicted tokens; a window's first prediction only sees the token before it (lm-eval's
// loglikelihood_rolling with context 1). Bits per byte = Σ nll / (ln 2 · UTF-8 bytes of the
// text) does not depend on the tokenizer, so models with different vocabularies compare.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "base/strings.h"
#include "data/reader.h"
#include "eval/runner.h"
#include "eval/stats.h"
#include "shards/fertility.h"
#include "shards/shard.h"

namespace kanana::eval {

namespace fs = std::filesystem;

namespace {

struct Doc {
  std::string source;
  std::string lang;
  std::string where;          // "file:line" or "pack#doc"
  std::vector<int32_t> tokens;  // text tokens
  uint64_t bytes = 0;
  uint64_t words = 0;
  double nll = 0;
  int64_t predicted = 0;
};

uint64_t count_words(std::string_view text) {
  return shards::count_text(text).words;
}

std::string stem_of(const fs::path& p) {
  std::string s = p.filename().string();
  for (const char* ext : {".gz", ".zst", ".jsonl", ".json", ".ndjson", ".txt"}) {
    if (ends_with(s, ext)) s = s.substr(0, s.size() - std::string(ext).size());
  }
  return s.empty() ? p.string() : s;
}

Status read_pack(const EvalModel& model, const fs::path& dir, const PerplexityOptions& o, std::vector<Doc>* docs) {
  shards::Split split = shards::Split::kValidation;
  if (o.split == "train") {
    split = shards::Split::kTrain;
  } else if (o.split != "val") {
    return invalid_argument("--split must be val or train, got '" + o.split + "'");
  }
  KANANA_ASSIGN_OR_RETURN(auto set, shards::ShardSet::open(dir, split));
  const auto& m = set->manifest();
  if (!m.tokenizer_fingerprint.empty() && m.tokenizer_fingerprint != model.tokenizer().fingerprint()) {
    return invalid_argument(dir.string() + ": packed with tokenizer " + m.tokenizer_path + " (fingerprint " +
                            m.tokenizer_fingerprint + "), but the model's tokenizer is " + model.tokenizer_path() +
                            "; score the raw text instead (bits per byte compare across tokenizers)");
  }
  if (set->num_docs() == 0) {
    return invalid_argument(dir.string() + ": the " + shards::split_name(split) + " split is empty" +
                            (split == shards::Split::kValidation ? " (pack with --val-fraction, or --split train)" : ""));
  }
  const std::string source = m.source_name.empty() ? stem_of(dir) : m.source_name;
  uint64_t n = set->num_docs();
  if (o.max_docs > 0) n = std::min<uint64_t>(n, uint64_t(o.max_docs));
  for (uint64_t d = 0; d < n; ++d) {
    KANANA_ASSIGN_OR_RETURN(std::vector<int32_t> t, set->document(d));
    if (m.add_bos && m.bos_id && !t.empty() && t.front() == *m.bos_id) t.erase(t.begin());
    if (m.add_eos && m.eos_id && !t.empty() && t.back() == *m.eos_id) t.pop_back();
    if (t.empty()) continue;
    Doc doc;
    doc.source = source;
    doc.where = dir.string() + "#" + std::to_string(d);
    const std::string text = model.tokenizer().decode(t, /*skip_special=*/true);
    doc.bytes = text.size();
    doc.words = count_words(text);
    doc.lang = shards::guess_language(text);
    doc.tokens = std::move(t);
    if (doc.bytes > 0) docs->push_back(std::move(doc));
  }
  return Status::ok();
}

Status read_text(const EvalModel& model, const fs::path& input, const PerplexityOptions& o, std::vector<Doc>* docs) {
  data::ReaderOptions ro;
  ro.text_field = o.text_field;
  ro.lang_field = o.lang_field;
  KANANA_ASSIGN_OR_RETURN(auto reader, data::CorpusReader::open({input}, ro));
  data::Document d;
  std::vector<data::BadLine> bad;
  int64_t count = 0;
  while (o.max_docs <= 0 || count < o.max_docs) {
    KANANA_ASSIGN_OR_RETURN(bool more, reader->next_document(&d, &bad));
    if (!more) break;
    if (trim(d.text).empty()) continue;
    Doc doc;
    const fs::path& file = reader->files()[d.id.file_index];
    doc.source = stem_of(fs::is_directory(input) ? input : file);
    doc.where = file.string() + ":" + std::to_string(d.id.line);
    doc.bytes = d.text.size();
    doc.words = count_words(d.text);
    doc.lang = d.lang.empty() ? shards::guess_language(d.text) : to_lower_ascii(d.lang);
    doc.tokens = model.encode(d.text, false);
    if (doc.tokens.empty()) continue;
    docs->push_back(std::move(doc));
    ++count;
  }
  if (count == 0) {
    return invalid_argument(input.string() + ": no documents with text" +
                            (bad.empty() ? std::string()
                                         : " (" + std::to_string(bad.size()) + " bad lines, first: " + bad[0].file + ":" +
                                               std::to_string(bad[0].line) + ": " + bad[0].reason + ")"));
  }
  return Status::ok();
}

TaskResult group_result(const std::string& name, const std::vector<const Doc*>& docs, uint64_t seed) {
  TaskResult r;
  r.name = name;
  r.output_type = "loglikelihood_rolling";
  double nll = 0, bytes = 0, words = 0, tokens = 0;
  std::vector<double> nll_bits, doc_bytes;
  for (const Doc* d : docs) {
    nll += d->nll;
    bytes += double(d->bytes);
    words += double(d->words);
    tokens += double(d->predicted);
    nll_bits.push_back(d->nll / std::log(2.0));
    doc_bytes.push_back(double(d->bytes));
  }
  const double bpb = bytes > 0 ? nll / (std::log(2.0) * bytes) : 0;
  r.metrics["bits_per_byte,none"] = {bpb, bootstrap_ratio_stderr(nll_bits, doc_bytes, 1000, seed)};
  r.metrics["byte_perplexity,none"] = {bytes > 0 ? std::exp(nll / bytes) : 0, std::nullopt};
  r.metrics["word_perplexity,none"] = {words > 0 ? std::exp(nll / words) : 0, std::nullopt};
  r.metrics["token_perplexity,none"] = {tokens > 0 ? std::exp(nll / tokens) : 0, std::nullopt};
  r.higher_is_better = {{"bits_per_byte", false}, {"byte_perplexity", false}, {"word_perplexity", false},
                        {"token_perplexity", false}};
  r.original = r.effective = int64_t(docs.size());
  r.config = {{"documents", docs.size()}, {"bytes", bytes}, {"words", words}, {"tokens", tokens}, {"nll", nll}};
  return r;
}

}  // namespace

Result<std::vector<TaskResult>> run_perplexity(EvalModel& model, const PerplexityOptions& o, Progress* progress,
                                               const CancelToken* cancel) {
  if (o.inputs.empty()) return invalid_argument("no inputs to score (pack folders or text/JSONL files)");
  std::vector<Doc> docs;
  for (const auto& input : o.inputs) {
    if (fs::is_directory(input) && fs::exists(input / "manifest.json")) {
      KANANA_RETURN_IF_ERROR(read_pack(model, input, o, &docs));
    } else {
      KANANA_RETURN_IF_ERROR(read_text(model, input, o, &docs));
    }
  }
  const auto prefix = model.prefix_token();
  if (!prefix) return invalid_argument("the tokenizer has neither BOS nor EOS to start a document with");
  const int64_t window = o.window > 0 ? o.window : std::min<int64_t>(model.max_length(), 2048);
  if (window < 1) return invalid_argument("--window must be >= 1");

  // Rolling windows of every document: [t_{s}, ..., t_{s+window}] over prefix + tokens.
  std::vector<TokenWindow> windows;
  std::vector<size_t> owner;
  for (size_t i = 0; i < docs.size(); ++i) {
    std::vector<int32_t> seq;
    seq.reserve(docs[i].tokens.size() + 1);
    seq.push_back(*prefix);
    seq.insert(seq.end(), docs[i].tokens.begin(), docs[i].tokens.end());
    const int64_t n = int64_t(docs[i].tokens.size());
    for (int64_t s = 0; s < n; s += window) {
      const int64_t e = std::min<int64_t>(n, s + window);  // predicts seq[s+1 .. e]
      windows.push_back({std::vector<int32_t>(seq.begin() + s, seq.begin() + e + 1)});
      owner.push_back(i);
    }
  }
  const size_t chunk = 64;
  for (size_t begin = 0; begin < windows.size(); begin += chunk) {
    const size_t end = std::min(windows.size(), begin + chunk);
    std::vector<TokenWindow> part(windows.begin() + int64_t(begin), windows.begin() + int64_t(end));
    KANANA_ASSIGN_OR_RETURN(auto scored, score_windows(model.model(), part, o.batch_size, cancel));
    for (size_t k = 0; k < scored.size(); ++k) {
      docs[owner[begin + k]].nll += scored[k].first;
      docs[owner[begin + k]].predicted += scored[k].second;
    }
    if (progress) progress->update(int64_t(end), int64_t(windows.size()));
  }

  // Groups: all, all/<lang>, <source>, <source>/<lang>.
  // A per-language group of a source (or of all) with a single language repeats its parent: left out.
  std::map<std::string, std::set<std::string>> langs_of;
  for (const auto& d : docs) {
    langs_of["all"].insert(d.lang);
    langs_of[d.source].insert(d.lang);
  }
  std::map<std::string, std::vector<const Doc*>> groups;
  for (const auto& d : docs) {
    groups["ppl/all"].push_back(&d);
    if (langs_of["all"].size() > 1) groups["ppl/all/" + d.lang].push_back(&d);
    if (langs_of.size() > 2) groups["ppl/" + d.source].push_back(&d);  // more than one source
    if (langs_of[d.source].size() > 1 && langs_of.size() > 2) groups["ppl/" + d.source + "/" + d.lang].push_back(&d);
  }
  std::vector<TaskResult> out;
  Json inputs = Json::array();
  for (const auto& i : o.inputs) inputs.push_back(i.string());
  for (const auto& [name, members] : groups) {
    TaskResult r = group_result(name, members, o.seed);
    r.config["inputs"] = inputs;
    r.config["window"] = window;
    r.config["split"] = o.split;
    out.push_back(std::move(r));
  }
  // "ppl/all" first, with the per-document samples.
  std::stable_partition(out.begin(), out.end(), [](const TaskResult& r) { return r.name == "ppl/all"; });
  for (size_t i = 0; i < docs.size(); ++i) {
    const auto& d = docs[i];
    out.front().samples.push_back({{"doc_id", i},
                                   {"source", d.source},
                                   {"lang", d.lang},
                                   {"where", d.where},
                                   {"tokens", d.predicted},
                                   {"bytes", d.bytes},
                                   {"words", d.words},
                                   {"nll", d.nll},
                                   {"bits_per_byte", d.bytes ? d.nll / (std::log(2.0) * double(d.bytes)) : 0.0}});
  }
  return out;
}

}  // namespace kanana::eval
