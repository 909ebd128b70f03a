// Preference evaluation of a causal LM on held-out pairs (torch-free API): how often the model
// prefers the chosen reply, by likelihood and — given the reference it was trained against —
// by DPO's implicit reward r = β·(logπ(y|x) − logπref(y|x)).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/options.h"
#include "base/progress.h"
#include "base/status.h"
#include "posttrain/posttrain_spec.h"

namespace kanana::posttrain {

struct PreferenceEvalOptions {
  std::filesystem::path tokenizer;     // empty: the model folder's (or its run folder's)
  std::string chat_template = "auto";  // auto | chatml | llama3
  bool raw = false;                    // TRL standard text without a template
  int64_t max_length = 512;            // prompt + reply tokens (longer pairs truncated as in DPO)
  int64_t max_prompt_length = 0;       // 0 = max_length / 2
  double beta = DpoOptions{}.beta;     // for the implicit rewards: the DPO loss's default
  int64_t batch_size = 8;              // pairs per forward pass
  int threads = 0;                     // 0 = leave torch's setting
};

// Every field above but threads (the CLI's flags of `kanana posttrain eval-prefs` come from it).
inline const OptionTable<PreferenceEvalOptions>& preference_eval_fields() {
  using O = PreferenceEvalOptions;
  static const OptionTable<O> fields = {
      {.key = "beta", .member = &O::beta, .help = "DPO beta for the implicit rewards", .min = 0, .min_open = true},
      {.key = "tokenizer", .member = &O::tokenizer, .help = "tokenizer file or folder", .value_name = "PATH"},
      {.key = "chat_template", .member = &O::chat_template, .help = "chat format",
       .choices = {"auto", "chatml", "llama3"}},
      {.key = "raw", .member = &O::raw, .help = "TRL standard text without a chat template"},
      {.key = "max_length", .member = &O::max_length, .help = "prompt + reply tokens", .min = 1},
      {.key = "max_prompt_length", .member = &O::max_prompt_length, .help = "prompt tokens kept", .min = 0,
       .note = "0 = max_length / 2"},
      {.key = "batch_size", .member = &O::batch_size, .help = "pairs per forward pass", .min = 1},
  };
  return fields;
}

struct PairScore {
  double chosen = 0, rejected = 0;                  // Σ log p of the reply tokens
  double chosen_tokens = 0, rejected_tokens = 0;
  std::optional<double> ref_chosen, ref_rejected;   // with a reference model
};

struct PreferenceEval {
  int64_t pairs = 0;
  std::vector<std::string> problems;       // skipped lines / pairs
  double likelihood_accuracy = 0;          // mean[ logπ(y_c)/|y_c| > logπ(y_r)/|y_r| ]
  double mean_logp_chosen = 0, mean_logp_rejected = 0;  // per token
  // With a reference:
  std::optional<double> reward_accuracy;   // mean[ r_c > r_r ]
  std::optional<double> reward_margin;     // mean (r_c − r_r)
  std::optional<double> chosen_reward, rejected_reward;
  std::optional<double> dpo_loss;          // sigmoid DPO loss at this β
  std::vector<PairScore> scores;           // per pair, in file order
};

Result<PreferenceEval> evaluate_preferences(const std::filesystem::path& data, const std::filesystem::path& model,
                                            const std::optional<std::filesystem::path>& reference,
                                            const PreferenceEvalOptions& options, const CancelToken* cancel = nullptr);

}  // namespace kanana::posttrain
