// `kanana rag ...`: build a retrieval index over files and workspace datasets, query it
// (full-text, vector or hybrid, optionally printing the cited prompt), evaluate retrieval
// (recall@k, MRR) on a question → passage set, and make the demo training/evaluation sets.
// The work lives in core/rag and core/embed.
#include <torch/torch.h>

#include <cstdio>
#include <thread>

#include "base/strings.h"
#include "cli/registry.h"
#include "cli/workspace_args.h"
#include "embed/embedder.h"
#include "rag/demo_sets.h"
#include "rag/prompt.h"
#include "rag/rag_index.h"
#include "rag/retrieval_eval.h"

namespace kanana::cli {
namespace {

namespace fs = std::filesystem;

std::vector<OptionSpec> location_options(std::vector<OptionSpec> extra) {
  std::vector<OptionSpec> o = {
      {.name = "index", .value_name = "DIR", .help = "index folder (holds index.sqlite)", .short_name = 'i'},
      workspace_option(),  // without --index the index is <workspace>/rag/<name>
      {.name = "name", .value_name = "NAME", .help = "index name inside the workspace", .default_value = "default"},
      {.name = "threads", .value_name = "N", .help = "intra-op threads for embeddings (0 = all cores)", .default_value = "0", .env = "KANANA_THREADS"},
  };
  o.insert(o.end(), extra.begin(), extra.end());
  return o;
}

// The workspace by the CLI's convention (workspace_args.h), named on stderr.
Result<fs::path> chosen_workspace(const Args& a) {
  KANANA_ASSIGN_OR_RETURN(const WorkspaceChoice c, choose_workspace(a));
  std::fprintf(stderr, "workspace: %s (%s)\n", c.dir.c_str(), c.source.c_str());
  return c.dir;
}

Result<fs::path> index_dir(const Args& a) {
  if (!a.get("index").empty()) return fs::path(a.get("index"));
  KANANA_ASSIGN_OR_RETURN(const fs::path ws, chosen_workspace(a));
  return rag::workspace_index_dir(ws, a.get("name"));
}

Status set_threads(const Args& a) {
  KANANA_ASSIGN_OR_RETURN(int64_t t, a.get_int("threads"));
  if (t < 0) return invalid_argument("--threads must be 0 (all cores) or positive");
  torch::set_num_threads(t == 0 ? int(std::max(1u, std::thread::hardware_concurrency())) : int(t));
  return Status::ok();
}

Result<std::vector<int64_t>> int_list(const std::string& flag, const std::string& value) {
  std::vector<int64_t> out;
  for (const auto& part : split(value, ',')) {
    try {
      size_t used = 0;
      const long long v = std::stoll(std::string(trim(part)), &used);
      if (used != trim(part).size() || v <= 0) throw std::invalid_argument("");
      out.push_back(v);
    } catch (...) {
      return invalid_argument("--" + flag + " must be a comma-separated list of positive integers, got '" + value + "'");
    }
  }
  return out;
}

int run_index(const Args& a, Context& ctx) {
  auto dir = index_dir(a);
  if (!dir.is_ok()) return report_error(dir.status(), true);
  if (Status s = set_threads(a); !s.is_ok()) return report_error(s, true);
  std::vector<fs::path> inputs;
  for (const auto& p : a.positional()) inputs.emplace_back(p);
  for (const auto& d : a.get_all("dataset")) {
    auto ws = chosen_workspace(a);
    if (!ws.is_ok()) return report_error(ws.status().with_context("--dataset"));
    auto p = rag::workspace_dataset_path(*ws, d);
    if (!p.is_ok()) return report_error(p.status());
    inputs.push_back(*p);
  }
  if (inputs.empty()) return report_error(invalid_argument("nothing to index: give files/folders or --dataset NAME"), true);

  std::unique_ptr<rag::RagIndex> index;
  if (rag::RagIndex::exists(*dir)) {
    auto opened = rag::RagIndex::open(*dir);
    if (!opened.is_ok()) return report_error(opened.status());
    index = std::move(*opened);
    std::fprintf(stderr, "adding to the existing index %s (its chunk and model settings apply)\n", dir->string().c_str());
  } else {
    rag::IndexSettings st;
    auto chunk = a.get_int("chunk-tokens");
    auto overlap = a.get_int("overlap-tokens");
    auto exact_max = a.get_int("exact-max");
    for (const Status* s : {&chunk.status(), &overlap.status(), &exact_max.status()})
      if (!s->is_ok()) return report_error(*s, true);
    st.chunk.max_tokens = *chunk;
    st.chunk.overlap_tokens = *overlap;
    st.exact_max = *exact_max;
    st.vector_index = a.get("vector-index");
    st.text_field = a.get("text-field");
    st.id_field = a.get("id-field");
    if (a.has("query-instruction")) st.query_task = a.get("query-instruction");
    if (!a.get("tokenizer").empty()) st.tokenizer = a.get("tokenizer");
    std::shared_ptr<embed::Embedder> embedder;
    if (!a.get("model").empty()) {
      embed::EmbedderOptions eo;
      if (!a.get("tokenizer").empty()) eo.tokenizer = a.get("tokenizer");
      auto e = embed::load_embedder(a.get("model"), eo);
      if (!e.is_ok()) return report_error(e.status());
      for (const auto& w : (*e)->warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());
      embedder = std::move(*e);
    }
    auto created = rag::RagIndex::create(*dir, st, embedder);
    if (!created.is_ok()) return report_error(created.status(), created.status().code() == StatusCode::kInvalidArgument);
    index = std::move(*created);
  }
  std::unique_ptr<Progress> progress;
  if (!a.flag("quiet")) progress = make_terminal_progress("rag index");
  auto rep = index->add_paths(inputs, a.flag("strict"), progress.get(), ctx.cancel);
  if (!rep.is_ok()) return report_error(rep.status());
  for (size_t i = 0; i < std::min<size_t>(rep->problems.size(), 20); ++i)
    std::fprintf(stderr, "skipped: %s\n", rep->problems[i].c_str());
  if (rep->problems.size() > 20) std::fprintf(stderr, "skipped %zu more\n", rep->problems.size() - 20);
  auto stats = index->stats();
  if (!stats.is_ok()) return report_error(stats.status());
  std::printf("%s: %lld sources added, %lld replaced, %lld unchanged; %lld documents, %lld chunks added, %zu skipped; "
              "index has %lld chunks (%lld embedded, %s search)\n",
              dir->string().c_str(), (long long)rep->sources_added, (long long)rep->sources_replaced,
              (long long)rep->sources_unchanged, (long long)rep->documents, (long long)rep->chunks_added,
              rep->problems.size(), (long long)stats->chunks, (long long)stats->embedded_chunks,
              stats->vector_index.c_str());
  return kExitOk;
}

int run_query(const Args& a, Context&) {
  auto dir = index_dir(a);
  if (!dir.is_ok()) return report_error(dir.status(), true);
  if (Status s = set_threads(a); !s.is_ok()) return report_error(s, true);
  rag::SearchOptions so;
  auto mode = rag::parse_search_mode(a.get("mode"));
  auto k = a.get_int("k");
  auto cand = a.get_int("candidates");
  for (const Status* s : {&mode.status(), &k.status(), &cand.status()})
    if (!s->is_ok()) return report_error(*s, true);
  if (*k <= 0 || *cand <= 0) return report_error(invalid_argument("--k and --candidates must be positive"), true);
  so.mode = *mode;
  so.k = *k;
  so.candidates = *cand;
  auto index = rag::RagIndex::open(*dir, /*read_only=*/true);
  if (!index.is_ok()) return report_error(index.status());
  const std::string question = join(a.positional(), " ");
  auto hits = (*index)->search(question, so);
  if (!hits.is_ok()) return report_error(hits.status());
  if (a.flag("json")) {
    Json out = Json::array();
    for (const auto& h : *hits) {
      const auto& sp = h.chunk.span;
      out.push_back(Json{{"chunk_id", h.chunk.id}, {"score", h.score}, {"bm25_rank", h.bm25_rank},
                         {"vector_rank", h.vector_rank}, {"path", sp.path}, {"kind", sp.kind}, {"line", sp.line},
                         {"record_id", sp.record_id}, {"begin", sp.begin}, {"end", sp.end}, {"text", h.chunk.text}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  if (a.flag("prompt")) {
    const auto p = rag::build_rag_prompt(question, *hits);
    std::printf("=== system\n%s\n=== user\n%s\n=== citations\n", p.system.c_str(), p.user.c_str());
    for (const auto& c : p.citations) std::printf("[%d] %s\n", c.number, c.span.to_string().c_str());
    return kExitOk;
  }
  int n = 0;
  for (const auto& h : *hits) {
    std::string text(trim(h.chunk.text));
    for (auto& ch : text)
      if (ch == '\n') ch = ' ';
    if (text.size() > 300) {
      size_t cut = 300;
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
      text = text.substr(0, cut) + "…";
    }
    std::printf("[%d] %.4f  bm25#%lld vec#%lld  %s\n    %s\n", ++n, h.score, (long long)h.bm25_rank,
                (long long)h.vector_rank, h.chunk.span.to_string().c_str(), text.c_str());
  }
  if (hits->empty()) std::printf("no results\n");
  return kExitOk;
}

int run_eval(const Args& a, Context& ctx) {
  auto dir = index_dir(a);
  if (!dir.is_ok()) return report_error(dir.status(), true);
  if (Status s = set_threads(a); !s.is_ok()) return report_error(s, true);
  rag::EvalOptions eo;
  auto ks = int_list("k", a.get("k"));
  auto depth = a.get_int("depth");
  for (const Status* s : {&ks.status(), &depth.status()})
    if (!s->is_ok()) return report_error(*s, true);
  if (*depth <= 0) return report_error(invalid_argument("--depth must be positive"), true);
  eo.ks = *ks;
  eo.depth = *depth;
  eo.modes.clear();
  for (const auto& m : split(a.get("modes"), ',')) {
    auto mode = rag::parse_search_mode(std::string(trim(m)));
    if (!mode.is_ok()) return report_error(mode.status(), true);
    eo.modes.push_back(*mode);
  }
  auto set = rag::read_eval_set(a.get("questions"), a.flag("strict"));
  if (!set.is_ok()) return report_error(set.status());
  for (const auto& p : set->problems) std::fprintf(stderr, "skipped: %s\n", p.c_str());
  auto index = rag::RagIndex::open(*dir, /*read_only=*/true);
  if (!index.is_ok()) return report_error(index.status());
  std::unique_ptr<Progress> progress;
  if (!a.flag("quiet")) progress = make_terminal_progress("rag eval");
  auto metrics = rag::evaluate_retrieval(**index, set->questions, eo, progress.get(), ctx.cancel);
  if (!metrics.is_ok()) return report_error(metrics.status());
  std::printf("%-8s %9s", "mode", "questions");
  for (int64_t k : eo.ks) std::printf(" %9s", ("recall@" + std::to_string(k)).c_str());
  std::printf(" %7s %9s\n", "MRR", "ms/query");
  for (const auto& m : *metrics) {
    std::printf("%-8s %9lld", rag::search_mode_name(m.mode), (long long)m.questions);
    for (int64_t k : eo.ks) std::printf(" %9.3f", m.recall_at.at(k));
    std::printf(" %7.3f %9.2f\n", m.mrr, m.mean_query_ms);
  }
  if (!a.get("json").empty()) {
    Json out{{"index", dir->string()}, {"questions_file", a.get("questions")}, {"depth", eo.depth},
             {"metrics", rag::eval_metrics_json(*metrics)}};
    if (Status s = write_json_file(a.get("json"), out); !s.is_ok()) return report_error(s);
  }
  return kExitOk;
}

int run_make_pairs(const Args& a, Context&) {
  rag::DemoSetOptions o;
  o.corpora = a.get("corpora");
  o.out_dir = a.get("out");
  auto frac = a.get_double("eval-fraction");
  auto seed = a.get_int("seed");
  auto max_aligned = a.get_int("max-aligned");
  auto repeat = a.get_int("repeat-retrieval");
  auto ict = a.get_int("ict");
  for (const Status* s : {&frac.status(), &seed.status(), &max_aligned.status(), &repeat.status(), &ict.status()})
    if (!s->is_ok()) return report_error(*s, true);
  o.eval_fraction = *frac;
  o.seed = uint64_t(*seed);
  o.max_aligned_pairs = *max_aligned;
  o.repeat_retrieval = *repeat;
  o.ict_per_document = *ict;
  if (*ict < 0) return report_error(invalid_argument("--ict must be >= 0"), true);
  auto rep = rag::make_demo_sets(o);
  if (!rep.is_ok()) return report_error(rep.status(), rep.status().code() == StatusCode::kInvalidArgument);
  for (const auto& [file, n] : rep->written)
    std::printf("%s: %lld lines\n", (o.out_dir / file).string().c_str(), (long long)n);
  std::printf("FAQ sections: %lld for training, %lld held out for evaluation\n", (long long)rep->train_sections,
              (long long)rep->eval_sections);
  return kExitOk;
}

std::string default_corpora() {
  const char* env = std::getenv("KANANA_DATA_CACHE");
  if (env && *env) return std::string(env) + "/corpora";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/kanana-workbench/corpora";
}

}  // namespace

KANANA_COMMAND(rag_index) {
  return {.path = "rag index",
          .summary = "chunk, embed and index files, folders and workspace datasets for retrieval",
          .description =
              "Creates the index on first use (chunk size, model and vector index are fixed then) and adds "
              "PATHs: text, Markdown, HTML (tags stripped; offsets kept) and JSONL (one document per line). "
              "A changed file replaces its chunks; an unchanged one is skipped. Without --model the index "
              "is full-text only (BM25 over an FTS5 trigram table) and needs --tokenizer for chunk sizes.",
          .options = location_options({
              {.name = "model", .value_name = "DIR", .help = "embedding model (kanana2vec) for vector search"},
              {.name = "tokenizer", .value_name = "PATH", .help = "tokenizer for chunk sizes (default: the model's)"},
              {.name = "dataset", .value_name = "NAME", .help = "a JSONL dataset of --workspace (repeatable)", .repeated = true},
              {.name = "chunk-tokens", .value_name = "N", .help = "tokens per chunk at most", .default_value = "200"},
              {.name = "overlap-tokens", .value_name = "N", .help = "tokens repeated between chunks at most", .default_value = "40"},
              {.name = "vector-index", .value_name = "KIND", .help = "auto | exact | hnsw", .default_value = "auto"},
              {.name = "exact-max", .value_name = "N", .help = "auto: exact search up to N chunks, HNSW above", .default_value = "20000"},
              {.name = "query-instruction", .value_name = "TEXT", .help = "task description for query embeddings", .default_value = embed::kRetrievalInstruction},
              {.name = "text-field", .value_name = "F", .help = "JSONL field with the text", .default_value = "text"},
              {.name = "id-field", .value_name = "F", .help = "JSONL field with the document id", .default_value = "id"},
              {.name = "strict", .help = "a malformed input line is an error instead of being skipped"},
              {.name = "quiet", .help = "no progress output", .short_name = 'q'}}),
          .positional = {"PATH...", 0, -1},
          .run = run_index};
}

KANANA_COMMAND(rag_query) {
  return {.path = "rag query",
          .summary = "search a RAG index (bm25, vector or hybrid) and show passages or the cited prompt",
          .options = location_options({
              {.name = "mode", .value_name = "MODE", .help = "bm25 | vector | hybrid", .default_value = "hybrid"},
              {.name = "k", .value_name = "N", .help = "results", .default_value = "5"},
              {.name = "candidates", .value_name = "N", .help = "depth of each list before hybrid fusion", .default_value = "50"},
              {.name = "prompt", .help = "print the RAG prompt with numbered citations instead"},
              {.name = "json", .help = "print the hits as JSON (with source offsets)"}}),
          .positional = {"QUESTION...", 1, -1},
          .run = run_query};
}

KANANA_COMMAND(rag_eval) {
  return {.path = "rag eval",
          .summary = "recall@k and MRR of bm25, vector and hybrid retrieval on a question set",
          .description = "QUESTIONS is JSONL {\"query\": ..., \"relevant\": [document id, ...]}; a document id is the "
                         "indexed JSONL record's id (else its file path). `kanana rag make-pairs` writes one from the "
                         "Debian FAQ (faq_eval.jsonl, to run on an index of faq_passages.jsonl).",
          .options = location_options({
              {.name = "questions", .value_name = "FILE", .help = "question set (JSONL)", .required = true},
              {.name = "k", .value_name = "LIST", .help = "cut-offs for recall", .default_value = "1,5,10"},
              {.name = "modes", .value_name = "LIST", .help = "modes to compare", .default_value = "bm25,vector,hybrid"},
              {.name = "depth", .value_name = "N", .help = "chunks retrieved per list (MRR is cut here)", .default_value = "100"},
              {.name = "json", .value_name = "FILE", .help = "also write the metrics as JSON"},
              {.name = "strict", .help = "a malformed question line is an error"},
              {.name = "quiet", .help = "no progress output", .short_name = 'q'}}),
          .run = run_eval};
}

KANANA_COMMAND(rag_make_pairs) {
  return {.path = "rag make-pairs",
          .summary = "build embedding training pairs and the FAQ retrieval set from the demo corpora",
          .description = "Writes train_pairs.jsonl (LibreOffice en<->ko translations, Debian FAQ question->answer of the "
                         "training sections, installation-guide title->text), faq_passages.jsonl (all FAQ answers, ko and en) and faq_eval.jsonl (the "
                         "held-out FAQ questions with their answer's id).",
          .options = {{.name = "corpora", .value_name = "DIR", .help = "imported corpora (kanana data import-demo)", .default_value = default_corpora()},
                      {.name = "out", .value_name = "DIR", .help = "output folder", .required = true, .short_name = 'o'},
                      {.name = "eval-fraction", .value_name = "F", .help = "FAQ sections held out for evaluation", .default_value = "0.3"},
                      {.name = "seed", .value_name = "N", .help = "split and sampling seed", .default_value = "1"},
                      {.name = "max-aligned", .value_name = "N", .help = "translation pairs kept at most", .default_value = "20000"},
                      {.name = "repeat-retrieval", .value_name = "N", .help = "write FAQ and installation-guide pairs N times", .default_value = "1"},
                      {.name = "ict", .value_name = "N", .help = "inverse-cloze pairs (sentence -> rest of its document) per training document", .default_value = "0"}},
          .run = run_make_pairs};
}

}  // namespace kanana::cli
