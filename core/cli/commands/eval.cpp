// `kanana eval ...`: evaluate a checkpoint folder.
//   eval mc        multiple choice by log-likelihood (KMMLU, MMLU, HAE-RAE layouts or a task spec)
//   eval gen       greedy generation + answer extraction + exact match (GSM8K layout or a spec)
//   eval ppl       perplexity and bits-per-byte per source and language (packs' val split, text)
//   eval decontam  n-gram overlap between an eval set and training corpora or token shards
// Results are written lm-evaluation-harness style (--output FILE, per-item samples next to it),
// recorded in a workspace with --workspace, and, with --run-dir (how a job runs it), streamed
// as events into DIR/events.jsonl with DIR/results.json.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "base/files.h"
#include "base/json.h"
#include "base/strings.h"
#include "cli/registry.h"
#include "cli/sampling_args.h"
#include "eval/answer_extract.h"
#include "eval/decontam.h"
#include "eval/eval_job.h"
#include "eval/eval_model.h"
#include "eval/record.h"
#include "eval/runner.h"
#include "jobs/events.h"
#include "store/workspace.h"

namespace kanana::cli {

namespace {

namespace fs = std::filesystem;

// ---- options shared by mc / gen / ppl; their --help defaults are eval::ModelOptions',
// eval::RunOptions' and eval::PerplexityOptions' own (eval/eval_model.h, eval/runner.h).

const eval::ModelOptions kModelDefaults;
const eval::RunOptions kRunDefaults;
const eval::PerplexityOptions kPplDefaults;

const std::vector<OptionSpec> kModelOptions = {
    {.name = "model", .value_name = "DIR", .help = "checkpoint folder (Hugging Face layout)", .required = true, .short_name = 'm'},
    {.name = "tokenizer", .value_name = "PATH", .help = "tokenizer file or folder (default: the model's, or its run's tokenizer/)"},
    {.name = "dtype", .value_name = "f32|bf16|f16", .help = "compute dtype", .default_value = kModelDefaults.dtype},
    {.name = "add-bos", .value_name = "auto|yes|no", .help = "prepend BOS to contexts (auto: when config.json and the tokenizer have one; lm-eval's HF default is no)", .default_value = kModelDefaults.add_bos},
    threads_option(),
    {.name = "batch-size", .value_name = "N", .help = "rows per forward pass (choices; prompts for gen; windows for ppl)", .default_value = std::to_string(kRunDefaults.batch_size)},
    {.name = "max-length", .value_name = "N", .help = "context window in tokens (default: max_position_embeddings)", .default_value = std::to_string(kRunDefaults.max_length)},
    {.name = "limit", .value_name = "N", .help = "only the first N items of each task (0 = all)", .default_value = std::to_string(kRunDefaults.limit)},
    {.name = "seed", .value_name = "N", .help = "few-shot sampling and bootstrap seed", .default_value = std::to_string(kRunDefaults.seed)},
    {.name = "output", .value_name = "FILE", .help = "results JSON (lm-eval layout); per-item samples JSONL are written next to it", .short_name = 'o'},
    {.name = "overwrite", .help = "replace an existing --output file"},
    {.name = "run-dir", .value_name = "DIR", .help = "run as a job: events.jsonl + results.json in DIR"},
    {.name = "workspace", .value_name = "DIR", .help = "record the results (eval_results, lineage to the checkpoint) in this workspace", .env = "KANANA_WORKSPACE", .short_name = 'w'},
    {.name = "run-name", .value_name = "NAME", .help = "name of the workspace run (default: eval <tasks>)"},
};

const std::vector<OptionSpec> kTaskOptions = {
    {.name = "task", .value_name = "FILE", .help = "task: a JSONL file (layout detected) or a task spec .json (repeatable)", .repeated = true, .required = true, .short_name = 't'},
    {.name = "layout", .value_name = "NAME", .help = "kmmlu | mmlu | haerae | gsm8k | generic (default: detected)"},
    {.name = "num-fewshot", .value_name = "K", .help = "few-shot examples per item (default: the task's, 0)", .default_value = std::to_string(kRunDefaults.num_fewshot)},
    {.name = "fewshot-file", .value_name = "FILE", .help = "draw few-shot examples from this file (default: the task file without the item)"},
    {.name = "skip-bad-items", .help = "skip malformed items (reported) instead of failing on the first"},
};

// Where results go and how the run is reported (files, events, workspace).
struct Session {
  fs::path output;
  std::unique_ptr<eval::EvalRunEvents> events;
  std::string workspace;
  std::string run_name;

