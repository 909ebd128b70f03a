// Preference labels by a rule instead of a person, so the demo loop (and its test) can go
// from candidates to DPO without an annotator. "ko-over-en" prefers, among a prompt's
// candidates, the reply whose letters are most Hangul over the one whose letters are least —
// the synthetic preference bench/posttrain/make_synthetic_prefs.py builds from aligned help
// paragraphs (chosen Korean, rejected English). Each label is an ordinary pairwise judgement
// whose annotator names the rule ("rule:ko-over-en") and whose reason gives both shares, so
// the Annotate page and `prefs stats` show where it came from and a person can overrule it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "prefs/pref_store.h"

namespace kanana::prefs {

struct RuleLabelOptions {
  std::string rule = "ko-over-en";  // the only rule so far
  double margin = 0.3;              // shares closer than this: no label (the rule cannot tell)
};

struct RuleLabelResult {
  int64_t prompts = 0;    // prompts of the set with at least two candidates
  int64_t labelled = 0;   // judgements added
  int64_t existing = 0;   // the same judgement was already there (a rerun)
  int64_t undecided = 0;  // best and worst candidates within the margin
};

// Hangul letters / (Hangul + Latin letters) of `text`; 0 when it has neither.
double hangul_letter_share(std::string_view text);

Result<RuleLabelResult> label_by_rule(PrefStore& store, int64_t prompt_set_id, const RuleLabelOptions& options);

}  // namespace kanana::prefs
