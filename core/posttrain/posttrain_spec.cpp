// The post-training recipe blocks; see posttrain_spec.h.
#include "posttrain/posttrain_spec.h"

#include <set>

#include "tokenizer/chat_template.h"
#include "train/recipe.h"

namespace kanana::posttrain {

namespace fs = std::filesystem;

const OptionTable<DataSpec>& data_spec_fields() {
  using D = DataSpec;
  static const OptionTable<D> fields = {
      {.key = "train", .member = &D::train, .help = "training data: a JSONL file or a list of them", .value_name = "FILE"},
      {.key = "val", .member = &D::val, .help = "held-out data (JSONL)", .value_name = "FILE"},
      {.key = "val_fraction", .member = &D::val_fraction, .help = "seeded held-out share of the training data",
       .min = 0, .max = 1, .max_open = true},
      {.key = "tokenizer", .member = &D::tokenizer, .help = "tokenizer file or folder (default: the model's init_from)"},
      {.key = "chat_template", .member = &D::chat_template, .help = "chat format",
       .choices = {"auto", "chatml", "llama3"}},
      {.key = "prompt_format",
       .member = CustomMember<D>{.set = [](D& d, const Json& v) -> std::string {
                                   if (!v.is_string() || (v != "chat" && v != "raw")) return "must be chat or raw";
                                   d.raw = v == "raw";
                                   return {};
                                 },
                                 .get = [](const D& d) -> Json { return d.raw ? "raw" : "chat"; }},
       .help = "chat (the template) or raw (preference data as TRL standard text)", .choices = {"chat", "raw"}},
      {.key = "epochs", .member = &D::epochs, .help = "passes over the training data", .min = 0, .min_open = true},
      {.key = "max_steps", .member = &D::max_steps, .help = "optimizer steps (0 = from epochs)", .min = 0},
      {.key = "strict", .member = &D::strict, .help = "a malformed line is an error, not a skip"},
  };
  return fields;
}

Status check_block_keys(const JsonReader& block, const std::vector<std::string>& own_keys) {
  std::set<std::string> known;
  for (const auto& f : data_spec_fields()) known.insert(f.key);
  known.insert(own_keys.begin(), own_keys.end());
  for (const auto& [key, value] : block.json().items()) {
    (void)value;
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return block.field_error(key, "is not a known key (known: " + list + ")");
    }
  }
  return Status::ok();
}

Status parse_data_spec(const JsonReader& block, const fs::path& base, bool train_optional, DataSpec* spec) {
  const Json& j = block.json();
  if (!j.contains("train")) {
    if (!train_optional) return block.field_error("train", "is required");
  } else if (!(j["train"].is_string() || (j["train"].is_array() && !j["train"].empty()))) {
    return block.field_error("train", "must be a file name or a non-empty list of file names");
  }
  KANANA_RETURN_IF_ERROR(read_options(block, data_spec_fields(), *spec, base, /*reject_unknown=*/false));
  if (!spec->val.empty() && spec->val_fraction > 0)
    return block.field_error("val_fraction", "cannot be combined with 'val' (give one of them)");
  return Status::ok();
}

Result<DpoLossType> parse_dpo_loss_type(const std::string& name) {
  if (name == "sigmoid") return DpoLossType::kSigmoid;
  if (name == "ipo") return DpoLossType::kIpo;
  return invalid_argument("unknown DPO loss '" + name + "' (expected sigmoid or ipo)");
}

const char* dpo_loss_type_name(DpoLossType type) { return type == DpoLossType::kIpo ? "ipo" : "sigmoid"; }

