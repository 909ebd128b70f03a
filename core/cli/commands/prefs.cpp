// `kanana prefs ...`: the preference annotation store from the command line.
//   prefs import    TRL preference JSONL → the workspace (de-duplicated, bad lines reported)
//   prefs export    the workspace's judgements → TRL preference JSONL (text or messages form)
//   prefs stats     counts, annotators and inter-annotator agreement of a prompt set
//   prefs generate  sample N candidates per prompt from one or two model folders
//   prefs undo      undo an annotator's latest judgement
#include <cmath>
#include <cstdio>

#include "base/json.h"
#include "cli/option_flags.h"
#include "cli/registry.h"
#include "cli/sampling_args.h"
#include "prefs/agreement.h"
#include "prefs/candidate_generation.h"
#include "prefs/pref_store.h"
#include "prefs/prompt_jsonl.h"
#include "prefs/trl_jsonl.h"
#include "cli/workspace_args.h"
#include "prefs/rule_labels.h"
#include "store/workspace.h"

namespace kanana::cli {
namespace {

namespace fs = std::filesystem;

const OptionSpec kSetOption = {.name = "set", .value_name = "NAME|ID", .help = "prompt set"};

void print_problems(const std::vector<std::string>& problems) {
  const size_t shown = std::min<size_t>(problems.size(), 20);
  for (size_t i = 0; i < shown; ++i) std::fprintf(stderr, "skipped %s\n", problems[i].c_str());
  if (problems.size() > shown) std::fprintf(stderr, "skipped %zu more lines\n", problems.size() - shown);
}

std::string format_kappa(double kappa) {
  if (std::isnan(kappa)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", kappa);
  return buf;
}

int run_import(const Args& a, Context& ctx) {
  auto ws = open_workspace(a);
  if (!ws.is_ok()) return report_error(ws.status());
  prefs::PrefStore store(**ws);
  prefs::ImportOptions o;
  o.prompt_set = a.get("set");
  o.annotator = a.get("annotator");
  o.strict = a.flag("strict");
  auto report = prefs::import_preferences(store, a.positional()[0], o, ctx.cancel);
  if (!report.is_ok()) return report_error(report.status());
  std::vector<std::string> problems;
  for (const auto& p : report->problems) problems.push_back(p.message);
  print_problems(problems);
  std::printf("lines: %llu\nadded: %lld judgements (%lld prompts, %lld candidates)\nduplicates: %lld\n",
              static_cast<unsigned long long>(report->lines), static_cast<long long>(report->added),
              static_cast<long long>(report->prompts_added), static_cast<long long>(report->candidates_added),
              static_cast<long long>(report->duplicates));
  if (report->merged) std::printf("ranking lines merged: %lld\n", static_cast<long long>(report->merged));
  std::printf("skipped: %zu\n", report->problems.size());
  return kExitOk;
}

int run_export(const Args& a, Context&) {
  auto format = prefs::parse_pair_format(a.get("format"));
  if (!format.is_ok()) return report_error(format.status(), true);
  auto ws = open_workspace(a);
  if (!ws.is_ok()) return report_error(ws.status());
  prefs::PrefStore store(**ws);
  prefs::ExportOptions o;
  o.format = *format;
  o.include_ties = a.flag("include-ties");
  o.include_edits = !a.flag("no-edits");
  o.include_rankings = !a.flag("no-rankings");
  o.provenance = !a.flag("no-provenance");
  if (!a.get("annotator").empty()) o.annotator = a.get("annotator");
  if (!a.get("set").empty()) {
    auto set = store.find_prompt_set(a.get("set"));
    if (!set.is_ok()) return report_error(set.status());
    o.prompt_set_id = set->id;
  }
  auto report = prefs::export_preferences(store, a.get("out"), o);
  if (!report.is_ok()) return report_error(report.status());
  std::printf("wrote %lld pairs from %lld judgements to %s\n", static_cast<long long>(report->lines),
              static_cast<long long>(report->judgements), a.get("out").c_str());
  if (report->ties_left_out)
    std::printf("left out %lld ties (--include-ties writes them)\n", static_cast<long long>(report->ties_left_out));
  return kExitOk;
}

int run_stats(const Args& a, Context&) {
  auto ws = open_workspace(a);
  if (!ws.is_ok()) return report_error(ws.status());
  prefs::PrefStore store(**ws);
  std::optional<int64_t> set_id;
  std::string set_label = "all prompt sets";
  if (!a.get("set").empty()) {
    auto set = store.find_prompt_set(a.get("set"));
    if (!set.is_ok()) return report_error(set.status());
    set_id = set->id;
    set_label = set->name + " (id " + std::to_string(set->id) + ")";
  }
  auto counts = store.counts(set_id);
  if (!counts.is_ok()) return report_error(counts.status());
  auto judgements = store.list_judgements(set_id);
  if (!judgements.is_ok()) return report_error(judgements.status());
  const auto labels = prefs::item_labels(*judgements);
  const prefs::AgreementReport agreement = prefs::agreement(labels);

  std::printf("prompt set: %s\n", set_label.c_str());
  std::printf("prompts: %lld (%lld with candidates), candidates: %lld\n", static_cast<long long>(counts->prompts),
              static_cast<long long>(counts->prompts_with_candidates), static_cast<long long>(counts->candidates));
  std::string kinds;
  for (const auto& [k, n] : counts->by_kind) kinds += (kinds.empty() ? "" : ", ") + k + " " + std::to_string(n);
  std::printf("judgements: %lld%s, undone: %lld\n", static_cast<long long>(counts->judgements),
              kinds.empty() ? "" : (" (" + kinds + ")").c_str(), static_cast<long long>(counts->undone));
  std::string who;
  for (const auto& [k, n] : counts->by_annotator) who += (who.empty() ? "" : ", ") + (k.empty() ? "(none)" : k) + " " + std::to_string(n);
  std::printf("annotators: %s\n", who.empty() ? "none" : who.c_str());
  std::printf("labelled candidate pairs: %lld; by two or more annotators: %lld; with disagreement: %lld\n",
              static_cast<long long>(agreement.items_labelled), static_cast<long long>(agreement.items_multiply_labelled),
              static_cast<long long>(agreement.items_disagreed));
  if (!agreement.pairs.empty()) std::printf("agreement over pairs labelled by both annotators:\n");
  Json pairs = Json::array();
  for (const auto& p : agreement.pairs) {
    std::printf("  %s vs %s: %lld pairs, %.1f%% agreement, Cohen's kappa %s\n",
                p.annotator_a.empty() ? "(none)" : p.annotator_a.c_str(),
                p.annotator_b.empty() ? "(none)" : p.annotator_b.c_str(), static_cast<long long>(p.items),
                100.0 * p.percent_agreement, format_kappa(p.kappa).c_str());
    pairs.push_back({{"annotator_a", p.annotator_a}, {"annotator_b", p.annotator_b}, {"items", p.items},
                     {"agreed", p.agreed}, {"percent_agreement", p.percent_agreement},
                     {"kappa", std::isnan(p.kappa) ? Json(nullptr) : Json(p.kappa)},
                     {"expected_agreement", p.expected_agreement}});
  }
  if (!a.get("json").empty()) {
    Json j = {{"prompt_set", set_label}, {"prompts", counts->prompts},
              {"prompts_with_candidates", counts->prompts_with_candidates}, {"candidates", counts->candidates},
              {"judgements", counts->judgements}, {"by_kind", counts->by_kind}, {"by_annotator", counts->by_annotator},
              {"undone", counts->undone}, {"items_labelled", agreement.items_labelled},
              {"items_multiply_labelled", agreement.items_multiply_labelled},
              {"items_disagreed", agreement.items_disagreed}, {"agreement", pairs}};
    Status s = write_json_file(a.get("json"), j);
    if (!s.is_ok()) return report_error(s);
  }
  return kExitOk;
}

int run_prefs_generate(const Args& a, Context& ctx) {
  prefs::FillRequest req;
  for (const std::string& m : a.get_all("model")) req.models.emplace_back(m);
  if (req.models.empty() || req.models.size() > 2)
    return report_error(invalid_argument("give --model once or twice (got " + std::to_string(req.models.size()) + ")"), true);
  prefs::CandidateSampling& s = req.sampling;
  if (Status st = read_option_flags(a, prefs::candidate_sampling_fields(), s); !st.is_ok())
    return report_error(st, true);
  auto threads = parse_threads(a);
  if (!threads.is_ok()) return report_error(threads.status(), true);
  s.threads = *threads;
  if (a.get("prompts").empty() && a.get("set").empty())
    return report_error(invalid_argument("give --prompts FILE (and optionally --set NAME), or --set NAME|ID"), true);

  auto ws = open_workspace(a);
  if (!ws.is_ok()) return report_error(ws.status());
  prefs::PrefStore store(**ws);
  if (!a.get("prompts").empty()) {
    const fs::path file = a.get("prompts");
    const std::string name = a.get("set").empty() ? file.stem().string() : a.get("set");
    auto set = store.find_or_create_prompt_set(name);
    if (!set.is_ok()) return report_error(set.status());
    req.prompt_set_id = *set;
    auto imported = prefs::import_prompts(store, *set, file);
    if (!imported.is_ok()) return report_error(imported.status());
    print_problems(imported->problems);
    std::printf("prompt set %s (id %lld): %lld prompts added, %lld already there\n", name.c_str(),
                static_cast<long long>(*set), static_cast<long long>(imported->added),
                static_cast<long long>(imported->duplicates));
    req.prompt_ids = imported->prompt_ids;
    if (req.prompt_ids.empty()) return report_error(invalid_argument(file.string() + ": no usable prompts"));
  } else {
    auto set = store.find_prompt_set(a.get("set"));
    if (!set.is_ok()) return report_error(set.status());
    req.prompt_set_id = set->id;
  }
  auto progress = make_terminal_progress("candidates");
  int64_t stored = 0;
  auto summary = prefs::fill_candidates(**ws, req, [&](int64_t, int64_t) { ++stored; }, ctx.cancel, progress.get());
  if (!summary.is_ok()) return report_error(summary.status());
  std::printf("stored %lld candidates (%lld tokens in %.1fs)\n", static_cast<long long>(stored),
              static_cast<long long>(summary->tokens), summary->seconds);
  if (summary->cancelled) {
    std::fprintf(stderr, "cancelled; the %lld candidates finished before are kept (run again to fill the rest)\n",
                 static_cast<long long>(stored));
    return kExitCancelled;
  }
  return kExitOk;
}

int run_undo(const Args& a, Context&) {
  auto ws = open_workspace(a);
  if (!ws.is_ok()) return report_error(ws.status());
  prefs::PrefStore store(**ws);
  std::optional<int64_t> set_id;
  if (!a.get("set").empty()) {
    auto set = store.find_prompt_set(a.get("set"));
    if (!set.is_ok()) return report_error(set.status());
    set_id = set->id;
  }
  auto undone = store.undo_last(a.get("annotator"), set_id);
  if (!undone.is_ok()) return report_error(undone.status());
  if (!*undone) {
    std::printf("nothing to undo for annotator '%s'\n", a.get("annotator").c_str());
    return kExitFailure;
  }
  const prefs::Judgement& j = **undone;
  std::printf("undid judgement %lld (%s on prompt %lld by '%s'); it is kept in the undo log\n",
              static_cast<long long>(j.id), prefs::judgement_kind_name(j.kind), static_cast<long long>(j.prompt_id),
              j.annotator.c_str());
  return kExitOk;
}

}  // namespace

KANANA_COMMAND(prefs_import) {
  return {.path = "prefs import",
          .summary = "import TRL preference JSONL (text or messages form) into the workspace",
          .description = "Reads {\"prompt\",\"chosen\",\"rejected\"} lines (strings, or lists of messages, or\n"
                         "{\"chosen\": [...], \"rejected\": [...]} with an implicit prompt). Malformed lines are\n"
                         "reported with their line number and skipped; pairs already in the workspace are not\n"
                         "added again, so an import can be repeated or rerun after an interruption.",
          .options = {workspace_option(),
                      {.name = "set", .value_name = "NAME", .help = "prompt set (default: each line's kanana.prompt_set, else the file name)"},
                      {.name = "annotator", .value_name = "NAME", .help = "annotator of lines that name none"},
                      {.name = "strict", .help = "stop at the first malformed line"}},
          .positional = {"FILE", 1, 1},
          .run = run_import};
}

KANANA_COMMAND(prefs_export) {
  return {.path = "prefs export",
          .summary = "export judgements as TRL preference JSONL for reward/DPO training",
          .description = "Formats: text ({\"prompt\",\"chosen\",\"rejected\"} strings), messages (whole conversations,\n"
                         "implicit prompt), prompt-messages (prompt and replies as message lists). Rankings are\n"
                         "written as all their pairs, repairs as edited-over-original; ties only with\n"
                         "--include-ties. Annotator, reason, time, models, seeds and sampling go in a \"kanana\"\n"
                         "object, so importing the file gives back the same store.",
          .options = {workspace_option(), kSetOption,
                      {.name = "out", .value_name = "FILE", .help = "JSONL file to write", .required = true, .short_name = 'o'},
                      {.name = "format", .value_name = "FORM", .help = "text | messages | prompt-messages", .default_value = "text"},
                      {.name = "annotator", .value_name = "NAME", .help = "only this annotator's judgements"},
                      {.name = "include-ties", .help = "also write ties (kanana.kind = tie)"},
                      {.name = "no-edits", .help = "leave out repairs"},
                      {.name = "no-rankings", .help = "leave out k-wise rankings"},
                      {.name = "no-provenance", .help = "plain TRL lines without the kanana object"}},
          .run = run_export};
}

KANANA_COMMAND(prefs_stats) {
  return {.path = "prefs stats",
          .summary = "counts, annotators and agreement (percent, Cohen's kappa) of the preference labels",
          .options = {workspace_option(), kSetOption,
                      {.name = "json", .value_name = "FILE", .help = "also write the numbers as JSON"}},
          .run = run_stats};
}

// The flags of prefs::candidate_sampling_fields() with their defaults (-n for --num-candidates).
static std::vector<OptionSpec> candidate_flags() {
  std::vector<OptionSpec> flags = option_flags(prefs::candidate_sampling_fields());
  for (OptionSpec& f : flags) {
    if (f.name == "num-candidates") f.short_name = 'n';
    if (f.name == "seed") f.help = "base seed (each candidate derives its own)";
  }
  return flags;
}

KANANA_COMMAND(prefs_generate) {
  return {.path = "prefs generate",
          .summary = "sample N candidate replies per prompt from one or two model folders",
          .description = "Adds the prompts of --prompts FILE (JSONL: prompt / messages) to a prompt set and fills\n"
                         "every prompt up to N candidates per model. Each candidate is stored as it finishes with\n"
                         "its seed and sampling settings; Ctrl+C keeps what was finished, and running again\n"
                         "fills the rest.",
          .options = concat(concat({workspace_option(),
                                    {.name = "model", .value_name = "DIR", .help = "model folder (give twice to compare two)", .repeated = true, .required = true, .short_name = 'm'},
                                    {.name = "prompts", .value_name = "FILE", .help = "prompts JSONL to add first"},
                                    {.name = "set", .value_name = "NAME|ID", .help = "prompt set (default with --prompts: the file name)"}},
                                   candidate_flags()),
                            {threads_option()}),
          .run = run_prefs_generate};
}

namespace {

int run_label_rule(const Args& a, Context&) {
  prefs::RuleLabelOptions o;
  o.rule = a.get("rule");
  auto margin = a.get_double("margin");
  if (!margin.is_ok()) return report_error(margin.status(), true);
  o.margin = *margin;
  auto ws = open_workspace(a);
  if (!ws.is_ok()) return report_error(ws.status());
  prefs::PrefStore store(**ws);
  auto set = store.find_prompt_set(a.get("set"));
  if (!set.is_ok()) return report_error(set.status());
  auto r = prefs::label_by_rule(store, set->id, o);
  if (!r.is_ok()) return report_error(r.status(), r.status().code() == StatusCode::kInvalidArgument);
  std::printf("prompt set %s: %lld prompts with candidates, %lld judgements added by rule:%s, %lld already there, "
              "%lld undecided (within the margin)\n",
              set->name.c_str(), static_cast<long long>(r->prompts), static_cast<long long>(r->labelled), o.rule.c_str(),
              static_cast<long long>(r->existing), static_cast<long long>(r->undecided));
  return kExitOk;
}

}  // namespace

KANANA_COMMAND(prefs_label_rule) {
  const prefs::RuleLabelOptions d;
  return {.path = "prefs label-rule",
          .summary = "label a prompt set's candidates by a synthetic rule (ko-over-en), as judgements naming the rule",
          .description = "For every prompt with two or more candidates, the rule 'ko-over-en' prefers the reply whose\n"
                         "letters are most Hangul over the one whose letters are least (the synthetic preference of\n"
                         "bench/posttrain). Each label is a pairwise judgement by annotator 'rule:ko-over-en' with\n"
                         "both shares as its reason; rerunning adds nothing twice.",
          .options = {workspace_option(), {.name = "set", .value_name = "NAME|ID", .help = "prompt set", .required = true},
                      {.name = "rule", .value_name = "NAME", .help = "labelling rule", .default_value = d.rule},
                      {.name = "margin", .value_name = "X", .help = "leave pairs whose Hangul shares differ by less unlabelled", .default_value = std::to_string(d.margin)}},
          .run = run_label_rule};
}

KANANA_COMMAND(prefs_undo) {
  return {.path = "prefs undo",
          .summary = "undo an annotator's latest judgement (kept in the undo log)",
          .options = {workspace_option(), kSetOption,
                      {.name = "annotator", .value_name = "NAME", .help = "whose judgement", .required = true}},
          .run = run_undo};
}

}  // namespace kanana::cli
