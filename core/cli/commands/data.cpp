// `kanana data ...`: corpus inspection and filtering (Kanana's web pipeline: dedup →
// heuristic filters → PII anonymization), and the demo corpus importer. The work lives in
// core/data; these commands parse flags and print where the results went.
#include <cstdio>
#include <functional>
#include <thread>

#include "cli/registry.h"
#include "data/corpus_jobs.h"
#include "data/demo_import.h"
#include "data/lang_id.h"
#include "data/quality_classifier.h"

namespace kanana::cli {
namespace {

std::vector<OptionSpec> corpus_options(std::vector<OptionSpec> extra) {
  std::vector<OptionSpec> o = {
      {.name = "out", .value_name = "DIR", .help = "output folder (created; results are renamed into place at the end)",
       .required = true, .short_name = 'o'},
      {.name = "text-field", .value_name = "F", .help = "JSONL field holding the text (dotted path: meta.body)", .default_value = "text"},
      {.name = "format", .value_name = "FMT", .help = "auto | jsonl | text (auto: .jsonl/.json in the name means JSONL)", .default_value = "auto"},
      {.name = "text-unit", .value_name = "U", .help = "for text files: file (one document each) | paragraph", .default_value = "file"},
      {.name = "max-line-mb", .value_name = "N", .help = "lines longer than this are reported as bad lines", .default_value = "100"},
      {.name = "threads", .value_name = "N", .help = "worker threads (0 = all cores)", .default_value = "0", .env = "KANANA_THREADS"},
      {.name = "quiet", .help = "no progress output", .short_name = 'q'},
      {.name = "resume", .help = "continue an interrupted run from DIR/.partial (inputs and options must be unchanged)"},
      {.name = "overwrite", .help = "replace the results of an earlier run in DIR (they stay until this run publishes)"},
      {.name = "checkpoint-every", .value_name = "N", .help = "save resumable progress every N records", .default_value = "200000"},
      {.name = "checkpoint-seconds", .value_name = "S", .help = "and at least every S seconds (0 = by records only)", .default_value = "5"},
  };
  o.insert(o.end(), extra.begin(), extra.end());
  return o;
}

// Flags shared by every corpus job → options; a usage error names the flag.
Result<data::CorpusJobOptions> corpus_job_options(const Args& a, Context& ctx) {
  data::CorpusJobOptions o;
  for (const auto& p : a.positional()) o.inputs.emplace_back(p);
  o.out_dir = a.get("out");
  o.reader.text_field = a.get("text-field");
  const std::string fmt = a.get("format");
  if (fmt == "jsonl") o.reader.format = data::InputFormat::kJsonl;
  else if (fmt == "text") o.reader.format = data::InputFormat::kText;
  else if (fmt != "auto") return invalid_argument("--format must be auto, jsonl or text, got '" + fmt + "'");
  const std::string unit = a.get("text-unit");
  if (unit == "paragraph") o.reader.text_unit = data::TextUnit::kParagraph;
  else if (unit != "file") return invalid_argument("--text-unit must be file or paragraph, got '" + unit + "'");
  KANANA_ASSIGN_OR_RETURN(int64_t mb, a.get_int("max-line-mb"));
  if (mb <= 0) return invalid_argument("--max-line-mb must be positive");
  o.reader.max_line_bytes = static_cast<uint64_t>(mb) << 20;
  o.reader.max_document_bytes = o.reader.max_line_bytes;
  KANANA_ASSIGN_OR_RETURN(int64_t threads, a.get_int("threads"));
  if (threads < 0) return invalid_argument("--threads must be 0 (all cores) or positive");
  o.threads = threads == 0 ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) : static_cast<int>(threads);
  KANANA_ASSIGN_OR_RETURN(int64_t every, a.get_int("checkpoint-every"));
  if (every < 1) return invalid_argument("--checkpoint-every must be a positive number of records");
  o.checkpoint_every_records = static_cast<uint64_t>(every);
  KANANA_ASSIGN_OR_RETURN(o.checkpoint_every_seconds, a.get_double("checkpoint-seconds"));
  if (o.checkpoint_every_seconds < 0) return invalid_argument("--checkpoint-seconds must be 0 or positive");
  o.resume = a.flag("resume");
  o.overwrite = a.flag("overwrite");
  o.cancel = ctx.cancel;
  return o;
}

// Run one job with a terminal progress bar; print where the results are.
int run_job(const Args& a, Context& ctx, const char* label,
            const std::function<Result<data::CorpusJobOptions>(data::CorpusJobOptions)>& customize,
            Result<Json> (*job)(const data::CorpusJobOptions&)) {
  auto base = corpus_job_options(a, ctx);
  if (!base.is_ok()) return report_error(base.status(), true);
  auto o = customize(std::move(base).value());
  if (!o.is_ok()) return report_error(o.status(), true);
  std::unique_ptr<Progress> progress;
  if (!a.flag("quiet")) { progress = make_terminal_progress(label); o->progress = progress.get(); }
  auto summary = job(*o);
  if (!summary.is_ok()) return report_error(summary.status());
  std::printf("%s: %llu documents, %llu bad lines, %.1f MB/s; results in %s\n", label,
              static_cast<unsigned long long>((*summary)["documents"].get<uint64_t>()),
              static_cast<unsigned long long>((*summary)["bad_lines"].get<uint64_t>()),
              (*summary)["mb_per_second"].get<double>(), o->out_dir.string().c_str());
  return kExitOk;
}


const char* kPositionalHelp = "INPUT...";

}  // namespace