const OptionTable<OnlineSpec>& online_spec_fields() {
  using O = OnlineSpec;
  static const OptionTable<O> fields = [] {
    OptionTable<O> t = model::sampling_fields_for<O>(
        {"max_new_tokens", "temperature", "top_p", "top_k", "min_p", "repetition_penalty"});
    for (auto& f : t)
      if (std::string_view(f.key) == "temperature") {
        f.min_open = true;
        f.note = "sampling, not greedy";
      }
    return concat_options(
        std::move(t),
        {{.key = "reward_model", .member = &O::reward_model, .help = "reward model folder that labels the samples",
          .required = true},
         {.key = "prompts", .member = &O::prompts, .help = "prompt JSONL (default: the prompts of dpo.train)"},
         {.key = "rounds", .member = &O::rounds, .help = "sample/label/train rounds", .min = 1},
         {.key = "prompts_per_round", .member = &O::prompts_per_round, .help = "prompts sampled per round", .min = 1},
         {.key = "samples", .member = &O::samples, .help = "replies per prompt", .min = 2,
          .note = "a pair needs two replies"},
         {.key = "steps_per_round", .member = &O::steps_per_round, .help = "optimizer steps per round (0 = one epoch)",
          .min = 0}});
  }();
  return fields;
}

const OptionTable<DpoTaskOptions>& dpo_task_fields() {
  using O = DpoTaskOptions;
  static const OptionTable<O> fields = {
      {.key = "beta",
       .member = CustomMember<O>{.set = [](O& o, const Json& v) -> std::string {
                                   if (!v.is_number()) return "must be a number, got " + v.dump();
                                   o.loss.beta = v.get<double>();
                                   return o.loss.beta > 0 && std::isfinite(o.loss.beta) ? "" : "must be > 0";
                                 },
                                 .get = [](const O& o) -> Json { return o.loss.beta; }},
       .help = "KL strength of the implicit reward"},
      {.key = "loss",
       .member = CustomMember<O>{.set = [](O& o, const Json& v) -> std::string {
                                   auto t = v.is_string() ? parse_dpo_loss_type(v.get<std::string>())
                                                          : Result<DpoLossType>(invalid_argument(""));
                                   if (!t) return "must be sigmoid or ipo";
                                   o.loss.type = *t;
                                   return {};
                                 },
                                 .get = [](const O& o) -> Json { return dpo_loss_type_name(o.loss.type); }},
       .help = "sigmoid (DPO) or ipo", .choices = {"sigmoid", "ipo"}},
      {.key = "label_smoothing",
       .member = CustomMember<O>{.set = [](O& o, const Json& v) -> std::string {
                                   if (!v.is_number()) return "must be a number, got " + v.dump();
                                   o.loss.label_smoothing = v.get<double>();
                                   return o.loss.label_smoothing >= 0 && o.loss.label_smoothing < 0.5
                                              ? ""
                                              : "must be in [0, 0.5)";
                                 },
                                 .get = [](const O& o) -> Json { return o.loss.label_smoothing; }},
       .help = "conservative DPO label noise (sigmoid only)"},
      {.key = "max_prompt_len", .member = &O::max_prompt_len, .help = "prompt tokens kept (0 = no limit)", .min = 0},
      {.key = "rpo_alpha", .member = &O::rpo_alpha, .help = "weight of the NLL term on the chosen reply (RPO)",
       .min = 0},
      {.key = "reference", .member = &O::reference, .help = "frozen reference model (default: the initial policy)"},
  };
  return fields;
}

namespace {

Result<JsonReader> type_block(const Json& json, const std::string& origin, const char* key) {
  JsonReader rd(json, origin);
  if (!rd.has(key)) return rd.field_error(key, std::string("is required for type '") + key + "'");
  return rd.child(key);
}

Json data_json(const DataSpec& d) {
  Json j = options_to_json(d, data_spec_fields());
  if (d.val.empty()) j.erase("val");
  if (d.tokenizer.empty()) j.erase("tokenizer");
  return j;
}

}  // namespace

