// InfoNCE with in-batch negatives and the pair-file reader (contrastive.h).
#include "embed/contrastive.h"

#include "base/files.h"
#include "base/json.h"
#include "base/jsonl.h"
#include "base/strings.h"

namespace kanana::embed {

InfoNceOutput info_nce_loss(const torch::Tensor& q, const torch::Tensor& p, double temperature, bool symmetric) {
  TORCH_CHECK(q.dim() == 2 && p.sizes() == q.sizes(), "info_nce_loss: q and p must be (batch, dim) alike, got ",
              q.sizes(), " and ", p.sizes());
  TORCH_CHECK(temperature > 0, "info_nce_loss: temperature must be > 0");
  const int64_t n = q.size(0);
  auto sim = torch::matmul(q.to(torch::kFloat32), p.to(torch::kFloat32).t());  // (n, n) cosines
  auto logits = sim / temperature;
  auto target = torch::arange(n, torch::TensorOptions().dtype(torch::kInt64).device(q.device()));
  auto loss = torch::nn::functional::cross_entropy(logits, target);
  if (symmetric) loss = 0.5 * (loss + torch::nn::functional::cross_entropy(logits.t(), target));
  InfoNceOutput out;
  out.loss = loss;
  torch::NoGradGuard ng;
  auto s = sim.detach();
  out.accuracy = s.argmax(1).eq(target).to(torch::kFloat32).mean();
  auto diag = s.diagonal();
  out.positive_similarity = diag.mean();
  out.negative_similarity = n > 1 ? (s.sum() - diag.sum()) / double(n * (n - 1)) : torch::zeros({}, s.options());
  return out;
}

Result<PairFile> read_pairs_jsonl(const std::filesystem::path& file, bool strict) {
  PairFile out;
  auto pair_line = [&](JsonlLine& line) -> Status {
    const Json& j = line.value;
    for (const char* key : {"query", "positive"}) {
      std::string problem;
      if (!j.contains(key)) {
        problem = std::string("field '") + key + "' is required";
      } else if (!j[key].is_string()) {
        problem = std::string("field '") + key + "' must be a string";
      } else if (trim(j[key].get_ref<const std::string&>()).empty()) {
        problem = std::string("field '") + key + "' is empty";
      } else if (!is_valid_utf8(j[key].get_ref<const std::string&>())) {
        problem = std::string("field '") + key + "' is not valid UTF-8";
      }
      if (!problem.empty()) return invalid_argument(line.origin + ": " + problem);
    }
    out.pairs.push_back({j["query"].get<std::string>(), j["positive"].get<std::string>()});
    return Status::ok();
  };
  KANANA_ASSIGN_OR_RETURN(JsonlReport report,
                          read_jsonl(file, pair_line, {.skip_bad_lines = !strict, .objects_only = true}));
  out.lines = static_cast<int64_t>(report.lines);
  out.problems = report.messages();
  return out;
}

}  // namespace kanana::embed
