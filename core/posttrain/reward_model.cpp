// Reward models: scalar head, loading/saving (reward_head.h) and the torch-free scoring API
// (reward_model.h).
#include "posttrain/reward_model.h"

#include <torch/torch.h>

#include <algorithm>
#include <mutex>
#include <numeric>
#include <set>

#include "base/json.h"
#include "base/strings.h"
#include "model/checkpoint.h"
#include "posttrain/chat_data.h"
#include "posttrain/reward_head.h"
#include "posttrain/task_support.h"
#include "safetensors/safetensors.h"
#include "tokenizer/tokenizer.h"

namespace kanana::posttrain {

namespace fs = std::filesystem;

torch::Tensor init_score_head(const model::LlamaConfig& config, uint64_t seed, torch::ScalarType dtype,
                              torch::Device device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  torch::Tensor w = torch::empty({1, config.hidden_size}, torch::kFloat32);
  {
    torch::NoGradGuard ng;
    w.normal_(0.0, config.initializer_range, gen);
  }
  return w.to(device, dtype).set_requires_grad(true);
}

torch::Tensor reward_forward(model::LlamaForCausalLM& model, const torch::Tensor& score_weight, const torch::Tensor& ids,
                             const torch::Tensor& lengths) {
  model::ForwardOptions fo;
  fo.compute_logits = false;
  auto out = model->forward(ids, fo);
  const auto& h = out.last_hidden_state;  // (B, T, H)
  const int64_t b = h.size(0), hidden = h.size(2);
  auto last = (lengths.to(h.device(), torch::kInt64) - 1).clamp_min(0).view({b, 1, 1}).expand({b, 1, hidden});
  auto picked = h.gather(1, last).squeeze(1);  // (B, H)
  return torch::matmul(picked.to(torch::kFloat32), score_weight.to(torch::kFloat32).t()).squeeze(-1);
}

Result<RewardWeights> load_reward_weights(const fs::path& dir, torch::ScalarType dtype, torch::Device device) {
  RewardWeights w;
  KANANA_ASSIGN_OR_RETURN(w.config, model::read_llama_config(dir));
  KANANA_ASSIGN_OR_RETURN(auto reader, st::CheckpointReader::open(dir));
  const std::string origin = dir.string();
  KANANA_ASSIGN_OR_RETURN(w.model, model::init_model(w.config, /*seed=*/0, dtype, device));
  auto params = w.model->named_parameters(true);
  for (const auto& item : params) {
    if (item.key() == "lm_head.weight") continue;  // a reward model has none (HF layout) or does not use it
    if (!reader->has(item.key())) return not_found(origin + ": tensor '" + item.key() + "' is missing");
    KANANA_ASSIGN_OR_RETURN(auto info, reader->info(item.key()));
    if (at::IntArrayRef(info.shape) != item.value().sizes())
      return invalid_argument(origin + ": tensor '" + item.key() + "' has the wrong shape for config.json");
  }
  torch::Tensor score;
  if (reader->has(kScoreWeightName)) {
    KANANA_ASSIGN_OR_RETURN(score, reader->tensor(kScoreWeightName, torch::kFloat32));
  } else if (fs::is_regular_file(dir / "extra.safetensors")) {
    KANANA_ASSIGN_OR_RETURN(auto extra, st::SafetensorsFile::open(dir / "extra.safetensors"));
    if (!extra->find(kScoreWeightName))
      return not_found(origin + ": no 'score.weight' in model.safetensors or extra.safetensors (not a reward model)");
    KANANA_ASSIGN_OR_RETURN(score, extra->tensor(kScoreWeightName, torch::kFloat32));
  } else {
    return not_found(origin + ": no 'score.weight' tensor (not a reward model)");
  }
  if (score.dim() != 2 || score.size(0) != 1 || score.size(1) != w.config.hidden_size)
    return invalid_argument(origin + ": 'score.weight' has shape " + c10::str(score.sizes()) + ", expected [1, " +
                            std::to_string(w.config.hidden_size) + "] (one label)");
  for (const auto& name : reader->names()) {
    if (params.contains(name) || name == kScoreWeightName || ends_with(name, "rotary_emb.inv_freq")) continue;
    if (name == "lm_head.weight") continue;
    return invalid_argument(origin + ": unexpected tensor '" + name + "' for a Llama reward model");
  }
  torch::NoGradGuard ng;
  for (auto& item : params) {
    if (!reader->has(item.key())) continue;
    KANANA_ASSIGN_OR_RETURN(auto src, reader->tensor(item.key()));
    item.value().copy_(src);
  }
  w.score = score.clone().to(device, dtype);
  return w;
}

Status save_reward_model(const fs::path& dir, model::LlamaForCausalLM& model, const torch::Tensor& score) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return invalid_argument(dir.string() + ": cannot create folder (" + ec.message() + ")");
  model::LlamaConfig config = model->config();
  config.architectures = {"LlamaForSequenceClassification"};
  config.torch_dtype = model::dtype_name(model->dtype());
  Json cj = model::llama_config_to_json(config);
  cj["id2label"] = {{"0", "LABEL_0"}};
  cj["label2id"] = {{"LABEL_0", 0}};
  KANANA_RETURN_IF_ERROR(write_json_file(dir / "config.json", cj));
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& item : model->named_parameters(true)) {
    if (item.key() == "lm_head.weight") continue;
    tensors.emplace_back(item.key(), item.value().detach());
  }
  tensors.emplace_back(kScoreWeightName, score.detach().to(model->dtype()).reshape({1, config.hidden_size}));
  return st::save_checkpoint(dir, tensors);
}

