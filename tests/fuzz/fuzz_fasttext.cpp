// A fastText model file (language ID, quality classifiers), loaded and asked to predict.
#include "data/fasttext_model.h"
#include "fuzz_target.h"

KANANA_FUZZ_TARGET(fasttext) {
  const auto path = kanana::fuzz::input_file(data, size, ".bin");
  auto m = kanana::data::FastTextModel::load(path);
  if (!m.is_ok()) return 0;
  (void)(*m)->describe();
  (void)(*m)->predict("hello 안녕하세요 world", -1);
  return 0;
}
