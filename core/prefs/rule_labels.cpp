#include "prefs/rule_labels.h"

#include <cstdio>
#include <map>
#include <vector>

#include "base/strings.h"
#include "data/script.h"

namespace kanana::prefs {

double hangul_letter_share(std::string_view text) {
  int64_t hangul = 0, latin = 0;
  for (size_t pos = 0; pos < text.size();) {
    const int32_t c = utf8_next(text, &pos);
    if (c < 0) continue;
    if (data::is_hangul(uint32_t(c))) ++hangul;
    else if (data::is_latin(uint32_t(c))) ++latin;
  }
  return hangul + latin == 0 ? 0.0 : double(hangul) / double(hangul + latin);
}

Result<RuleLabelResult> label_by_rule(PrefStore& store, int64_t prompt_set_id, const RuleLabelOptions& o) {
  if (o.rule != "ko-over-en") return invalid_argument("unknown labelling rule '" + o.rule + "' (known: ko-over-en)");
  if (!(o.margin >= 0 && o.margin <= 1)) return invalid_argument("the rule's margin must be in [0, 1]");
  KANANA_ASSIGN_OR_RETURN(auto candidates, store.list_candidates_of_set(prompt_set_id));
  std::map<int64_t, std::vector<const Candidate*>> by_prompt;
  for (const auto& c : candidates) by_prompt[c.row.prompt_id].push_back(&c);
  RuleLabelResult r;
  for (const auto& [prompt_id, list] : by_prompt) {
    if (list.size() < 2) continue;
    ++r.prompts;
    const Candidate* best = nullptr;
    const Candidate* worst = nullptr;
    double best_share = -1, worst_share = 2;
    for (const Candidate* c : list) {
      const double s = hangul_letter_share(c->row.text);
      if (s > best_share) best = c, best_share = s;
      if (s < worst_share) worst = c, worst_share = s;
    }
    if (best == worst || best_share - worst_share < o.margin) {
      ++r.undecided;
      continue;
    }
    Judgement j;
    j.prompt_id = prompt_id;
    j.kind = JudgementKind::kPairwise;
    j.chosen_id = best->row.id;
    j.rejected_id = worst->row.id;
    j.annotator = "rule:" + o.rule;
    char reason[160];
    std::snprintf(reason, sizeof reason, "Hangul share of letters %.2f over %.2f (synthetic ko-over-en rule)",
                  best_share, worst_share);
    j.reason = reason;
    j.meta = Json{{"source", "rule"}, {"rule", o.rule}, {"margin", o.margin}};
    KANANA_ASSIGN_OR_RETURN(const Recorded rec, store.record(j));
    if (rec.created) ++r.labelled;
    else ++r.existing;
  }
  return r;
}

}  // namespace kanana::prefs