// ---- RewardModel ------------------------------------------------------------------------

struct RewardModel::Impl {
  RewardWeights weights;
  std::shared_ptr<const tok::Tokenizer> tokenizer;
  fs::path tokenizer_path;
  tok::ChatTemplateKind kind = tok::ChatTemplateKind::kChatMl;
  torch::Device device = torch::kCPU;
  int64_t max_length = 0;
  int64_t batch_size = 8;
  int32_t pad = 0;
  mutable std::mutex mu;

  Result<std::vector<int32_t>> sequence(const std::vector<tok::ChatMessage>& conversation) const {
    KANANA_ASSIGN_OR_RETURN(TokenizedChat chat, tokenize_chat(*tokenizer, kind, conversation));
    if (chat.turns.empty()) return invalid_argument("the conversation has no assistant turn to score");
    std::vector<int32_t> ids(chat.ids.begin(), chat.ids.begin() + int64_t(chat.turns.back().second));
    if (max_length > 0 && int64_t(ids.size()) > max_length) ids.erase(ids.begin(), ids.end() - max_length);
    return ids;
  }

  Result<std::vector<double>> score(const std::vector<std::vector<int32_t>>& seqs, const CancelToken* cancel) const {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<double> out(seqs.size());
    try {
      torch::NoGradGuard ng;
      for (size_t begin = 0; begin < seqs.size(); begin += size_t(batch_size)) {
        if (cancel && cancel->is_cancelled()) return cancelled();
        const size_t end = std::min(seqs.size(), begin + size_t(batch_size));
        int64_t longest = 0;
        for (size_t i = begin; i < end; ++i) longest = std::max<int64_t>(longest, int64_t(seqs[i].size()));
        torch::Tensor ids = torch::full({int64_t(end - begin), longest}, int64_t(pad), torch::kInt64);
        torch::Tensor lengths = torch::empty({int64_t(end - begin)}, torch::kInt64);
        auto a = ids.accessor<int64_t, 2>();
        for (size_t i = begin; i < end; ++i) {
          for (size_t t = 0; t < seqs[i].size(); ++t) a[int64_t(i - begin)][int64_t(t)] = seqs[i][t];
          lengths[int64_t(i - begin)] = int64_t(seqs[i].size());
        }
        auto model = weights.model;
        auto r = reward_forward(model, weights.score, ids.to(device), lengths.to(device)).cpu();
        for (size_t i = begin; i < end; ++i) out[i] = r[int64_t(i - begin)].item<double>();
      }
    } catch (const c10::Error& e) {
      return internal_error(std::string("reward model forward failed: ") + e.what_without_backtrace());
    }
    return out;
  }
};

