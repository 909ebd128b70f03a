// A Hugging Face tokenizer.json: loading, then encode/decode of a fixed mixed-script text and
// of ids taken from the input, including ids at and past the vocabulary's end.
#include "fuzz_target.h"
#include "tokenizer/hf_bpe.h"

KANANA_FUZZ_TARGET(tokenizer_json) {
  auto t = kanana::tok::load_hf_bpe(std::string(kanana::fuzz::as_text(data, size)), "tokenizer.json");
  if (!t.is_ok()) return 0;
  const auto ids = (*t)->encode("Hello 안녕하세요 <x> 123 \xff\xfe\n\t  x");
  (void)(*t)->decode(ids);
  std::vector<int32_t> probe = {0, (*t)->vocab_size() - 1};
  for (int32_t id : probe) (void)(*t)->id_to_piece(id);
  (void)(*t)->decode(probe, /*skip_special=*/true);
  return 0;
}