KANANA_COMMAND(data_scan) {
  return {.path = "data scan",
          .summary = "compute per-document quality signals (scripts, repetition, line shape, language)",
          .description = "Writes signals.jsonl (one line per input record, input order) and summary.json.",
          .options = corpus_options({{.name = "lid-model", .value_name = "FILE",
                                      .help = "fastText lid.176 model (default: the data cache's, if present)"},
                                     {.name = "no-lid", .help = "skip language identification"}}),
          .positional = {kPositionalHelp, 1, -1},
          .run = [](const Args& a, Context& ctx) -> int {
            return run_job(a, ctx, "scan", [&](data::CorpusJobOptions o) -> Result<data::CorpusJobOptions> {
              if (a.flag("no-lid")) return o;
              o.lid_model = a.get("lid-model");
              if (o.lid_model.empty() && std::filesystem::exists(data::default_lid_model_path())) o.lid_model = data::default_lid_model_path();
              return o;
            }, &data::run_scan_job);
          }};
}

KANANA_COMMAND(data_filter) {
  return {.path = "data filter",
          .summary = "apply a heuristic filter recipe (Gopher, C4, FineWeb, language, Korean variants)",
          .description = "Writes decisions.jsonl (keep, first removing rule, all failing rules per record),\n"
                         "kept.jsonl (kept records unchanged) and summary.json (counts per rule).",
          .options = corpus_options({{.name = "recipe", .value_name = "FILE", .help = "filter recipe JSON (default: resources/recipes/filters/kanana-web.json)"},
                                     {.name = "lid-model", .value_name = "FILE", .help = "fastText lid.176 model for language rules"}}),
          .positional = {kPositionalHelp, 1, -1},
          .run = [](const Args& a, Context& ctx) -> int {
            return run_job(a, ctx, "filter", [&](data::CorpusJobOptions o) -> Result<data::CorpusJobOptions> {
              o.recipe = a.get("recipe");
              o.lid_model = a.get("lid-model");
              return o;
            }, &data::run_filter_job);
          }};
}

