// The preset registry. Shapes keep GQA and an explicit head_dim where it matters, so the
// small presets exercise the same code paths as the released Kanana checkpoints.
#include "model/presets.h"

namespace kanana::model {
namespace {

LlamaConfig make(int64_t hidden, int64_t inter, int64_t layers, int64_t heads, int64_t kv_heads,
                 int64_t head_dim, int64_t vocab, bool tied, int64_t max_pos, double theta) {
  LlamaConfig c;
  c.hidden_size = hidden;
  c.intermediate_size = inter;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = head_dim;
  c.vocab_size = vocab;
  c.tie_word_embeddings = tied;
  c.max_position_embeddings = max_pos;
  c.rope_theta = theta;
  c.rms_norm_eps = 1e-5;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  c.pad_token_id = 0;
  c.torch_dtype = "float32";
  return c;
}

std::vector<ModelPreset> build() {
  std::vector<ModelPreset> p;
  p.push_back({"debug", "unit-test size: hidden 64, 2 layers, 4q/2kv heads, head_dim 16, vocab 512, tied",
               make(64, 160, 2, 4, 2, 16, 512, true, 512, 10000.0)});
  // head_dim 24 != 64/4: the explicit-head_dim path is always covered by the debug preset too.
  p.back().config.head_dim = 24;
  p.push_back({"tiny", "CPU-trainable ~7M params: hidden 256, 6 layers, 8q/4kv heads, vocab 8000, tied",
               make(256, 704, 6, 8, 4, 32, 8000, true, 1024, 10000.0)});
  p.push_back({"10m", "~10M params for the training bench: hidden 320, 7 layers, 8q/4kv, vocab 8000, tied",
               make(320, 864, 7, 8, 4, 40, 8000, true, 1024, 10000.0)});
  p.push_back({"small-100m", "~100M params: hidden 768, 12 layers, 12q/4kv heads, ffn 2048, vocab 32000, tied",
               make(768, 2048, 12, 12, 4, 64, 32000, true, 2048, 500000.0)});
  // kakaocorp/kanana-nano-2.1b-base config.json (see reference/kanana-facts.md §1).
  LlamaConfig k = make(1792, 8064, 32, 24, 8, 128, 128256, true, 8192, 500000.0);
  k.bos_token_id = 128000;
  k.eos_token_ids = {128001};
  k.pad_token_id.reset();
  k.torch_dtype = "bfloat16";
  p.push_back({"kanana-nano-2.1b", "the released Kanana nano 2.1B shape (2,086,979,328 params, bf16)", k});
  return p;
}

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  static const std::vector<ModelPreset> presets = build();
  return presets;
}

Result<LlamaConfig> preset_config(const std::string& name) {
  std::string known;
  for (const auto& p : model_presets()) {
    if (p.name == name) return p.config;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  return invalid_argument("unknown model preset '" + name + "' (known: " + known + ")");
}

}  // namespace kanana::model
