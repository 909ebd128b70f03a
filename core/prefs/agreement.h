// Inter-annotator agreement over pairwise labels.
//
// An item is an unordered pair of candidates {a, b} (a < b) of one prompt. A judgement gives
// an annotator's label for items: pairwise → "a better" or "b better", tie → "tie", ranking →
// one label for every pair of ranked candidates; edits compare no candidates and give none.
// When an annotator labelled an item more than once, the latest judgement counts.
//
// For two annotators, over the items both labelled (n):
//   percent agreement  p_o = (items with the same label) / n
//   Cohen's kappa      κ = (p_o − p_e) / (1 − p_e),  p_e = Σ_c p_A(c) · p_B(c)
// over the three categories {a better, b better, tie}, where p_X(c) is the share of the n
// items annotator X put in category c. κ is undefined (NaN) when p_e = 1 (both annotators
// used one and the same category for every item).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "prefs/pref_store.h"

namespace kanana::prefs {

enum class PairLabel : int { kFirstBetter = 0, kSecondBetter = 1, kTie = 2 };
const char* pair_label_name(PairLabel label);  // "first" | "second" | "tie"

struct ItemKey {
  int64_t prompt_id = 0;
  int64_t a = 0;  // candidate ids, a < b
  int64_t b = 0;
  auto operator<=>(const ItemKey&) const = default;
};

struct ItemLabel {
  ItemKey item;
  std::string annotator;
  PairLabel label = PairLabel::kTie;
  int64_t judgement_id = 0;
};

// The latest label of every (annotator, item), ordered by item then annotator.
std::vector<ItemLabel> item_labels(const std::vector<Judgement>& judgements);

struct PairAgreement {
  std::string annotator_a, annotator_b;  // a < b
  int64_t items = 0;                     // labelled by both
  int64_t agreed = 0;
  double percent_agreement = 0.0;        // agreed / items (0 when items == 0)
  double kappa = 0.0;                    // NaN when undefined
  double expected_agreement = 0.0;       // p_e
};

struct AgreementReport {
  std::vector<PairAgreement> pairs;      // every annotator pair with at least one shared item
  int64_t items_labelled = 0;            // items with at least one label
  int64_t items_multiply_labelled = 0;   // items with labels from two or more annotators
  int64_t items_disagreed = 0;           // of those, items where the labels differ
};

AgreementReport agreement(const std::vector<ItemLabel>& labels);

// Cohen's kappa for two label sequences of equal length (exposed for tests).
PairAgreement cohen_kappa(const std::vector<PairLabel>& a, const std::vector<PairLabel>& b);

struct Disagreement {
  ItemKey item;
  std::map<std::string, PairLabel> labels;  // annotator → label
};
// Items whose annotators do not all agree, in item order.
std::vector<Disagreement> disagreements(const std::vector<ItemLabel>& labels);

}  // namespace kanana::prefs