KANANA_COMMAND(data_dedup) {
  return {.path = "data dedup",
          .summary = "find exact and near-duplicate documents (normalized hash + MinHash-LSH), keep the first",
          .description = "Writes clusters.jsonl (cluster, representative, duplicate_of per record), kept.jsonl\n"
                         "and summary.json. Korean text is shingled by characters, other text by words.\n"
                         "Resumable: the partial state keeps every document's MinHash fingerprint (about\n"
                         "4 bytes x permutations per document), replayed into the index on --resume.",
          .options = corpus_options({{.name = "unit", .value_name = "U", .help = "auto | word | char shingles", .default_value = "auto"},
                                     {.name = "ngram", .value_name = "N", .help = "words per shingle", .default_value = "5"},
                                     {.name = "char-ngram", .value_name = "N", .help = "characters per shingle", .default_value = "5"},
                                     {.name = "bands", .value_name = "B", .help = "LSH bands", .default_value = "14"},
                                     {.name = "rows", .value_name = "R", .help = "rows per band (permutations = B x R)", .default_value = "8"},
                                     {.name = "verify", .value_name = "J", .help = "confirm candidates by MinHash similarity >= J (0 = off)", .default_value = "0"},
                                     {.name = "exact-only", .help = "skip near-duplicate detection"}}),
          .positional = {kPositionalHelp, 1, -1},
          .run = [](const Args& a, Context& ctx) -> int {
            return run_job(a, ctx, "dedup", [&](data::CorpusJobOptions o) -> Result<data::CorpusJobOptions> {
              const std::string unit = a.get("unit");
              if (unit == "word") o.dedup.unit = data::ShingleUnit::kWord;
              else if (unit == "char") o.dedup.unit = data::ShingleUnit::kChar;
              else if (unit != "auto") return invalid_argument("--unit must be auto, word or char, got '" + unit + "'");
              KANANA_ASSIGN_OR_RETURN(int64_t n, a.get_int("ngram"));
              KANANA_ASSIGN_OR_RETURN(int64_t cn, a.get_int("char-ngram"));
              KANANA_ASSIGN_OR_RETURN(int64_t b, a.get_int("bands"));
              KANANA_ASSIGN_OR_RETURN(int64_t r, a.get_int("rows"));
              KANANA_ASSIGN_OR_RETURN(double v, a.get_double("verify"));
              if (n < 1 || cn < 1 || b < 1 || r < 1) return invalid_argument("--ngram, --char-ngram, --bands and --rows must be positive");
              o.dedup.word_ngram = static_cast<int>(n);
              o.dedup.char_ngram = static_cast<int>(cn);
              o.dedup.bands = static_cast<int>(b);
              o.dedup.rows = static_cast<int>(r);
              o.dedup.num_perm = o.dedup.bands * o.dedup.rows;
              o.dedup.verify_jaccard = v;
              o.dedup.near = !a.flag("exact-only");
              return o;
            }, &data::run_dedup_job);
          }};
}

KANANA_COMMAND(data_pii) {
  return {.path = "data pii",
          .summary = "replace e-mails, phone numbers, Korean RRNs, card numbers and IPs with placeholders",
          .description = "Writes anonymized.jsonl (text with <EMAIL>/<PHONE>/<KR_RRN>/<CARD>/<IP>, spans and counts\n"
                         "per record) and summary.json (counts per type).",
          .options = corpus_options({{.name = "rrn-checksum", .help = "also require the RRN check digit"},
                                     {.name = "skip", .value_name = "TYPE", .help = "do not detect TYPE (email, phone, kr_rrn, card, ip)", .repeated = true}}),
          .positional = {kPositionalHelp, 1, -1},
          .run = [](const Args& a, Context& ctx) -> int {
            return run_job(a, ctx, "pii", [&](data::CorpusJobOptions o) -> Result<data::CorpusJobOptions> {
              o.pii.rrn_checksum = a.flag("rrn-checksum");
              for (const auto& t : a.get_all("skip")) {
                if (t == "email") o.pii.email = false;
                else if (t == "phone") o.pii.phone = false;
                else if (t == "kr_rrn") o.pii.kr_rrn = false;
                else if (t == "card") o.pii.card = false;
                else if (t == "ip") o.pii.ip = false;
                else return invalid_argument("--skip: unknown PII type '" + t + "' (email, phone, kr_rrn, card, ip)");
              }
              return o;
            }, &data::run_pii_job);
          }};
}

KANANA_COMMAND(data_import_demo) {
  return {.path = "data import-demo",
          .summary = "convert the fetched demo sources in the data cache to JSONL corpora",
          .description = "Reads what scripts/fetch/corpora.sh unpacked into the cache (LibreOffice help ko/en,\n"
                         "Debian FAQ ko/en, installation guide ko/en, State of the Union, Brown corpus) and the\n"
                         "system's Korean gettext catalogs, and writes <cache>/corpora/*.jsonl.",
          .options = {{.name = "cache", .value_name = "DIR", .help = "data cache folder", .env = "KANANA_DATA_CACHE"},
                      {.name = "locale-dir", .value_name = "DIR", .help = "gettext catalogs root", .default_value = "/usr/share/locale"},
                      {.name = "bilingual-mb", .value_name = "N", .help = "size of demo_bilingual.jsonl in MB", .default_value = "4"}},
          .run = [](const Args& args, Context& ctx) -> int {
            data::DemoImportOptions o;
            o.cache = args.get("cache");
            if (o.cache.empty()) {
              const char* home = std::getenv("HOME");
              o.cache = std::filesystem::path(home ? home : ".") / ".cache/kanana-workbench";
            }
            o.locale_dir = args.get("locale-dir");
            auto mb = args.get_int("bilingual-mb");
            if (!mb.is_ok() || *mb <= 0) return report_error(invalid_argument("--bilingual-mb must be a positive integer"), true);
            o.bilingual_bytes = static_cast<uint64_t>(*mb) << 20;
            auto rep = data::import_demo_corpora(o, ctx.cancel);
            if (!rep.is_ok()) return report_error(rep.status());
            for (const auto& [file, n] : rep->documents)
              std::printf("%-36s %8llu lines\n", file.c_str(), static_cast<unsigned long long>(n));
            for (const auto& s : rep->skipped) std::fprintf(stderr, "skipped: %s\n", s.c_str());
            std::printf("corpora written to %s\n", (o.cache / "corpora").string().c_str());
            return kExitOk;
          }};
}