RewardModel::RewardModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RewardModel::~RewardModel() = default;

Result<std::unique_ptr<RewardModel>> RewardModel::load(const fs::path& dir, const RewardModelOptions& options) {
  auto impl = std::make_unique<Impl>();
  KANANA_ASSIGN_OR_RETURN(torch::ScalarType dtype, model::parse_dtype(options.dtype));
  try {
    impl->device = torch::Device(options.device);
  } catch (const c10::Error&) {
    return invalid_argument("unknown device '" + options.device + "' (expected cpu, cuda or cuda:N)");
  }
  if (options.batch_size < 1) return invalid_argument("batch_size must be >= 1");
  KANANA_ASSIGN_OR_RETURN(impl->weights, load_reward_weights(dir, dtype, impl->device));
  impl->weights.model->eval();
  // The tokenizer: given, next to the model, or the run folder's copy (<run>/checkpoints/step-N).
  KANANA_ASSIGN_OR_RETURN(TaskTokenizer found, find_model_tokenizer(dir, options.tokenizer));
  impl->tokenizer = found.tokenizer;
  impl->tokenizer_path = found.path;
  if (options.chat_template) {
    impl->kind = *options.chat_template;
  } else {
    KANANA_ASSIGN_OR_RETURN(impl->kind, tok::detect_chat_template(*impl->tokenizer));
  }
  if (impl->tokenizer->vocab_size() > impl->weights.config.vocab_size)
    return invalid_argument(impl->tokenizer_path.string() + ": the tokenizer has " +
                            std::to_string(impl->tokenizer->vocab_size()) + " tokens, the reward model " +
                            std::to_string(impl->weights.config.vocab_size));
  impl->max_length = options.max_length > 0 ? options.max_length : impl->weights.config.max_position_embeddings;
  impl->batch_size = options.batch_size;
  impl->pad = padding_id(*impl->tokenizer);
  return std::unique_ptr<RewardModel>(new RewardModel(std::move(impl)));
}

Result<std::vector<double>> RewardModel::score_conversations(const std::vector<std::vector<tok::ChatMessage>>& conversations,
                                                             const CancelToken* cancel) const {
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(conversations.size());
  for (size_t i = 0; i < conversations.size(); ++i) {
    auto s = impl_->sequence(conversations[i]);
    if (!s) return s.status().with_context("conversation " + std::to_string(i));
    seqs.push_back(std::move(s).value());
  }
  return impl_->score(seqs, cancel);
}

Result<std::vector<double>> RewardModel::score_candidates(const std::vector<tok::ChatMessage>& prompt,
                                                          const std::vector<std::string>& candidates,
                                                          const CancelToken* cancel) const {
  std::vector<std::vector<tok::ChatMessage>> conversations;
  conversations.reserve(candidates.size());
  for (const auto& c : candidates) {
    auto conv = prompt;
    conv.push_back(tok::ChatMessage{"assistant", c, {}, {}, {}});
    conversations.push_back(std::move(conv));
  }
  return score_conversations(conversations, cancel);
}

Result<BestOfN> RewardModel::best_of_n(const std::vector<tok::ChatMessage>& prompt,
                                       const std::vector<std::string>& candidates, const CancelToken* cancel) const {
  if (candidates.empty()) return invalid_argument("best-of-N needs at least one candidate");
  BestOfN out;
  KANANA_ASSIGN_OR_RETURN(out.scores, score_candidates(prompt, candidates, cancel));
  out.ranking = rank_by_score(out.scores);
  out.best = out.ranking.front();
  return out;
}

const model::LlamaConfig& RewardModel::config() const { return impl_->weights.config; }
tok::ChatTemplateKind RewardModel::chat_template() const { return impl_->kind; }
const fs::path& RewardModel::tokenizer_path() const { return impl_->tokenizer_path; }

std::vector<size_t> rank_by_score(const std::vector<double>& scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return order;
}

}  // namespace kanana::posttrain
