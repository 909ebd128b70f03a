// Candidate replies for annotation: N samples per prompt from one or two model folders, each
// with its own seed and the sampling settings recorded, streamed to a callback as each one
// finishes, cancellable between and within candidates.
//
// Every candidate is one model::generate() call with num_samples = 1 and its own seed, so the
// seed stored with it reproduces it exactly (`kanana generate --seed S` with the same settings
// and prompt rendering). The seed is derived from (base seed, prompt id, model index, sample
// index), so refilling a set after an interruption draws new samples instead of repeats.
//
// Prompts are rendered with the model's chat template (detected from its tokenizer files, or
// named), or "raw": the messages' contents joined by blank lines with BOS, for base models.
//
// Threading: runs on the caller's thread (the GUI runs it on a worker QThread); callbacks run
// on that thread; CancelToken::cancel() may come from any thread. Torch-free header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "base/json.h"
#include "base/progress.h"
#include "base/status.h"
#include "model/sampling_options.h"
#include "store/workspace.h"

namespace kanana::prefs {

// The common sampling settings (model/sampling_options.h) with annotation's own defaults
// (a little more varied than chat's, so two candidates differ), and how the models run.
struct CandidateSampling : model::SamplingOptions {
  int64_t num_candidates = 2;          // per prompt and model
  std::string chat_template = "auto";  // auto | raw | llama3 | chatml
  std::string dtype = "float32";       // LibTorch's compute dtype: float32 | bfloat16
  // "" = LibTorch in `dtype`; f32 | bf16 | int8 | q4 = the Torch-free CPU engine with every
  // weight in that format (a `kanana model quantize` folder always runs on the engine).
  std::string weights;
  int threads = 0;                     // compute threads; 0 leaves LibTorch's setting / all cores for the engine

  CandidateSampling() {
    temperature = 0.8;
    top_p = 0.95;
  }

  // What candidates.sampling_json records (the settings that shaped the sample).
  Json to_json() const;
};
// The sampling table plus num_candidates, chat_template, dtype and weights (`seed` is the base seed
// every candidate derives its own from).
const OptionTable<CandidateSampling>& candidate_sampling_fields();

// The seed candidate `sample` of `prompt_id` from model `model` gets (31-bit, non-negative).
int64_t candidate_seed(uint64_t base_seed, int64_t prompt_id, size_t model, int64_t sample);

struct SampleRequest {
  int64_t prompt_id = 0;
  Json messages;            // the conversation to answer
  size_t model = 0;         // index into the models list
  int64_t first_sample = 0; // sample indices first_sample .. first_sample + count - 1
  int64_t count = 1;
};

struct SampledCandidate {
  int64_t prompt_id = 0;
  size_t model = 0;
  int64_t sample = 0;
  std::string text;
  int64_t seed = 0;
  Json sampling;            // CandidateSampling::to_json() plus the template used
  std::string stop_reason;  // "stop_token", "stop_string", "length"
  int64_t tokens = 0;
  double seconds = 0.0;
};

// Return a non-ok Status to stop (it is passed back as the result).
using CandidateSink = std::function<Status(const SampledCandidate&)>;

struct SamplingSummary {
  int64_t candidates = 0;
  int64_t tokens = 0;
  double seconds = 0.0;
  bool cancelled = false;   // stopped by the token; what was finished before was delivered
};

// Loads every model once (with its tokenizer), then serves the requests in order.
Result<SamplingSummary> sample_candidates(const std::vector<std::filesystem::path>& models,
                                          const std::vector<SampleRequest>& requests, const CandidateSampling& options,
                                          const CandidateSink& sink, const CancelToken* cancel = nullptr,
                                          Progress* progress = nullptr);

// Fill a prompt set: every prompt (or the listed ones) gets up to num_candidates candidates
// from each model (those it already has from that model count), each stored as it finishes
// (candidates row + lineage checkpoint --generated--> candidate) and then reported to
// `on_stored`. Model folders are registered as checkpoints when the workspace does not know them.
struct FillRequest {
  int64_t prompt_set_id = 0;
  std::vector<int64_t> prompt_ids;              // empty: the whole set
  std::vector<std::filesystem::path> models;    // one or two
  CandidateSampling sampling;
};
using StoredCallback = std::function<void(int64_t prompt_id, int64_t candidate_id)>;

Result<SamplingSummary> fill_candidates(store::Workspace& workspace, const FillRequest& request,
                                        const StoredCallback& on_stored = {}, const CancelToken* cancel = nullptr,
                                        Progress* progress = nullptr);

}  // namespace kanana::prefs
