// Pairwise labels from judgements, percent agreement, Cohen's kappa and disagreements.
#include "prefs/agreement.h"

#include <cmath>
#include <limits>
#include <set>

namespace kanana::prefs {

const char* pair_label_name(PairLabel label) {
  switch (label) {
    case PairLabel::kFirstBetter: return "first";
    case PairLabel::kSecondBetter: return "second";
    case PairLabel::kTie: return "tie";
  }
  return "tie";
}

namespace {

// better > worse as a label of the item {better, worse}.
std::pair<ItemKey, PairLabel> preference(int64_t prompt_id, int64_t better, int64_t worse) {
  if (better < worse) return {ItemKey{prompt_id, better, worse}, PairLabel::kFirstBetter};
  return {ItemKey{prompt_id, worse, better}, PairLabel::kSecondBetter};
}

}  // namespace

std::vector<ItemLabel> item_labels(const std::vector<Judgement>& judgements) {
  // (item, annotator) → (judgement id, label); the highest id wins.
  std::map<std::pair<ItemKey, std::string>, std::pair<int64_t, PairLabel>> latest;
  auto put = [&](const ItemKey& item, const std::string& annotator, PairLabel label, int64_t id) {
    auto& slot = latest[{item, annotator}];
    if (id >= slot.first) slot = {id, label};
  };
  for (const Judgement& j : judgements) {
    switch (j.kind) {
      case JudgementKind::kPairwise:
        if (j.chosen_id && j.rejected_id && *j.chosen_id != *j.rejected_id) {
          auto [item, label] = preference(j.prompt_id, *j.chosen_id, *j.rejected_id);
          put(item, j.annotator, label, j.id);
        }
        break;
      case JudgementKind::kTie:
        if (j.chosen_id && j.rejected_id && *j.chosen_id != *j.rejected_id) {
          ItemKey item{j.prompt_id, std::min(*j.chosen_id, *j.rejected_id), std::max(*j.chosen_id, *j.rejected_id)};
          put(item, j.annotator, PairLabel::kTie, j.id);
        }
        break;
      case JudgementKind::kRanking:
        for (size_t x = 0; x < j.ranking.size(); ++x)
          for (size_t y = x + 1; y < j.ranking.size(); ++y) {
            if (j.ranking[x] == j.ranking[y]) continue;
            auto [item, label] = preference(j.prompt_id, j.ranking[x], j.ranking[y]);
            put(item, j.annotator, label, j.id);
          }
        break;
      case JudgementKind::kEdit:
        break;
    }
  }
  std::vector<ItemLabel> out;
  out.reserve(latest.size());
  for (const auto& [key, value] : latest) out.push_back({key.first, key.second, value.second, value.first});
  return out;
}

PairAgreement cohen_kappa(const std::vector<PairLabel>& a, const std::vector<PairLabel>& b) {
  PairAgreement r;
  const size_t n = std::min(a.size(), b.size());
  r.items = static_cast<int64_t>(n);
  if (n == 0) {
    r.kappa = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  double count_a[3] = {0, 0, 0}, count_b[3] = {0, 0, 0};
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) ++r.agreed;
    count_a[static_cast<int>(a[i])] += 1;
    count_b[static_cast<int>(b[i])] += 1;
  }
  const double dn = static_cast<double>(n);
  r.percent_agreement = static_cast<double>(r.agreed) / dn;
  for (int c = 0; c < 3; ++c) r.expected_agreement += (count_a[c] / dn) * (count_b[c] / dn);
  const double denom = 1.0 - r.expected_agreement;
  r.kappa = std::fabs(denom) < 1e-12 ? std::numeric_limits<double>::quiet_NaN()
                                     : (r.percent_agreement - r.expected_agreement) / denom;
  return r;
}

AgreementReport agreement(const std::vector<ItemLabel>& labels) {
  AgreementReport report;
  std::map<ItemKey, std::map<std::string, PairLabel>> by_item;
  std::set<std::string> annotators;
  for (const ItemLabel& l : labels) {
    by_item[l.item][l.annotator] = l.label;
    annotators.insert(l.annotator);
  }
  report.items_labelled = static_cast<int64_t>(by_item.size());
  for (const auto& [item, per] : by_item) {
    if (per.size() < 2) continue;
    ++report.items_multiply_labelled;
    const PairLabel first = per.begin()->second;
    for (const auto& [who, label] : per)
      if (label != first) {
        ++report.items_disagreed;
        break;
      }
  }
  const std::vector<std::string> names(annotators.begin(), annotators.end());
  for (size_t x = 0; x < names.size(); ++x)
    for (size_t y = x + 1; y < names.size(); ++y) {
      std::vector<PairLabel> a, b;
      for (const auto& [item, per] : by_item) {
        auto ia = per.find(names[x]);
        auto ib = per.find(names[y]);
        if (ia == per.end() || ib == per.end()) continue;
        a.push_back(ia->second);
        b.push_back(ib->second);
      }
      if (a.empty()) continue;
      PairAgreement p = cohen_kappa(a, b);
      p.annotator_a = names[x];
      p.annotator_b = names[y];
      report.pairs.push_back(std::move(p));
    }
  return report;
}

std::vector<Disagreement> disagreements(const std::vector<ItemLabel>& labels) {
  std::map<ItemKey, std::map<std::string, PairLabel>> by_item;
  for (const ItemLabel& l : labels) by_item[l.item][l.annotator] = l.label;
  std::vector<Disagreement> out;
  for (auto& [item, per] : by_item) {
    if (per.size() < 2) continue;
    const PairLabel first = per.begin()->second;
    bool differ = false;
    for (const auto& [who, label] : per) differ = differ || label != first;
    if (differ) out.push_back({item, per});
  }
  return out;
}

}  // namespace kanana::prefs
