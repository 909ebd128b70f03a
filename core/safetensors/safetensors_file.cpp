// SafetensorsFile::tensor: zero-copy LibTorch views of the mapping (or converted copies).
// Opening and validating the file is Torch-free (reader_file.cpp).
#include <torch/torch.h>

#include <cstring>

#include "base/files.h"
#include "safetensors/safetensors.h"

namespace kanana::st {

namespace {

// bf16 is the top half of an fp32, so widening is a 16-bit shift. LibTorch 1.13's generic
// .to(kFloat) ran at ~45 M elements/s here; this loop vectorises and runs on all intra-op threads.
at::Tensor bf16_to_f32(const at::Tensor& src) {
  at::Tensor out = torch::empty(src.sizes(), torch::TensorOptions().dtype(torch::kFloat));
  const auto* in = static_cast<const uint16_t*>(src.data_ptr());
  auto* dst = static_cast<uint32_t*>(out.data_ptr());
  at::parallel_for(0, src.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) dst[i] = static_cast<uint32_t>(in[i]) << 16;
  });
  return out;
}

}  // namespace

Result<at::Tensor> SafetensorsFile::tensor(const std::string& name, std::optional<c10::ScalarType> as) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) return not_found(path().string() + ": no tensor named '" + name + "'");
  KANANA_ASSIGN_OR_RETURN(auto stored, to_scalar_type(info->dtype));
  const auto options = torch::TensorOptions().dtype(stored).device(torch::kCPU);
  try {
    at::Tensor view;
    if (info->nbytes() == 0) {
      view = torch::empty(info->shape, options);
    } else {
      uint8_t* ptr = const_cast<uint8_t*>(file_->data()) + data_offset_ + info->begin;
      if (info->dtype == DType::BOOL) {
        // Bytes other than 0/1 are undefined behaviour for a C++ bool: refuse them.
        for (uint64_t i = 0; i < info->nbytes(); ++i)
          if (ptr[i] > 1)
            return data_loss(path().string() + ": tensor '" + name + "' is BOOL but byte " + std::to_string(i) +
                             " is " + std::to_string(ptr[i]));
      }
      if (reinterpret_cast<uintptr_t>(ptr) % dtype_size(info->dtype) != 0) {
        // Offsets not aligned to the element size (writers other than the reference one can do
        // this): copy into an aligned buffer rather than hand misaligned data to kernels.
        view = torch::empty(info->shape, options);
        std::memcpy(view.data_ptr(), ptr, info->nbytes());
      } else {
        auto* keep_alive = new std::shared_ptr<MappedFile>(file_);
        view = torch::from_blob(ptr, info->shape, [keep_alive](void*) { delete keep_alive; }, options);
      }
    }
    if (!as.has_value() || *as == stored) return view;
    if (info->dtype == DType::BF16 && *as == torch::kFloat) return bf16_to_f32(view);
    return view.to(*as);
  } catch (const std::exception& e) {
    return internal_error(path().string() + ": tensor '" + name + "': " + e.what());
  }
}

}  // namespace kanana::st
