// HF Llama checkpoint folder -> GGUF (see llama_export.h).
#include "gguf/llama_export.h"

#include <vector>

#include "gguf/gguf.h"
#include "gguf/llama_gguf.h"
#include "gguf/llama_vocab.h"
#include "infer/widen.h"
#include "model/config.h"
#include "safetensors/reader.h"

namespace kanana::gguf {

namespace fs = std::filesystem;

namespace {

// The tensor as a contiguous fp32 matrix (rows x cols) in GGUF row order, widened from the
// mapping row by row: the rows of q/k are permuted for llama.cpp's rotary layout.
Status load_rows(const st::CheckpointReader& reader, const LlamaTensorPlan& t, std::vector<float>& out) {
  KANANA_ASSIGN_OR_RETURN(st::TensorInfo info, reader.info(t.hf_name));
  KANANA_ASSIGN_OR_RETURN(auto bytes, reader.bytes(t.hf_name));
  const int64_t cols = t.hf_shape.back();
  const int64_t rows = int64_t(info.nbytes() / st::dtype_size(info.dtype)) / cols;
  const size_t row_bytes = size_t(cols) * st::dtype_size(info.dtype);
  out.resize(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t s = t.rope_heads == 0 ? r : rope_permuted_source_row(r, rows, t.rope_heads);
    infer::widen_to_f32(bytes.data() + size_t(s) * row_bytes, info.dtype, cols, out.data() + r * cols);
  }
  reader.release_pages(t.hf_name);
  return Status::ok();
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
    if (!infer::widens_to_f32(info.dtype))
      return invalid_argument(dir.string() + ": tensor '" + t.hf_name + "' is " + st::dtype_name(info.dtype) +
                              "; the export reads F32, BF16 or F16 checkpoints");
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
  std::vector<float> rows;
  int64_t done = 0;
  for (const auto& t : plan) {
    if (o.cancel && o.cancel->is_cancelled()) return cancelled("export cancelled; no file was written");
    if (t.hf_name.empty()) {
      rows = llama3_rope_factors(config);
    } else {
      KANANA_RETURN_IF_ERROR(load_rows(*reader, t, rows));
    }
    const int64_t cols = t.hf_shape.back();
    const int64_t n_rows = int64_t(rows.size()) / cols;
    bytes.resize(row_bytes(t.type, cols) * n_rows);
    KANANA_RETURN_IF_ERROR(quantize_rows(t.type, rows.data(), n_rows, cols, bytes.data(), t.gguf_name));
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
