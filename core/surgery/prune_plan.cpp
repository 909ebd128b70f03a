// Choosing what to keep from importance scores (see prune_plan.h).
#include "surgery/prune_plan.h"

#include <algorithm>
#include <numeric>

namespace kanana::surgery {
namespace {

std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), int64_t(0));
  return v;
}

// Indices of the `keep` largest of scores[begin, begin + count), ascending. Ties keep the
// lower index, so equal scores (e.g. all zero) prune deterministically from the end.
std::vector<int64_t> top_k(const std::vector<double>& scores, int64_t begin, int64_t count, int64_t keep) {
  std::vector<int64_t> idx(static_cast<size_t>(count));
  std::iota(idx.begin(), idx.end(), begin);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return scores[size_t(a)] > scores[size_t(b)]; });
  idx.resize(size_t(keep));
  std::sort(idx.begin(), idx.end());
  return idx;
}

Status check_indices(const std::vector<int64_t>& v, int64_t want, int64_t bound, const std::string& what) {
  if (int64_t(v.size()) != want)
    return invalid_argument("prune plan keeps " + std::to_string(v.size()) + " " + what + ", the target needs " +
                            std::to_string(want));
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] < 0 || v[i] >= bound)
      return invalid_argument("prune plan: " + what + " index " + std::to_string(v[i]) + " outside [0, " +
                              std::to_string(bound) + ")");
    if (i > 0 && v[i] <= v[i - 1])
      return invalid_argument("prune plan: " + what + " indices must be ascending and unique");
  }
  return Status::ok();
}

double sum_of(const std::vector<double>& v, const std::vector<int64_t>& idx) {
  double s = 0;
  for (int64_t i : idx) s += std::max(0.0, v[size_t(i)]);
  return s;
}

double total_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::max(0.0, x);
  return s;
}

}  // namespace

Status PrunePlan::validate() const {
  const auto& s = source;
  const auto& t = target;
  if (t.head_dim != s.head_dim || t.num_key_value_heads != s.num_key_value_heads || t.vocab_size != s.vocab_size)
    return invalid_argument("prune plan: head_dim, kv heads and vocabulary must stay the source's");
  KANANA_RETURN_IF_ERROR(check_indices(layers, t.num_hidden_layers, s.num_hidden_layers, "layers"));
  KANANA_RETURN_IF_ERROR(check_indices(channels, t.hidden_size, s.hidden_size, "hidden channels"));
  if (heads.size() != layers.size() || neurons.size() != layers.size())
    return invalid_argument("prune plan: head and neuron lists must have one entry per kept layer");
  const int64_t groups_s = s.kv_groups(), groups_t = t.kv_groups();
  for (size_t l = 0; l < layers.size(); ++l) {
    KANANA_RETURN_IF_ERROR(check_indices(heads[l], t.num_attention_heads, s.num_attention_heads,
                                         "query heads of layer " + std::to_string(layers[l])));
    // GQA alignment: heads_per_group of the target from every source group, in group order.
    for (int64_t g = 0; g < t.num_key_value_heads; ++g)
      for (int64_t i = 0; i < groups_t; ++i) {
        const int64_t h = heads[l][size_t(g * groups_t + i)];
        if (h / groups_s != g)
          return invalid_argument("prune plan: layer " + std::to_string(layers[l]) + " keeps query head " +
                                  std::to_string(h) + " for kv group " + std::to_string(g) +
                                  "; every group must keep the same number of its own heads");
      }
    KANANA_RETURN_IF_ERROR(check_indices(neurons[l], t.intermediate_size, s.intermediate_size,
                                         "MLP neurons of layer " + std::to_string(layers[l])));
  }
  if (tie_by_averaging && (s.tie_word_embeddings || !t.tie_word_embeddings))
    return invalid_argument("prune plan: tying by averaging needs an untied source and a tied target");
  if (!tie_by_averaging && s.tie_word_embeddings != t.tie_word_embeddings)
    return invalid_argument("prune plan: the target's tie_word_embeddings differs from the source's");
  return Status::ok();
}

PrunePlan identity_plan(const model::LlamaConfig& source) {
  PrunePlan p;
  p.source = p.target = source;
  p.layers = iota(source.num_hidden_layers);
  p.channels = iota(source.hidden_size);
  for (int64_t l = 0; l < source.num_hidden_layers; ++l) {
    p.heads.push_back(iota(source.num_attention_heads));
    p.neurons.push_back(iota(source.intermediate_size));
  }
  return p;
}