Status parse_sft_recipe(const Json& json, const std::string& origin, const fs::path& base, train::Recipe& recipe) {
  KANANA_ASSIGN_OR_RETURN(JsonReader b, type_block(json, origin, "sft"));
  KANANA_RETURN_IF_ERROR(check_block_keys(b, {"packing", "attention"}));
  SftOptions o;
  KANANA_RETURN_IF_ERROR(parse_data_spec(b, base, /*train_optional=*/false, &o.data));
  if (o.data.raw) return b.field_error("prompt_format", "must be chat for SFT (chat data is always rendered with the template)");
  Status err;
  o.packing = b.get_bool_or("packing", o.packing, &err);
  const std::string attention = b.get_string_or("attention", o.document_attention ? "document" : "row", &err);
  KANANA_RETURN_IF_ERROR(err);
  if (attention != "document" && attention != "row") return b.field_error("attention", "must be document or row");
  o.document_attention = attention == "document";
  recipe.task_options = o;
  return Status::ok();
}

Json sft_recipe_json(const train::Recipe& recipe) {
  const auto& o = std::any_cast<const SftOptions&>(recipe.task_options);
  Json block = data_json(o.data);
  block["packing"] = o.packing;
  block["attention"] = o.document_attention ? "document" : "row";
  return {{"sft", block}};
}

Status parse_reward_recipe(const Json& json, const std::string& origin, const fs::path& base, train::Recipe& recipe) {
  KANANA_ASSIGN_OR_RETURN(JsonReader b, type_block(json, origin, "reward"));
  KANANA_RETURN_IF_ERROR(check_block_keys(b, {}));
  RewardOptions o;
  KANANA_RETURN_IF_ERROR(parse_data_spec(b, base, /*train_optional=*/false, &o.data));
  recipe.task_options = o;
  return Status::ok();
}

Json reward_recipe_json(const train::Recipe& recipe) {
  return {{"reward", data_json(std::any_cast<const RewardOptions&>(recipe.task_options).data)}};
}

Status parse_dpo_recipe(const Json& json, const std::string& origin, const fs::path& base, train::Recipe& recipe) {
  KANANA_ASSIGN_OR_RETURN(JsonReader b, type_block(json, origin, "dpo"));
  std::vector<std::string> own;
  for (const auto& f : dpo_task_fields()) own.push_back(f.key);
  own.push_back("online");
  KANANA_RETURN_IF_ERROR(check_block_keys(b, own));
  DpoTaskOptions o;
  const bool online = b.has("online");
  KANANA_RETURN_IF_ERROR(parse_data_spec(b, base, /*train_optional=*/online, &o.data));
  KANANA_RETURN_IF_ERROR(read_options(b, dpo_task_fields(), o, base, /*reject_unknown=*/false));
  if (o.loss.label_smoothing > 0 && o.loss.type != DpoLossType::kSigmoid)
    return b.field_error("label_smoothing", "only applies to the sigmoid loss");
  if (o.max_prompt_len >= recipe.seq_len) return b.field_error("max_prompt_len", "must be below seq_len");
  if (online) {
    KANANA_ASSIGN_OR_RETURN(JsonReader on, b.child("online"));
    KANANA_RETURN_IF_ERROR(read_options(on, online_spec_fields(), o.online, base));
    o.online.enabled = true;
    if (o.online.max_new_tokens >= recipe.seq_len) return on.field_error("max_new_tokens", "must be below seq_len");
    if (o.online.prompts.empty() && o.data.train.empty())
      return on.field_error("prompts", "is required when dpo.train is not given");
  }
  recipe.task_options = o;
  return Status::ok();
}

Json dpo_recipe_json(const train::Recipe& recipe) {
  const auto& o = std::any_cast<const DpoTaskOptions&>(recipe.task_options);
  Json block = data_json(o.data);
  if (o.data.train.empty()) block.erase("train");
  const Json loss = options_to_json(o, dpo_task_fields());  // named: items() must not outlive it
  for (const auto& [k, v] : loss.items()) block[k] = v;
  if (o.reference.empty()) block.erase("reference");
  if (o.online.enabled) {
    Json online = options_to_json(o.online, online_spec_fields());
    if (o.online.prompts.empty()) online.erase("prompts");
    block["online"] = std::move(online);
  }
  return {{"dpo", block}};
}

}  // namespace kanana::posttrain
