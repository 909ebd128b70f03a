// Slicing weights by a prune plan and the iterative pruning schedule (see prune.h).
#include "surgery/prune.h"

#include <cmath>

namespace kanana::surgery {
namespace {

torch::Tensor index_tensor(const std::vector<int64_t>& v, torch::Device device) {
  return torch::tensor(v, torch::TensorOptions().dtype(torch::kInt64)).to(device);
}

// Row indices of the kept heads in a (heads · head_dim)-wide projection.
torch::Tensor head_rows(const std::vector<int64_t>& heads, int64_t head_dim, torch::Device device) {
  std::vector<int64_t> rows;
  rows.reserve(heads.size() * size_t(head_dim));
  for (int64_t h : heads)
    for (int64_t d = 0; d < head_dim; ++d) rows.push_back(h * head_dim + d);
  return index_tensor(rows, device);
}

void assign(torch::Tensor& dst, const torch::Tensor& src) {
  TORCH_CHECK(dst.sizes() == src.sizes(), "pruned tensor shape ", src.sizes(), " != ", dst.sizes());
  dst.copy_(src);
}

bool same_config(const model::LlamaConfig& a, const model::LlamaConfig& b) {
  return model::llama_config_to_json(a) == model::llama_config_to_json(b);
}

}  // namespace

Result<model::LlamaForCausalLM> apply_plan(model::LlamaForCausalLM& src, const PrunePlan& plan) {
  KANANA_RETURN_IF_ERROR(plan.validate());
  model::LlamaConfig source = src->config();
  model::LlamaConfig plan_source = plan.source;
  source.torch_dtype = plan_source.torch_dtype;  // the in-memory dtype is what counts
  if (!same_config(source, plan_source))
    return invalid_argument("the prune plan was made for another model shape (" + describe_shape(plan.source) +
                            ") than this one (" + describe_shape(src->config()) + ")");
  try {
    torch::NoGradGuard no_grad;
    const auto dtype = src->dtype();
    const auto device = src->device();
    model::LlamaConfig cfg = plan.target;
    cfg.torch_dtype = model::dtype_name(dtype);
    model::LlamaForCausalLM dst(cfg);
    dst->to(device, dtype);
    if (!src->is_training()) dst->eval();

    const auto ch = index_tensor(plan.channels, device);
    const double norm_scale =
        plan.rescale_norms ? std::sqrt(double(plan.source.hidden_size) / double(plan.target.hidden_size)) : 1.0;
    auto norm_weight = [&](const torch::Tensor& w) {
      auto k = w.index_select(0, ch);
      return norm_scale == 1.0 ? k : (k.to(torch::kFloat32) * norm_scale).to(w.scalar_type());
    };

    // Embeddings: columns = hidden channels. Tying averages before slicing (same result).
    auto embed = src->model->embed_tokens->weight;
    if (plan.tie_by_averaging) {
      embed = ((embed.to(torch::kFloat32) + src->lm_head->weight.to(torch::kFloat32)) * 0.5).to(dtype);
    }
    assign(dst->model->embed_tokens->weight, embed.index_select(1, ch));
    if (dst->lm_head) assign(dst->lm_head->weight, src->lm_head->weight.index_select(1, ch));
    assign(dst->model->norm->weight, norm_weight(src->model->norm->weight));

    const int64_t hd = plan.source.head_dim;
    for (size_t j = 0; j < plan.layers.size(); ++j) {
      auto* s = src->model->layers[size_t(plan.layers[j])]->as<model::LlamaDecoderLayer>();
      auto* d = dst->model->layers[j]->as<model::LlamaDecoderLayer>();
      const auto q_rows = head_rows(plan.heads[j], hd, device);
      const auto neurons = index_tensor(plan.neurons[j], device);
      auto& sa = s->self_attn;
      auto& da = d->self_attn;
      assign(da->q_proj->weight, sa->q_proj->weight.index_select(0, q_rows).index_select(1, ch));  // (q', hidden')
      assign(da->k_proj->weight, sa->k_proj->weight.index_select(1, ch));                         // (kv, hidden')
      assign(da->v_proj->weight, sa->v_proj->weight.index_select(1, ch));
      assign(da->o_proj->weight, sa->o_proj->weight.index_select(0, ch).index_select(1, q_rows));  // (hidden', q')
      if (plan.source.attention_bias) {
        assign(da->q_proj->bias, sa->q_proj->bias.index_select(0, q_rows));
        assign(da->k_proj->bias, sa->k_proj->bias);
        assign(da->v_proj->bias, sa->v_proj->bias);
        assign(da->o_proj->bias, sa->o_proj->bias.index_select(0, ch));
      }
      auto& sm = s->mlp;
      auto& dm = d->mlp;
      assign(dm->gate_proj->weight, sm->gate_proj->weight.index_select(0, neurons).index_select(1, ch));  // (inter', hidden')
      assign(dm->up_proj->weight, sm->up_proj->weight.index_select(0, neurons).index_select(1, ch));
      assign(dm->down_proj->weight, sm->down_proj->weight.index_select(0, ch).index_select(1, neurons));  // (hidden', inter')
      if (plan.source.mlp_bias) {
        assign(dm->gate_proj->bias, sm->gate_proj->bias.index_select(0, neurons));
        assign(dm->up_proj->bias, sm->up_proj->bias.index_select(0, neurons));
        assign(dm->down_proj->bias, sm->down_proj->bias.index_select(0, ch));
      }
      assign(d->input_layernorm->weight, norm_weight(s->input_layernorm->weight));
      assign(d->post_attention_layernorm->weight, norm_weight(s->post_attention_layernorm->weight));
    }
    return dst;
  } catch (const std::exception& e) {
    return internal_error(std::string("pruning failed: ") + e.what());
  }
}

Result<PruneResult> prune_model(model::LlamaForCausalLM& model, const TargetShape& target,
                                CalibrationSource* calibration, const PruneOptions& options,
                                const std::function<void(const std::string&)>& on_step, Progress* progress,
                                const CancelToken* cancel) {
  // Everything that can be wrong with the request is checked before the first forward pass.
  const model::LlamaConfig source = model->config();
  KANANA_ASSIGN_OR_RETURN(model::LlamaConfig final_cfg, target_config(source, target));
  if (options.steps < 1) return invalid_argument("pruning steps must be at least 1");
  const bool needs_scores = final_cfg.num_hidden_layers < source.num_hidden_layers ||
                            final_cfg.hidden_size < source.hidden_size ||
                            final_cfg.intermediate_size < source.intermediate_size ||
                            final_cfg.num_attention_heads < source.num_attention_heads;
  if (needs_scores && !calibration && !(options.initial_scores && options.steps == 1))
    return invalid_argument("pruning to " + describe_shape(final_cfg) + " needs calibration data for importance scores");
  if (options.initial_scores) {
    KANANA_RETURN_IF_ERROR(
        check_importance_matches(*options.initial_scores, model_fingerprint(model), source, "the importance file"));
  }
  // Steps that change nothing (e.g. 5 steps for one layer) are skipped; a target equal to the
  // source still runs one (identity) step, so the caller always gets a fresh copy.
  PruneResult result;
  model::LlamaForCausalLM current = model;
  model::LlamaConfig previous = source;
  for (int64_t step = 1; step <= options.steps; ++step) {
    if (cancel && cancel->is_cancelled()) return cancelled("pruning cancelled");
    model::LlamaConfig cfg = schedule_config(source, final_cfg, step, options.steps);
    cfg.torch_dtype = previous.torch_dtype;
    const bool shrinks = cfg.num_hidden_layers < previous.num_hidden_layers || cfg.hidden_size < previous.hidden_size ||
                         cfg.intermediate_size < previous.intermediate_size ||
                         cfg.num_attention_heads < previous.num_attention_heads;
    const bool ties = cfg.tie_word_embeddings && !previous.tie_word_embeddings;
    if (!shrinks && !ties && (step < options.steps || !result.plans.empty())) continue;
    PruneStep record;
    record.config = cfg;
    const ImportanceScores* scores = nullptr;
    if (shrinks) {
      if (step == 1 && options.initial_scores) {
        record.scores = *options.initial_scores;
      } else {
        if (!calibration) return invalid_argument("iterative pruning needs calibration data to recompute importance");
        if (on_step) on_step("step " + std::to_string(step) + "/" + std::to_string(options.steps) + ": importance on " +
                             describe_shape(current->config()));
        KANANA_ASSIGN_OR_RETURN(record.scores, estimate_importance(current, *calibration, options.importance, progress, cancel));
      }
      record.scored = true;
      scores = &record.scores;
    }
    model::LlamaConfig from = current->config();
    from.torch_dtype = cfg.torch_dtype;
    KANANA_ASSIGN_OR_RETURN(PrunePlan plan, plan_from_importance(from, cfg, scores, options.plan));
    if (scores) record.removed = removed_mass(plan, *scores, options.plan.depth_by_loss);
    KANANA_ASSIGN_OR_RETURN(current, apply_plan(current, plan));
    if (on_step) on_step("step " + std::to_string(step) + "/" + std::to_string(options.steps) + ": pruned to " +
                         describe_shape(cfg));
    result.plans.push_back(std::move(plan));
    result.steps.push_back(std::move(record));
    previous = cfg;
  }
  result.model = current;
  return result;
}

}  // namespace kanana::surgery