  int fail(const Status& s, bool usage = false) {
    if (events) {
      if (s.code() == StatusCode::kCancelled) {
        (void)events->cancelled();
      } else {
        (void)events->failed(s.message());
      }
    }
    return report_error(s, usage);
  }
};

Result<Session> open_session(const Args& a, const std::string& what) {
  Session s;
  if (a.has("output")) s.output = a.get("output");
  if (!s.output.empty()) {
    // --output pointed at a task file (or any input) would overwrite it; an existing results
    // file is replaced only when asked. Both before anything runs or is written.
    std::vector<fs::path> inputs;
    for (const auto& t : a.get_all("task")) inputs.emplace_back(t);
    if (a.has("fewshot-file") && !a.get("fewshot-file").empty()) inputs.emplace_back(a.get("fewshot-file"));
    for (const auto& p : a.positional()) inputs.emplace_back(p);
    KANANA_RETURN_IF_ERROR(check_not_input(s.output, inputs, "--output"));
    KANANA_RETURN_IF_ERROR(check_output_target(s.output, a.flag("overwrite"), "--output"));
  }
  if (a.has("run-dir") && !a.get("run-dir").empty()) {
    const fs::path dir = a.get("run-dir");
    KANANA_ASSIGN_OR_RETURN(s.events, eval::EvalRunEvents::open(dir));
    if (s.output.empty()) s.output = dir / "results.json";
    KANANA_RETURN_IF_ERROR(s.events->running(what));
  }
  if (a.has("workspace")) s.workspace = a.get("workspace");
  if (a.has("run-name")) s.run_name = a.get("run-name");
  return s;
}

Result<eval::RunOptions> run_options(const Args& a) {
  eval::RunOptions o;
  KANANA_ASSIGN_OR_RETURN(int64_t limit, a.get_int("limit"));
  KANANA_ASSIGN_OR_RETURN(int64_t seed, a.get_int("seed"));
  KANANA_ASSIGN_OR_RETURN(int64_t batch, a.get_int("batch-size"));
  KANANA_ASSIGN_OR_RETURN(int64_t max_len, a.get_int("max-length"));
  if (limit < 0) return invalid_argument("--limit must be >= 0");
  if (batch < 1) return invalid_argument("--batch-size must be >= 1");
  if (max_len < 0) return invalid_argument("--max-length must be >= 0");
  o.limit = limit;
  o.seed = uint64_t(seed);
  o.batch_size = batch;
  o.max_length = max_len;
  if (a.has("num-fewshot")) {
    KANANA_ASSIGN_OR_RETURN(int64_t k, a.get_int("num-fewshot"));
    if (k < -1) return invalid_argument("--num-fewshot must be >= 0");
    o.num_fewshot = int(k);
  }
  o.skip_bad_items = a.flag("skip-bad-items");
  return o;
}

Result<std::vector<eval::TaskSpec>> task_specs(const Args& a) {
  std::optional<eval::Layout> layout;
  if (a.has("layout") && !a.get("layout").empty()) {
    KANANA_ASSIGN_OR_RETURN(layout, eval::parse_layout(a.get("layout")));
  }
  std::vector<eval::TaskSpec> out;
  for (const auto& t : a.get_all("task")) {
    KANANA_ASSIGN_OR_RETURN(auto spec, eval::resolve_task(t, layout));
    if (a.has("fewshot-file") && !a.get("fewshot-file").empty()) spec.fewshot_data = a.get("fewshot-file");
    for (const auto& o : out) {
      if (o.name == spec.name) return invalid_argument("two tasks are named '" + spec.name + "' (" + t + "); rename one in a task spec");
    }
    out.push_back(std::move(spec));
  }
  return out;
}

Result<std::unique_ptr<eval::EvalModel>> load_model(const Args& a) {
  eval::ModelOptions mo;
  mo.dir = a.get("model");
  if (a.has("tokenizer")) mo.tokenizer = a.get("tokenizer");
  mo.dtype = a.get("dtype");
  mo.add_bos = a.get("add-bos");
  KANANA_ASSIGN_OR_RETURN(mo.threads, parse_threads(a));
  return eval::EvalModel::load(mo);
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

// lm-eval's markdown table.
void print_table(const eval::EvalReport& report) {
  std::printf("|%-24s|%-18s|%6s|%-18s|%10s|   |%8s|\n", "Tasks", "Filter", "n-shot", "Metric", "Value", "Stderr");
  std::printf("|%s|%s|%s|%s|%s|---|%s|\n", std::string(24, '-').c_str(), std::string(18, '-').c_str(),
              std::string(6, '-').c_str(), std::string(18, '-').c_str(), std::string(10, '-').c_str(),
              std::string(8, '-').c_str());
  for (const auto& t : report.tasks) {
    bool first = true;
    for (const auto& [key, m] : t.metrics) {
      auto [metric, filter] = eval::split_metric_key(key);
      const bool up = t.higher_is_better.count(metric) ? t.higher_is_better.at(metric) : true;
      std::printf("|%-24s|%-18s|%6s|%-17s%s|%10s|±  |%8s|\n", first ? t.name.c_str() : "", filter.c_str(),
                  first ? std::to_string(t.num_fewshot).c_str() : "", metric.c_str(), up ? "↑" : "↓",
                  fmt(m.value).c_str(), m.stderr_value ? fmt(*m.stderr_value).c_str() : "N/A");
      first = false;
    }
  }
}

void print_skipped(const eval::TaskResult& t) {
  if (t.skipped.empty()) return;
  std::fprintf(stderr, "%s: skipped %zu bad item(s):\n", t.name.c_str(), t.skipped.size());
  for (size_t i = 0; i < t.skipped.size() && i < 10; ++i) std::fprintf(stderr, "  %s\n", t.skipped[i].message.c_str());
  if (t.skipped.size() > 10) std::fprintf(stderr, "  ... and %zu more (listed in the results file)\n", t.skipped.size() - 10);
}

// Writes, records and reports a finished evaluation.
int finish(Session& s, eval::EvalReport& report, const eval::EvalModel& model, const std::vector<std::string>& inputs) {
  print_table(report);
  for (const auto& t : report.tasks) print_skipped(t);
  if (!s.output.empty()) {
    Status w = eval::write_report(report, s.output);
    if (!w.is_ok()) return s.fail(w);
    std::fprintf(stderr, "results: %s\n", s.output.c_str());
  }
  if (!s.workspace.empty()) {
    std::fprintf(stderr, "workspace: %s (--workspace or KANANA_WORKSPACE)\n", s.workspace.c_str());
    auto ws = store::Workspace::open(s.workspace);
    if (!ws.is_ok()) return s.fail(ws.status());
    eval::RecordOptions ro;
    ro.run_name = s.run_name;
    ro.results_path = s.output;
    ro.inputs = inputs;
    auto rec = eval::record_eval(**ws, report, model.path(), ro);
    if (!rec.is_ok()) return s.fail(rec.status().with_context("recording in " + s.workspace));
    std::fprintf(stderr, "recorded: workspace run %lld, checkpoint %lld, %zu results\n",
                 static_cast<long long>(rec->run_id), static_cast<long long>(rec->checkpoint_id), rec->result_ids.size());
  }
  if (s.events) {
    Status e = s.events->results(report, model.path(), s.output);
    if (e.is_ok()) e = s.events->finished();
    if (!e.is_ok()) return report_error(e);
  }
  return kExitOk;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int run_tasks(const Args& a, Context& ctx, bool generative) {
  auto opts = run_options(a);
  if (!opts.is_ok()) return report_error(opts.status(), true);
  if (generative) {
    if (a.flag("chat") && a.flag("no-chat")) return report_error(invalid_argument("--chat and --no-chat conflict"), true);
    if (a.flag("chat")) opts->chat = true;
    if (a.flag("no-chat")) opts->chat = false;
    auto mnt = a.get_int("max-new-tokens");
    if (!mnt.is_ok() || *mnt < 0) return report_error(invalid_argument("--max-new-tokens must be >= 0"), true);
    opts->max_new_tokens = int(*mnt);
    opts->extra_stop = a.get_all("stop");
  } else {
    opts->shared_prefix = !a.flag("no-shared-prefix");
    opts->norm = a.get("norm");
    if (opts->norm != "bytes" && opts->norm != "chars") return report_error(invalid_argument("--norm must be bytes or chars"), true);
    if (a.has("score") && !a.get("score").empty()) {
      const std::string sc = a.get("score");
      if (sc != "letters" && sc != "text") return report_error(invalid_argument("--score must be letters or text"), true);
      opts->score_letters = sc == "letters";
    }
  }
  auto specs = task_specs(a);
  if (!specs.is_ok()) return report_error(specs.status(), specs.status().code() == StatusCode::kInvalidArgument);
  if (generative) {
    std::vector<eval::AnswerFilter> filters;
    for (const auto& x : a.get_all("extract")) {
      eval::AnswerFilter f;
      if (x == "gsm8k") {
        f = {"strict-match", "gsm8k", "", false};
      } else if (x == "last-number") {
        f = {"flexible-extract", "last_number", "", true};
      } else if (starts_with(x, "regex:")) {
        f = {"regex", "regex", x.substr(6), false};
      } else if (x == "none") {
        f = {};
      } else {
        return report_error(invalid_argument("--extract must be gsm8k, last-number, regex:RE or none, got '" + x + "'"), true);
      }
      if (Status v = eval::validate_filter(f); !v.is_ok()) return report_error(v, true);
      filters.push_back(f);
    }
    if (!filters.empty()) {
      for (auto& s : *specs) s.filters = filters;
    }
  }
  std::string names;
  for (const auto& s : *specs) names += (names.empty() ? "" : ", ") + s.name;
  auto session = open_session(a, std::string(generative ? "generative" : "multiple-choice") + " evaluation of " +
                                     a.get("model") + " on " + names);
  if (!session.is_ok()) return report_error(session.status());
  Session& s = *session;
  auto model = load_model(a);
  if (!model.is_ok()) return s.fail(model.status());

  const double start = now_seconds();
  eval::EvalReport report;
  report.date = start;
  std::vector<std::string> inputs;
  for (const auto& spec : *specs) {
    inputs.push_back(spec.data.string());
    auto progress = make_terminal_progress(spec.name);
    auto r = generative ? eval::run_generation(**model, spec, *opts, progress.get(), ctx.cancel)
                        : eval::run_multiple_choice(**model, spec, *opts, progress.get(), ctx.cancel);
    if (!r.is_ok()) return s.fail(r.status());
    progress->finish();
    if (s.events) (void)s.events->log("info", spec.name + ": " + std::to_string(r->effective) + " items scored");
    report.tasks.push_back(std::move(r).value());
  }
  report.seconds = now_seconds() - start;
  report.config = (*model)->describe();
  report.config["batch_size"] = opts->batch_size;
  report.config["limit"] = opts->limit;
  report.config["seed"] = opts->seed;
  report.config["dtype"] = a.get("dtype");
  report.config["max_length"] = opts->max_length > 0 ? opts->max_length : (*model)->max_length();
  if (!generative) {
    report.config["shared_prefix"] = opts->shared_prefix;
    report.config["acc_norm_length"] = opts->norm;
  }
  report.config["command"] = generative ? "eval gen" : "eval mc";
  return finish(s, report, **model, inputs);
}

int run_ppl(const Args& a, Context& ctx) {
  eval::PerplexityOptions o;
  for (const auto& p : a.positional()) o.inputs.push_back(p);
  o.split = a.get("split");
  o.text_field = a.get("text-field");
  o.lang_field = a.get("lang-field");
  auto max_docs = a.get_int("max-docs");
  auto window = a.get_int("window");
  auto batch = a.get_int("batch-size");
  auto seed = a.get_int("seed");
  for (const Status* st : {&max_docs.status(), &window.status(), &batch.status(), &seed.status()}) {
    if (!st->is_ok()) return report_error(*st, true);
  }
  if (*max_docs < 0 || *window < 0 || *batch < 1) {
    return report_error(invalid_argument("--max-docs and --window must be >= 0, --batch-size >= 1"), true);
  }
  if (o.split != "val" && o.split != "train") return report_error(invalid_argument("--split must be val or train"), true);
  o.max_docs = *max_docs;
  o.window = *window;
  o.batch_size = *batch;
  o.seed = uint64_t(*seed);
  auto session = open_session(a, "perplexity of " + a.get("model"));
  if (!session.is_ok()) return report_error(session.status());
  Session& s = *session;
  auto model = load_model(a);
  if (!model.is_ok()) return s.fail(model.status());
  const double start = now_seconds();
  auto progress = make_terminal_progress("ppl");
  auto r = eval::run_perplexity(**model, o, progress.get(), ctx.cancel);
  if (!r.is_ok()) return s.fail(r.status());
  progress->finish();
  eval::EvalReport report;
  report.date = start;
  report.tasks = std::move(r).value();
  report.seconds = now_seconds() - start;
  report.config = (*model)->describe();
  report.config["command"] = "eval ppl";
  report.config["split"] = o.split;
  report.config["window"] = o.window;
  std::vector<std::string> inputs;
  for (const auto& p : o.inputs) inputs.push_back(p.string());
  return finish(s, report, **model, inputs);
}

int run_decontam(const Args& a, Context& ctx) {
  eval::DecontamOptions o;
  auto n = a.get_int("n");
  auto char_n = a.get_int("char-n");
  auto token_n = a.get_int("token-n");
  auto max_docs = a.get_int("max-docs");
  for (const Status* st : {&n.status(), &char_n.status(), &token_n.status(), &max_docs.status()}) {
    if (!st->is_ok()) return report_error(*st, true);
  }
  if (*n < 1 || *char_n < 0 || *token_n < 0 || *max_docs < 0) {
    return report_error(invalid_argument("--n must be >= 1, --char-n/--token-n/--max-docs >= 0"), true);
  }
  o.word_n = int(*n);
  o.char_n = int(*char_n);
  o.token_n = *token_n > 0 ? int(*token_n) : o.word_n;
  o.char_for_all = a.flag("char-all");
  o.text_field = a.get("text-field");
  o.shard_split = a.get("split");
  if (o.shard_split != "train" && o.shard_split != "val" && o.shard_split != "both") {
    return report_error(invalid_argument("--split must be train, val or both"), true);
  }
  if (a.has("tokenizer")) o.tokenizer = a.get("tokenizer");
  o.max_train_docs = *max_docs;
  std::optional<eval::Layout> layout;
  if (a.has("layout") && !a.get("layout").empty()) {
    auto l = eval::parse_layout(a.get("layout"));
    if (!l.is_ok()) return report_error(l.status(), true);
    layout = *l;
  }
  std::vector<fs::path> training;
  for (const auto& p : a.positional()) training.push_back(p);
  Json report_json = Json::object();
  int64_t total = 0, contaminated = 0;
  for (const auto& t : a.get_all("eval")) {
    auto spec = eval::resolve_task(t, layout);
    if (!spec.is_ok()) return report_error(spec.status(), spec.status().code() == StatusCode::kInvalidArgument);
    auto items = eval::load_task_items(*spec, spec->data, a.flag("skip-bad-items"));
    if (!items.is_ok()) return report_error(items.status());
    auto progress = make_terminal_progress("decontam " + spec->name);
    auto rep = eval::find_contamination(eval::eval_texts(*spec, *items), training, o, progress.get(), ctx.cancel);
    if (!rep.is_ok()) return report_error(rep.status());
    Json j = rep->to_json();
    j["eval_file"] = spec->data.string();
    if (!items->skipped.empty()) j["skipped_items"] = items->skipped.size();
    report_json[spec->name] = j;
    total += rep->items;
    contaminated += rep->contaminated;
    std::printf("%s: %lld of %lld items share an n-gram with the training data (%lld too short to check)\n",
                spec->name.c_str(), static_cast<long long>(rep->contaminated), static_cast<long long>(rep->items),
                static_cast<long long>(rep->too_short));
    for (size_t i = 0; i < rep->hits.size() && i < 20; ++i) {
      const auto& h = rep->hits[i];
      std::printf("  %s:%lld  %s  \"%s\"  in %s\n", spec->data.filename().c_str(), static_cast<long long>(h.line),
                  h.kind.c_str(), h.ngram.c_str(), h.source.c_str());
    }
    if (rep->hits.size() > 20) std::printf("  ... %zu more hits\n", rep->hits.size() - 20);
  }
  if (a.has("output") && !a.get("output").empty()) {
    std::vector<fs::path> inputs;
    for (const auto& t : a.get_all("task")) inputs.emplace_back(t);
    for (const auto& p : a.positional()) inputs.emplace_back(p);
    if (Status s = check_not_input(a.get("output"), inputs, "--output"); !s.is_ok()) return report_error(s);
    Json out = {{"decontamination", report_json},
                {"training", a.positional()},
                {"items", total},
                {"contaminated", contaminated}};
    if (Status w = write_json_file(a.get("output"), out); !w.is_ok()) return report_error(w);
    std::fprintf(stderr, "report: %s\n", a.get("output").c_str());
  }
  return kExitOk;
}

}  // namespace

KANANA_COMMAND(eval_mc) {
  return {.path = "eval mc",
          .summary = "multiple-choice evaluation by log-likelihood (acc, acc_norm; lm-eval semantics)",
          .description =
              "Scores context + \" \" + choice for every choice of every item: acc is the argmax of the\n"
              "summed continuation log-probs, acc_norm of the sum divided by the choice's length in bytes.\n"
              "Task files: KMMLU (question, A-D, answer 1-4), MMLU (question, choices, answer 0-based),\n"
              "HAE-RAE (query, options, answer \"(A)\") JSONL, or a task spec .json naming the columns.\n"
              "Each context is encoded once and its choices scored from the cached prefix\n"
              "(--no-shared-prefix scores every choice separately; the numbers agree).",
          .options = concat(concat(kModelOptions, kTaskOptions),
                            {{.name = "no-shared-prefix", .help = "score every (context, choice) row separately"},
                             {.name = "score", .value_name = "letters|text", .help = "score the labels (\" A\") or the choice texts (default: the layout's)"},
                             {.name = "norm", .value_name = "bytes|chars", .help = "acc_norm length unit", .default_value = kRunDefaults.norm}}),
          .run = [](const Args& a, Context& c) { return run_tasks(a, c, false); }};
}

KANANA_COMMAND(eval_gen) {
  return {.path = "eval gen",
          .summary = "generative evaluation: greedy decoding, answer extraction, exact match",
          .description =
              "Greedy generation until a stop sequence, then answer filters (GSM8K \"#### 42\" as\n"
              "strict-match, the last number as flexible-extract, or a regex) and exact match against\n"
              "the gold answer (commas, $ and a trailing period ignored). GSM8K layout: question, answer.",
          .options = concat(concat(kModelOptions, kTaskOptions),
                            {{.name = "chat", .help = "wrap prompts in the model's chat template (few-shot as turns)"},
                             {.name = "no-chat", .help = "plain prompts even if the task spec asks for chat"},
                             {.name = "max-new-tokens", .value_name = "N", .help = "tokens per answer (0 = the task's)", .default_value = std::to_string(kRunDefaults.max_new_tokens)},
                             {.name = "stop", .value_name = "TEXT", .help = "extra stop sequence (repeatable)", .repeated = true},
                             {.name = "extract", .value_name = "RULE", .help = "gsm8k | last-number | regex:RE | none (repeatable; default: the task's)", .repeated = true}}),
          .run = [](const Args& a, Context& c) { return run_tasks(a, c, true); }};
}

KANANA_COMMAND(eval_ppl) {
  return {.path = "eval ppl",
          .summary = "perplexity and bits-per-byte per source and language",
          .description =
              "INPUT: pack folders (their held-out val/ split; --split train for the training split) or\n"
              "JSONL/text files. Bits per byte = sum of NLL / (ln 2 x UTF-8 bytes), comparable across\n"
              "tokenizers. Reported for all documents, per language (lang field, else Hangul share) and\n"
              "per source (the pack's source name or the file name).",
          .options = concat(kModelOptions,
                            {{.name = "split", .value_name = "val|train", .help = "pack split", .default_value = kPplDefaults.split},
                             {.name = "text-field", .value_name = "PATH", .help = "JSONL text field", .default_value = kPplDefaults.text_field},
                             {.name = "lang-field", .value_name = "PATH", .help = "JSONL language field", .default_value = kPplDefaults.lang_field},
                             {.name = "max-docs", .value_name = "N", .help = "documents per input (0 = all)", .default_value = std::to_string(kPplDefaults.max_docs)},
                             {.name = "window", .value_name = "N", .help = "tokens per rolling window (0 = min(max-length, 2048))", .default_value = std::to_string(kPplDefaults.window)}}),
          .positional = {"INPUT...", 1, -1},
          .run = run_ppl};
}

KANANA_COMMAND(eval_decontam) {
  return {.path = "eval decontam",
          .summary = "n-gram overlap between an eval set and training corpora or token shards",
          .description =
              "Reports every eval item that shares a word n-gram (normalised text; default 13 words),\n"
              "for Korean items also a character n-gram (default 40, spaces removed), or, against pack\n"
              "folders, a token n-gram (the pack's tokenizer) with the training data, with the matching\n"
              "n-gram and where it occurs. TRAINING: JSONL/text files or folders, pack folders.",
          .options = {{.name = "eval", .value_name = "FILE", .help = "eval task file or task spec (repeatable)", .repeated = true, .required = true},
                      {.name = "layout", .value_name = "NAME", .help = "kmmlu | mmlu | haerae | gsm8k | generic (default: detected)"},
                      {.name = "n", .value_name = "N", .help = "word n-gram length", .default_value = "13"},
                      {.name = "char-n", .value_name = "N", .help = "character n-gram length for Korean items (0 = off)", .default_value = "40"},
                      {.name = "char-all", .help = "character n-grams for every item, not only Korean ones"},
                      {.name = "token-n", .value_name = "N", .help = "token n-gram length against packs (0 = --n)", .default_value = "0"},
                      {.name = "text-field", .value_name = "PATH", .help = "training JSONL text field", .default_value = "text"},
                      {.name = "split", .value_name = "train|val|both", .help = "pack split to check", .default_value = "train"},
                      {.name = "tokenizer", .value_name = "PATH", .help = "packs: tokenizer (default: the manifest's)"},
                      {.name = "max-docs", .value_name = "N", .help = "training documents per input (0 = all)", .default_value = "0"},
                      {.name = "skip-bad-items", .help = "skip malformed eval items instead of failing"},
                      {.name = "output", .value_name = "FILE", .help = "report JSON", .short_name = 'o'}},
          .positional = {"TRAINING...", 1, -1},
          .run = run_decontam};
}

}  // namespace kanana::cli
