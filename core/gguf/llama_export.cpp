// HF Llama checkpoint folder -> GGUF (see llama_export.h).
#include "gguf/llama_export.h"

#include <ATen/ATen.h>

#include <vector>

#include "gguf/gguf.h"
#include "gguf/llama_gguf.h"
#include "gguf/llama_vocab.h"
#include "model/config.h"
#include "safetensors/safetensors.h"

namespace kanana::gguf {

namespace fs = std::filesystem;

namespace {

// The tensor as a contiguous fp32 matrix (rows x cols) in GGUF row order: the rows of q/k are
// permuted for llama.cpp's rotary layout (a copy); other tensors are used as loaded.
Result<at::Tensor> load_rows(const st::CheckpointReader& reader, const LlamaTensorPlan& t) {
  KANANA_ASSIGN_OR_RETURN(at::Tensor w, reader.tensor(t.hf_name, at::kFloat));
  w = w.contiguous();
  reader.release_pages(t.hf_name);
  if (t.rope_heads == 0) return w;
  const int64_t rows = t.hf_shape[0], cols = t.hf_shape[1];
  at::Tensor out = at::empty({rows, cols}, at::kFloat);
  const float* src = w.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t s = rope_permuted_source_row(r, rows, t.rope_heads);
    std::copy(src + s * cols, src + (s + 1) * cols, dst + r * cols);
  }
  return out;
}

}  // namespace

Result<LlamaExportSummary> export_llama_gguf(const fs::path& dir, const fs::path& out, const LlamaExportOptions& o) {
  // 1. Everything that can be refused, before the output is opened.
  const std::string config_origin = (dir / "config.json").string();
  KANANA_ASSIGN_OR_RETURN(model::LlamaConfig config, model::read_llama_config(dir));
  KANANA_RETURN_IF_ERROR(check_llama_exportable(config, config_origin));
  KANANA_ASSIGN_OR_RETURN(auto reader, st::CheckpointReader::open(dir));
  const std::vector<LlamaTensorPlan> plan = plan_llama_tensors(config, o.type);
  for (const auto& t : plan) {
    if (t.hf_name.empty()) continue;
    if (!reader->has(t.hf_name)) return not_found(dir.string() + ": tensor '" + t.hf_name + "' is missing");
    KANANA_ASSIGN_OR_RETURN(st::TensorInfo info, reader->info(t.hf_name));
    if (info.shape != t.hf_shape) {
      std::string want, got;
      for (auto d : t.hf_shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
      for (auto d : info.shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
      return invalid_argument(dir.string() + ": tensor '" + t.hf_name + "' has shape [" + got + "], config.json implies [" +
                              want + "]");
    }
  }
  KANANA_ASSIGN_OR_RETURN(LlamaVocab vocab, read_llama_vocab(dir, config));

  GgufWriter w;
  const std::string name = !o.name.empty() ? o.name : fs::absolute(dir).lexically_normal().filename().string();
  for (auto& kv : llama_architecture_metadata(config, o.type, name.empty() ? "model" : name)) {
    KANANA_RETURN_IF_ERROR(w.add(std::move(kv.key), std::move(kv.value)));
  }
  for (auto& kv : vocab.metadata) KANANA_RETURN_IF_ERROR(w.add(std::move(kv.key), std::move(kv.value)));
  for (const auto& t : plan) {
    // add_tensor refuses a row width that is not a multiple of the block, naming the tensor.
    Status st = w.add_tensor(t.gguf_name, t.type, t.ne());
    if (!st.is_ok()) {
      return Status(st.code(), st.message() + (t.hf_name.empty() ? "" : " (from '" + t.hf_name + "')") +
                                   "; choose --type f32 or f16 for this model");
    }
  }

  // 2. Convert and write, one tensor at a time.
  KANANA_RETURN_IF_ERROR(w.open(out));
  std::vector<uint8_t> bytes;
  int64_t done = 0;
  for (const auto& t : plan) {
    if (o.cancel && o.cancel->is_cancelled()) return cancelled("export cancelled; no file was written");
    at::Tensor rows;
    if (t.hf_name.empty()) {
      const std::vector<float> factors = llama3_rope_factors(config);
      rows = at::tensor(at::ArrayRef<float>(factors), at::kFloat);
    } else {
      KANANA_ASSIGN_OR_RETURN(rows, load_rows(*reader, t));
    }
    const int64_t cols = t.hf_shape.back();
    const int64_t n_rows = rows.numel() / cols;
    bytes.resize(row_bytes(t.type, cols) * n_rows);
    KANANA_RETURN_IF_ERROR(quantize_rows(t.type, rows.data_ptr<float>(), n_rows, cols, bytes.data(), t.gguf_name));
    KANANA_RETURN_IF_ERROR(w.write_tensor(t.gguf_name, bytes));
    ++done;
    if (o.on_tensor) o.on_tensor(done, int64_t(plan.size()), t.gguf_name);
  }
  KANANA_RETURN_IF_ERROR(w.commit());
  LlamaExportSummary s;
  s.tensors = int64_t(plan.size());
  std::error_code ec;
  s.file_bytes = fs::file_size(out, ec);
  s.vocab = vocab.summary;
  return s;
}

}  // namespace kanana::gguf
