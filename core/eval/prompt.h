// Prompts the way lm-evaluation-harness builds them: a template rendered against an item's
// columns (doc_to_text), few-shot examples drawn with a fixed seed, and the context string
// description + shot_1 + fewshot_delimiter + ... + doc_to_text(item), where every shot is
// doc_to_text(shot) + target_delimiter + target(shot).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "eval/task.h"

namespace kanana::eval {

// Renders {field}, {field[i]}, {field|trim}, {options} and {{ / }} against `doc`. Numbers
// and booleans are written as JSON; a missing field or index is an error
// "<origin>: field 'x' is missing" (origin is "file:line").
Result<std::string> render_template(const std::string& tmpl, const Json& doc, const std::vector<std::string>& options,
                                    const std::vector<std::string>& labels, const std::string& origin);
// "A. first\nB. second" with `labels` (A, B, C ... when too few).
std::string options_block(const std::vector<std::string>& options, const std::vector<std::string>& labels);
// Labels for n choices: the given ones, then A, B, C ...
std::vector<std::string> labels_for(size_t n, const std::vector<std::string>& labels);

// Draws k few-shot examples per item, the same ones on every run with the same seed.
// When the pool is the item's own file, the item itself is never drawn (lm-eval samples k+1
// and drops the item).
class FewshotSampler {
 public:
  FewshotSampler(const std::vector<TaskItem>* pool, bool pool_is_eval_set, uint64_t seed)
      : pool_(pool), same_file_(pool_is_eval_set), seed_(seed) {}
  std::vector<const TaskItem*> sample(const TaskItem& item, int k) const;

 private:
  const std::vector<TaskItem>* pool_;
  bool same_file_;
  uint64_t seed_;
};

// description + shots + doc_to_text(item) (the context of every request of the item).
std::string build_context(const TaskSpec& spec, const TaskItem& item, const std::vector<const TaskItem*>& shots);
// The gold target of a shot: the gold continuation (multiple choice) or target (generate).
std::string shot_target(const TaskSpec& spec, const TaskItem& shot);

// lm-eval's _encode_pair text step: trailing whitespace of the context moves to the front of
// the continuation ("Answer: " + "A" scores " A" after "Answer:").
std::pair<std::string, std::string> split_request(const std::string& context, const std::string& continuation);

// splitmix64: seeds derived from (seed, index) for samplers and bootstraps.
uint64_t mix_seed(uint64_t seed, uint64_t index);

}  // namespace kanana::eval
