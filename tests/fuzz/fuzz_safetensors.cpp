// A .safetensors file: header validation on open, then every tensor's bytes.
#include "fuzz_target.h"
#include "safetensors/reader.h"

KANANA_FUZZ_TARGET(safetensors) {
  const auto path = kanana::fuzz::input_file(data, size, ".safetensors");
  auto f = kanana::st::SafetensorsFile::open(path);
  if (!f.is_ok()) return 0;
  uint64_t sum = 0;
  for (const auto& t : (*f)->tensors()) {
    auto b = (*f)->bytes(t.name);
    if (!b.is_ok()) continue;
    if (b->size() != t.nbytes()) std::abort();
    if (!b->empty()) sum += (*b)[0] + (*b)[b->size() - 1];
  }
  return static_cast<int>(sum & 0);
}
