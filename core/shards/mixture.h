// Stage mixtures for pre-training: each stage draws its sequences from several packed
// sources by weight until its token budget is spent, then the run moves to the next stage.
//
// Recipe JSON (the "stages" array of a training recipe; paths relative to the recipe file):
//   "stages": [
//     {"name": "stage1", "token_budget": "2M",            // integer, or "500K" "2M" "10B" "1T"
//      "sources": [{"name": "en-web", "path": "packs/en", "weight": 0.7},
//                  {"name": "ko-web", "path": "packs/ko", "weight": 0.3}]},
//     {"name": "stage2", "token_budget": 1000000, "sources": [...]}]
//
// Sampling: every sequence (seq_len + 1 window) of global sample index g in stage s picks its
// source with a counter-based draw u = hash(seed, s, g) against the normalised cumulative
// weights, so the choice depends only on (seed, stage, g): it is the same for any world_size
// and needs no RNG state in the cursor. Each source keeps its own shuffled window stream
// (see sampler.h) whose position advances by one per sequence drawn from it; positions carry
// across stages, so a source used in two stages continues rather than repeating its data.
//
// Budgets count target tokens (seq_len per sequence). A stage lasts
// ceil(token_budget / (global_batch * seq_len)) global batches; a batch never mixes stages.
// All ranks compute the sources of the whole global batch and take their rows of it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "shards/sampler.h"
#include "shards/shard.h"

namespace kanana::shards {

struct SourceSpec {
  std::string name;
  std::filesystem::path path;   // pack folder (absolute after parsing)
  double weight = 1.0;
};

struct StageSpec {
  std::string name;
  uint64_t token_budget = 0;
  std::vector<SourceSpec> sources;
};

struct ParseStagesOptions {
  std::filesystem::path base_dir;          // relative source paths resolve against this
  bool reject_unknown_stage_keys = false;  // the trainer's recipe adds its own keys per stage
  std::vector<std::string> extra_stage_keys;  // accepted when rejecting unknown keys
};

// Parse a "stages" JSON array. Errors name the field:
//   "recipe.json: field 'stages[1].sources[0].weight' must be > 0".
Result<std::vector<StageSpec>> parse_stages(const Json& stages, const std::string& origin,
                                            const ParseStagesOptions& options = {});
// Read a recipe file and parse its top-level "stages" (base_dir = the file's folder).
Result<std::vector<StageSpec>> read_stages(const std::filesystem::path& recipe_file);
// "2M" → 2000000; plain integers; K M B T suffixes (decimal). Errors describe the format.
Result<uint64_t> parse_token_count(const std::string& text);

// Planning: what each stage will draw from each source (for `kanana mixture plan`).
struct SourcePlan {
  std::string name;
  std::filesystem::path path;
  double weight = 0;
  double share = 0;               // weight / sum of the stage's weights
  uint64_t available_tokens = 0;  // train split tokens of the pack
  uint64_t tokens_to_draw = 0;    // expected: share * stage tokens
  double epochs = 0;              // tokens_to_draw / available_tokens in this stage
  double cumulative_epochs = 0;   // over this and earlier stages
};
struct StagePlan {
  std::string name;
  uint64_t token_budget = 0;
  uint64_t tokens = 0;            // rounded up to whole global batches when seq_len/batch given
  std::vector<SourcePlan> sources;
};
struct PlanOptions {
  int64_t seq_len = 0;            // 0: no rounding to global batches
  int64_t global_batch = 0;
};
// Opens every source's manifest (not its shards) and checks the tokenizers agree.
Result<std::vector<StagePlan>> plan_mixture(const std::vector<StageSpec>& stages, const PlanOptions& options = {});

struct MixtureOptions {
  int64_t seq_len = 2048;
  int64_t batch_size = 8;     // per rank
  uint64_t seed = 0;
  int rank = 0;
  int world_size = 1;
  OpenOptions open;           // checksum verification of every source on open
};

struct MixtureBatch {
  size_t stage = 0;
  bool stage_started = false;          // first batch of this stage (a switch happened, or the run began)
  std::vector<int32_t> source_of_row;  // index into MixtureSampler::source_names() per row
};

class MixtureSampler {
 public:
  // Validates the stages (non-empty, positive budgets and weights, sources with the same name
  // have the same path), opens every source once and checks that all manifests share one
  // tokenizer fingerprint (error names both sources and fingerprints).
  static Result<std::unique_ptr<MixtureSampler>> open(std::vector<StageSpec> stages,
                                                      const MixtureOptions& options);

  // This rank's (batch_size, seq_len + 1) rows. kOutOfRange once every stage is done.
  Result<MixtureBatch> next_batch(int32_t* out);
  Result<MixtureBatch> next_batch(int64_t* out);

  bool finished() const { return stage_ >= stages_.size(); }
  size_t stage_index() const { return stage_; }
  size_t num_stages() const { return stages_.size(); }
  const StageSpec& stage(size_t i) const { return stages_[i]; }
  uint64_t stage_steps(size_t i) const;              // global batches stage i lasts
  uint64_t steps_done_in_stage() const { return step_in_stage_; }
  uint64_t total_steps() const;                       // over all stages
  uint64_t global_step() const;                       // global batches done over all stages
  uint64_t stage_tokens_consumed() const;             // all ranks, current stage
  const std::vector<std::string>& source_names() const { return source_names_; }
  const std::vector<uint64_t>& source_tokens_consumed() const { return source_tokens_; }  // all ranks, all stages
  const std::string& tokenizer_fingerprint() const { return fingerprint_; }
  std::shared_ptr<const ShardSet> source_data(size_t i) const { return sources_[i].data; }

  Json cursor() const;
  Status restore(const Json& cursor);   // errors name the mismatch (stages, sources, seed, seq_len)

 private:
  struct Source {
    std::string name;
    std::filesystem::path path;
    std::shared_ptr<const ShardSet> data;
    WindowOrder order{1, 0, false};
    uint64_t position = 0;  // windows drawn (all ranks)
  };
  MixtureSampler() = default;
  template <typename T> Result<MixtureBatch> next_batch_impl(T* out);

  std::vector<StageSpec> stages_;
  std::vector<std::vector<size_t>> stage_source_index_;   // stage → index into sources_
  std::vector<std::vector<double>> stage_cumulative_;     // normalised cumulative weights
  std::vector<Source> sources_;
  std::vector<std::string> source_names_;
  std::vector<uint64_t> source_tokens_;
  MixtureOptions options_;
  std::string fingerprint_;
  size_t stage_ = 0;
  uint64_t step_in_stage_ = 0;
  uint64_t sample_in_stage_ = 0;   // global sample index g within the stage
  std::vector<int32_t> scratch_;
};

}  // namespace kanana::shards
