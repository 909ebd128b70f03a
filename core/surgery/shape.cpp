// Target-shape validation, iterative schedules and size statistics (see shape.h).
#include "surgery/shape.h"

#include <cmath>

namespace kanana::surgery {
namespace {

std::string str(int64_t v) { return std::to_string(v); }

// A dimension that may only shrink: 1 <= value <= source.
Status check_dimension(const char* field, const char* what, int64_t value, int64_t source) {
  if (value <= 0)
    return invalid_argument(std::string("target ") + field + " is " + str(value) + ": that removes every " + what +
                            " (it must be at least 1)");
  if (value > source)
    return invalid_argument(std::string("target ") + field + " is " + str(value) + ", more than the source's " +
                            str(source) + " (pruning only removes " + what + "s; use depth up-scaling to grow)");
  return Status::ok();
}

int64_t interpolate(int64_t from, int64_t to, int64_t step, int64_t steps) {
  if (step >= steps) return to;
  const double v = double(from) - double(step) * double(from - to) / double(steps);
  return int64_t(std::llround(v));
}

}  // namespace

bool TargetShape::empty() const {
  return !num_hidden_layers && !hidden_size && !intermediate_size && !num_attention_heads && !heads_per_group &&
         !num_key_value_heads && !tie_word_embeddings;
}

Result<model::LlamaConfig> target_config(const model::LlamaConfig& source, const TargetShape& t) {
  KANANA_RETURN_IF_ERROR(source.validate("source config.json"));
  model::LlamaConfig out = source;
  if (t.num_key_value_heads && *t.num_key_value_heads != source.num_key_value_heads)
    return invalid_argument("target num_key_value_heads is " + str(*t.num_key_value_heads) + " but the source has " +
                            str(source.num_key_value_heads) +
                            ": GQA-aligned pruning keeps every kv head and removes query heads inside each group");
  if (t.num_hidden_layers) {
    KANANA_RETURN_IF_ERROR(check_dimension("num_hidden_layers", "layer", *t.num_hidden_layers, source.num_hidden_layers));
    out.num_hidden_layers = *t.num_hidden_layers;
  }
  if (t.hidden_size) {
    KANANA_RETURN_IF_ERROR(check_dimension("hidden_size", "hidden channel", *t.hidden_size, source.hidden_size));
    out.hidden_size = *t.hidden_size;
  }
  if (t.intermediate_size) {
    KANANA_RETURN_IF_ERROR(
        check_dimension("intermediate_size", "MLP neuron", *t.intermediate_size, source.intermediate_size));
    out.intermediate_size = *t.intermediate_size;
  }
  const int64_t kv = source.num_key_value_heads;
  std::optional<int64_t> per_group;
  if (t.num_attention_heads) {
    const int64_t h = *t.num_attention_heads;
    if (h <= 0)
      return invalid_argument("target num_attention_heads is " + str(h) +
                              ": that removes every query head (it must be at least " + str(kv) +
                              ", one per kv group)");
    if (h % kv != 0)
      return invalid_argument("target num_attention_heads " + str(h) + " does not divide evenly into the source's " +
                              str(kv) + " kv groups: GQA-aligned pruning removes the same number of query heads from "
                              "every group, so use a multiple of " + str(kv));
    per_group = h / kv;
  }
  if (t.heads_per_group) {
    if (per_group && *per_group != *t.heads_per_group)
      return invalid_argument("target num_attention_heads (" + str(*t.num_attention_heads) + ") and heads_per_group (" +
                              str(*t.heads_per_group) + ") disagree");
    per_group = *t.heads_per_group;
  }
  if (per_group) {
    if (*per_group <= 0)
      return invalid_argument("target heads_per_group is " + str(*per_group) +
                              ": that removes every query head (at least 1 per kv group)");
    if (*per_group > source.kv_groups())
      return invalid_argument("target has " + str(*per_group) + " query heads per kv group (" + str(*per_group * kv) +
                              " heads), more than the source's " + str(source.kv_groups()) + " (" +
                              str(source.num_attention_heads) + " heads); pruning only removes heads");
    out.num_attention_heads = *per_group * kv;
  }
  if (t.tie_word_embeddings) {
    if (!*t.tie_word_embeddings && source.tie_word_embeddings)
      return invalid_argument("target tie_word_embeddings is false but the source's embeddings are tied; "
                              "pruning can tie (by averaging) but not untie");
    out.tie_word_embeddings = *t.tie_word_embeddings;
  }
  KANANA_RETURN_IF_ERROR(out.validate("target config"));
  return out;
}

model::LlamaConfig schedule_config(const model::LlamaConfig& s, const model::LlamaConfig& t, int64_t step,
                                   int64_t steps) {
  model::LlamaConfig c = t;
  if (step >= steps) return c;
  c.num_hidden_layers = interpolate(s.num_hidden_layers, t.num_hidden_layers, step, steps);
  c.hidden_size = interpolate(s.hidden_size, t.hidden_size, step, steps);
  c.intermediate_size = interpolate(s.intermediate_size, t.intermediate_size, step, steps);
  c.num_attention_heads = interpolate(s.kv_groups(), t.kv_groups(), step, steps) * t.num_key_value_heads;
  // Tying is done once, in the first step (the averaged matrix is then pruned like any other).
  c.tie_word_embeddings = t.tie_word_embeddings;
  return c;
}

Result<TargetShape> parse_target_shape(const Json& json, const std::string& origin) {
  if (!json.is_object()) return invalid_argument(origin + ": the target shape must be a JSON object");
  JsonReader r(json, origin);
  KANANA_RETURN_IF_ERROR(r.check_no_unknown({"num_hidden_layers", "layers", "hidden_size", "hidden",
                                             "intermediate_size", "intermediate", "num_attention_heads", "heads",
                                             "heads_per_group", "num_key_value_heads", "tie_word_embeddings"}));
  TargetShape t;
  auto read_int = [&](std::initializer_list<const char*> keys, std::optional<int64_t>* out) -> Status {
    for (const char* k : keys) {
      if (!r.has(k)) continue;
      if (*out) return r.field_error(k, "repeats a dimension given under another name");
      KANANA_ASSIGN_OR_RETURN(int64_t v, r.get_int(k));
      *out = v;
    }
    return Status::ok();
  };
  KANANA_RETURN_IF_ERROR(read_int({"num_hidden_layers", "layers"}, &t.num_hidden_layers));
  KANANA_RETURN_IF_ERROR(read_int({"hidden_size", "hidden"}, &t.hidden_size));
  KANANA_RETURN_IF_ERROR(read_int({"intermediate_size", "intermediate"}, &t.intermediate_size));
  KANANA_RETURN_IF_ERROR(read_int({"num_attention_heads", "heads"}, &t.num_attention_heads));
  KANANA_RETURN_IF_ERROR(read_int({"heads_per_group"}, &t.heads_per_group));
  KANANA_RETURN_IF_ERROR(read_int({"num_key_value_heads"}, &t.num_key_value_heads));
  if (r.has("tie_word_embeddings")) {
    KANANA_ASSIGN_OR_RETURN(bool tie, r.get_bool("tie_word_embeddings"));
    t.tie_word_embeddings = tie;
  }
  return t;
}

Json target_shape_to_json(const TargetShape& t) {
  Json j = Json::object();
  if (t.num_hidden_layers) j["num_hidden_layers"] = *t.num_hidden_layers;
  if (t.hidden_size) j["hidden_size"] = *t.hidden_size;
  if (t.intermediate_size) j["intermediate_size"] = *t.intermediate_size;
  if (t.num_attention_heads) j["num_attention_heads"] = *t.num_attention_heads;
  if (t.heads_per_group) j["heads_per_group"] = *t.heads_per_group;
  if (t.num_key_value_heads) j["num_key_value_heads"] = *t.num_key_value_heads;
  if (t.tie_word_embeddings) j["tie_word_embeddings"] = *t.tie_word_embeddings;
  return j;
}

ShapeStats shape_stats(const model::LlamaConfig& c, int64_t context) {
  ShapeStats s;
  s.parameters = model::parameter_count(c);
  s.embedding_parameters = model::embedding_parameter_count(c);
  s.non_embedding_parameters = model::non_embedding_parameter_count(c);
  s.flops_per_token = model::forward_flops_per_token(c, context);
  return s;
}

std::string describe_shape(const model::LlamaConfig& c) {
  return "hidden " + str(c.hidden_size) + ", intermediate " + str(c.intermediate_size) + ", layers " +
         str(c.num_hidden_layers) + ", heads " + str(c.num_attention_heads) + "q/" + str(c.num_key_value_heads) +
         "kv (" + str(c.kv_groups()) + " per group), head_dim " + str(c.head_dim) + ", vocab " + str(c.vocab_size) +
         (c.tie_word_embeddings ? ", tied" : ", untied");
}

}  // namespace kanana::surgery