Result<PrunePlan> plan_from_importance(const model::LlamaConfig& s, const model::LlamaConfig& t,
                                       const ImportanceScores* scores, const PlanOptions& options) {
  const bool drop_layers = t.num_hidden_layers < s.num_hidden_layers;
  const bool drop_channels = t.hidden_size < s.hidden_size;
  const bool drop_heads = t.num_attention_heads < s.num_attention_heads;
  const bool drop_neurons = t.intermediate_size < s.intermediate_size;
  if ((drop_layers || drop_channels || drop_heads || drop_neurons) && !scores)
    return invalid_argument("pruning " + std::string(drop_layers ? "layers" : drop_heads ? "heads" : drop_neurons ? "neurons" : "channels") +
                            " needs importance scores");
  if (scores) {
    const auto& c = scores->config;
    if (c.num_hidden_layers != s.num_hidden_layers || c.hidden_size != s.hidden_size ||
        c.intermediate_size != s.intermediate_size || c.num_attention_heads != s.num_attention_heads ||
        c.num_key_value_heads != s.num_key_value_heads)
      return invalid_argument("the importance scores describe a model of another shape than the one being pruned");
    KANANA_RETURN_IF_ERROR(scores->validate("importance scores"));
  }
  PrunePlan p;
  p.source = s;
  p.target = t;
  p.tie_by_averaging = !s.tie_word_embeddings && t.tie_word_embeddings;
  p.rescale_norms = options.rescale_norms;
  if (drop_layers) {
    const auto ls = scores->layer_scores(options.depth_by_loss);
    p.layers = top_k(ls, 0, s.num_hidden_layers, t.num_hidden_layers);
  } else {
    p.layers = iota(s.num_hidden_layers);
  }
  p.channels = drop_channels ? top_k(scores->channels, 0, s.hidden_size, t.hidden_size) : iota(s.hidden_size);
  const int64_t gs = s.kv_groups(), gt = t.kv_groups();
  for (int64_t l : p.layers) {
    if (drop_heads) {
      std::vector<int64_t> keep;
      for (int64_t g = 0; g < s.num_key_value_heads; ++g) {
        auto in_group = top_k(scores->heads[size_t(l)], g * gs, gs, gt);
        keep.insert(keep.end(), in_group.begin(), in_group.end());
      }
      p.heads.push_back(std::move(keep));
    } else {
      p.heads.push_back(iota(s.num_attention_heads));
    }
    p.neurons.push_back(drop_neurons ? top_k(scores->neurons[size_t(l)], 0, s.intermediate_size, t.intermediate_size)
                                     : iota(s.intermediate_size));
  }
  KANANA_RETURN_IF_ERROR(p.validate());
  return p;
}

RemovedMass removed_mass(const PrunePlan& plan, const ImportanceScores& scores, bool depth_by_loss) {
  RemovedMass m;
  auto fraction = [](double kept, double total) { return total > 0 ? std::max(0.0, 1.0 - kept / total) : 0.0; };
  const auto ls = scores.layer_scores(depth_by_loss);
  if (ls.size() == size_t(plan.source.num_hidden_layers)) m.layers = fraction(sum_of(ls, plan.layers), total_of(ls));
  else m.layers = -1;
  double head_kept = 0, head_total = 0, neuron_kept = 0, neuron_total = 0;
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    const size_t l = size_t(plan.layers[i]);
    if (l >= scores.heads.size() || l >= scores.neurons.size()) return {-1, -1, -1, -1};
    head_kept += sum_of(scores.heads[l], plan.heads[i]);
    head_total += total_of(scores.heads[l]);
    neuron_kept += sum_of(scores.neurons[l], plan.neurons[i]);
    neuron_total += total_of(scores.neurons[l]);
  }
  m.heads = fraction(head_kept, head_total);
  m.neurons = fraction(neuron_kept, neuron_total);
  m.channels = scores.channels.size() == size_t(plan.source.hidden_size)
                   ? fraction(sum_of(scores.channels, plan.channels), total_of(scores.channels))
                   : -1;
  return m;
}

Json plan_to_json(const PrunePlan& p) {
  return {{"source", model::llama_config_to_json(p.source)},
          {"target", model::llama_config_to_json(p.target)},
          {"layers", p.layers},
          {"heads", p.heads},
          {"neurons", p.neurons},
          {"channels", p.channels},
          {"tie_by_averaging", p.tie_by_averaging},
          {"rescale_norms", p.rescale_norms}};
}

}  // namespace kanana::surgery