KANANA_COMMAND(data_classify) {
  return {.path = "data classify",
          .summary = "score documents with a fastText quality classifier and keep those above a threshold",
          .description = "Writes scores.jsonl (probability of --label per record), kept.jsonl and summary.json.\n"
                         "Train the model with `kanana data classify-train`.",
          .options = corpus_options({{.name = "model", .value_name = "FILE", .help = "fastText classifier (.bin)", .required = true},
                                     {.name = "label", .value_name = "L", .help = "label whose probability is the score", .default_value = "hq"},
                                     {.name = "threshold", .value_name = "P", .help = "keep when score >= P", .default_value = "0.5"}}),
          .positional = {kPositionalHelp, 1, -1},
          .run = [](const Args& a, Context& ctx) -> int {
            return run_job(a, ctx, "classify", [&](data::CorpusJobOptions o) -> Result<data::CorpusJobOptions> {
              o.classifier = a.get("model");
              o.classifier_label = a.get("label");
              KANANA_ASSIGN_OR_RETURN(o.classifier_threshold, a.get_double("threshold"));
              if (o.classifier_threshold < 0 || o.classifier_threshold > 1) return invalid_argument("--threshold must be in [0, 1]");
              return o;
            }, &data::run_classify_job);
          }};
}

KANANA_COMMAND(data_classify_train) {
  return {.path = "data classify-train",
          .summary = "train a fastText quality classifier from labelled JSONL and report held-out precision/recall",
          .options = {{.name = "out", .value_name = "FILE", .help = "model file to write (.bin)", .required = true, .short_name = 'o'},
                      {.name = "text-field", .value_name = "F", .help = "text field", .default_value = "text"},
                      {.name = "label-field", .value_name = "F", .help = "label field", .default_value = "label"},
                      {.name = "held-out", .value_name = "X", .help = "fraction kept for evaluation", .default_value = "0.1"},
                      {.name = "epoch", .value_name = "N", .help = "training epochs", .default_value = "10"},
                      {.name = "threads", .value_name = "N", .help = "training threads", .default_value = "1"}},
          .positional = {"DATA.jsonl", 1, 1},
          .run = [](const Args& a, Context& ctx) -> int {
            data::ClassifierTrainOptions o;
            o.data = a.positional()[0];
            o.model_out = a.get("out");
            o.text_field = a.get("text-field");
            o.label_field = a.get("label-field");
            auto held = a.get_double("held-out");
            auto epoch = a.get_int("epoch");
            auto threads = a.get_int("threads");
            if (!held.is_ok()) return report_error(held.status(), true);
            if (!epoch.is_ok() || *epoch < 1) return report_error(invalid_argument("--epoch must be a positive integer"), true);
            if (!threads.is_ok() || *threads < 1) return report_error(invalid_argument("--threads must be a positive integer"), true);
            o.held_out = *held;
            o.epoch = static_cast<int>(*epoch);
            o.threads = static_cast<int>(*threads);
            o.cancel = ctx.cancel;
            auto rep = data::train_quality_classifier(o);
            if (!rep.is_ok()) return report_error(rep.status(), rep.status().code() == StatusCode::kInvalidArgument);
            std::printf("trained on %llu documents, evaluated on %llu (%llu skipped); accuracy %.4f\n",
                        static_cast<unsigned long long>(rep->train_docs), static_cast<unsigned long long>(rep->eval_docs),
                        static_cast<unsigned long long>(rep->skipped), rep->accuracy);
            for (const auto& [label, m] : rep->labels)
              std::printf("  %-16s precision %.4f recall %.4f f1 %.4f (support %llu)\n", label.c_str(), m.precision, m.recall,
                          m.f1, static_cast<unsigned long long>(m.support));
            std::printf("model: %s\n", o.model_out.string().c_str());
            return kExitOk;
          }};
}

}  // namespace kanana::cli
