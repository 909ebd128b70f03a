// Kanana2Vec maths: tokenisation with the instruction prefix, batches, pooling, loading.
#include "embed/embedding_model.h"

#include "base/strings.h"
#include "embed/embedder.h"
#include "safetensors/safetensors.h"

namespace kanana::embed {
namespace {

namespace fs = std::filesystem;

// Parameters are created directly in the target dtype (a bf16 2.1B model never exists in fp32).
class DefaultDtypeGuard {
 public:
  explicit DefaultDtypeGuard(torch::ScalarType dtype) : saved_(torch::get_default_dtype()) {
    torch::set_default_dtype(caffe2::TypeMeta::fromScalarType(dtype));
  }
  ~DefaultDtypeGuard() { torch::set_default_dtype(saved_); }

 private:
  caffe2::TypeMeta saved_;
};

}  // namespace

std::string format_instruction(std::string_view task) {
  const std::string_view t = trim(task);
  if (t.empty()) return {};
  return "Instruct: " + std::string(t) + "\nQuery:";
}

Result<EmbedInput> tokenize_for_embedding(const tok::Tokenizer& tokenizer, std::string_view text,
                                          std::string_view instruction, int64_t max_length) {
  const std::string_view body = trim(text);
  if (body.empty()) return invalid_argument("the text is empty");
  tok::EncodeOptions eo;
  eo.add_bos = false;
  eo.parse_special = false;  // user text never turns into control tokens
  EmbedInput in;
  if (auto bos = tokenizer.bos_id()) in.ids.push_back(*bos);
  const std::string_view prefix = trim(instruction);
  if (!prefix.empty()) {
    auto p = tokenizer.encode(prefix, eo);
    in.ids.insert(in.ids.end(), p.begin(), p.end());
    in.prefix_len = int64_t(in.ids.size());  // BOS + instruction, as Kanana2Vec's instruction_lens
  }
  // Kanana2Vec joins "<instruction> <text>"; without an instruction the text stands alone.
  const std::string joined = prefix.empty() ? std::string(body) : " " + std::string(body);
  auto t = tokenizer.encode(joined, eo);
  const int64_t room = max_length - int64_t(in.ids.size());
  if (room <= 0 || t.empty()) {
    return invalid_argument(t.empty() ? "the text encodes to no tokens"
                                      : "the instruction fills max_length (" + std::to_string(max_length) +
                                            " tokens); nothing of the text is left to pool");
  }
  if (int64_t(t.size()) > room) t.resize(size_t(room));
  in.ids.insert(in.ids.end(), t.begin(), t.end());
  return in;
}

EmbedBatch make_embed_batch(const std::vector<const EmbedInput*>& rows, int32_t pad_id, torch::Device device) {
  int64_t seq = 1;
  for (const auto* r : rows) seq = std::max<int64_t>(seq, int64_t(r->ids.size()));
  const int64_t batch = int64_t(rows.size());
  auto ids = torch::full({batch, seq}, int64_t(pad_id), torch::kInt64);
  auto attn = torch::zeros({batch, seq}, torch::kInt64);
  auto pool = torch::zeros({batch, seq}, torch::kInt64);
  auto ia = ids.accessor<int64_t, 2>();
  auto aa = attn.accessor<int64_t, 2>();
  auto pa = pool.accessor<int64_t, 2>();
  for (int64_t b = 0; b < batch; ++b) {
    const auto& r = *rows[size_t(b)];
    for (int64_t s = 0; s < int64_t(r.ids.size()); ++s) {
      ia[b][s] = r.ids[size_t(s)];
      aa[b][s] = 1;
      pa[b][s] = s >= r.prefix_len ? 1 : 0;
    }
  }
  return {ids.to(device), attn.to(device), pool.to(device)};
}

torch::Tensor masked_mean_pool(const torch::Tensor& hidden, const torch::Tensor& pool_mask) {
  auto m = pool_mask.to(hidden.device(), torch::kFloat32).unsqueeze(-1);  // (b, s, 1)
  auto sum = (hidden.to(torch::kFloat32) * m).sum(1);                      // (b, h)
  auto count = m.sum(1).clamp_min(1.0);                                    // (b, 1)
  return sum / count;
}

torch::Tensor embed_forward(model::LlamaForCausalLM& model, const EmbedBatch& batch, bool normalize) {
  model::ForwardOptions fo;
  fo.attention_mask = batch.attention_mask;
  fo.compute_logits = false;
  auto hidden = model->forward(batch.input_ids, fo).last_hidden_state;  // (b, s, h)
  auto pooled = masked_mean_pool(hidden, batch.pool_mask);              // (b, h) fp32
  if (!normalize) return pooled;
  return torch::nn::functional::normalize(pooled, torch::nn::functional::NormalizeFuncOptions().p(2).dim(1));
}

Result<LoadedEmbeddingModel> load_embedding_model(const fs::path& dir, const model::LoadOptions& options) {
  KANANA_ASSIGN_OR_RETURN(auto config, model::read_llama_config(dir));
  if (!config.bidirectional) {
    return invalid_argument((dir / "config.json").string() + ": model_type is '" + config.model_type +
                            "', a causal LM; an embedding model has model_type 'kanana2vec' (bidirectional "
                            "attention). Train one from this model with a \"contrastive\" recipe.");
  }
  KANANA_ASSIGN_OR_RETURN(auto reader, st::CheckpointReader::open(dir));
  torch::ScalarType dtype = torch::kFloat32;
  if (options.dtype) {
    dtype = *options.dtype;
  } else {
    KANANA_ASSIGN_OR_RETURN(dtype, model::parse_dtype(config.torch_dtype));
  }
  LoadedEmbeddingModel out;
  out.config = config;
  model::LlamaConfig build = config;
  if (!reader->has("lm_head.weight") && !build.tie_word_embeddings) {
    // Kanana2VecModel has no head; building it tied allocates none (embeddings never use it).
    build.tie_word_embeddings = true;
    out.warnings.push_back(dir.string() + ": no lm_head.weight (embedding checkpoint); the model has no LM head");
  }
  try {
    {
      DefaultDtypeGuard guard(dtype);
      torch::NoGradGuard no_grad;
      out.model = model::LlamaForCausalLM(build);
    }
    KANANA_RETURN_IF_ERROR(model::load_weights(out.model, *reader, dir.string(), options.allow_unexpected, &out.warnings));
    if (options.device != torch::kCPU) out.model->to(options.device);
  } catch (const std::exception& e) {
    return internal_error("loading " + dir.string() + ": " + e.what());
  }
  out.model->eval();
  return out;
}

Result<model::LlamaForCausalLM> to_embedding_layout(model::LlamaForCausalLM& causal) {
  model::LlamaConfig c = causal->config();
  c.model_type = "kanana2vec";
  c.architectures = {"Kanana2VecModel"};
  c.bidirectional = true;
  c.tie_word_embeddings = true;  // no lm_head: the released embedding model has none
  try {
    const auto dtype = causal->dtype();
    const auto device = causal->device();
    model::LlamaForCausalLM out{nullptr};
    {
      DefaultDtypeGuard guard(dtype);
      torch::NoGradGuard no_grad;
      out = model::LlamaForCausalLM(c);
    }
    out->to(device);
    auto src = causal->named_parameters(/*recurse=*/true);
    torch::NoGradGuard no_grad;
    for (auto& item : out->named_parameters(/*recurse=*/true)) {
      const torch::Tensor* from = src.find(item.key());
      if (!from) return internal_error("to_embedding_layout: the causal model has no '" + item.key() + "'");
      item.value().copy_(*from);
    }
    return out;
  } catch (const std::exception& e) {
    return internal_error(std::string("converting to the embedding layout: ") + e.what());
  }
}

int32_t embedding_pad_id(const tok::Tokenizer& tokenizer) {
  if (auto p = tokenizer.pad_id()) return *p;
  if (auto e = tokenizer.eos_id()) return *e;
  return 0;
}

Result<std::shared_ptr<const tok::Tokenizer>> load_model_tokenizer(const fs::path& model_dir, const fs::path& explicit_path) {
  if (!explicit_path.empty()) return tok::load_tokenizer(explicit_path);
  KANANA_ASSIGN_OR_RETURN(const fs::path found, tok::model_tokenizer_path(model_dir));
  return tok::load_tokenizer(found);
}

}  // namespace kanana::embed
