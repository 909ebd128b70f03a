// A GGUF file: validation on open, metadata lookups, and every tensor converted to fp32.
#include "fuzz_target.h"
#include "gguf/gguf.h"

KANANA_FUZZ_TARGET(gguf) {
  const auto path = kanana::fuzz::input_file(data, size, ".gguf");
  auto g = kanana::gguf::GgufFile::open(path);
  if (!g.is_ok()) return 0;
  (void)(*g)->find("general.architecture");
  for (const auto& t : (*g)->tensors()) {
    (void)(*g)->tensor_data(t);
    (void)(*g)->tensor_as_f32(t.name);
  }
  return 0;
}
