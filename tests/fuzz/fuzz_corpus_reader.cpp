// Corpus files as `kanana data ...` reads them: plain, gzip or zstd (by magic; a .zst/.gz name
// without the magic is an error), split into lines under a small line cap, each parsed as a
// JSONL document. The first input byte picks the file name's extension.
#include "data/byte_source.h"
#include "data/reader.h"
#include "fuzz_target.h"

KANANA_FUZZ_TARGET(corpus_reader) {
  if (size == 0) return 0;
  static const char* kExt[] = {".jsonl", ".jsonl.gz", ".jsonl.zst", ".txt"};
  const auto path = kanana::fuzz::input_file(data + 1, size - 1, kExt[data[0] % 4]);
  kanana::data::ReaderOptions o;
  o.max_line_bytes = 4096;
  o.max_document_bytes = 4096;
  auto src = kanana::data::open_byte_source(path);
  if (src.is_ok()) {
    kanana::data::LineReader lines(std::move(*src), o.max_line_bytes);
    kanana::data::LineReader::Line line;
    for (int n = 0; n < 100000; ++n) {
      auto more = lines.next(&line);
      if (!more.is_ok() || !*more) break;
      kanana::data::RawRecord raw;
      raw.bytes = line.text;
      (void)kanana::data::parse_record(raw, o);
    }
  }
  auto reader = kanana::data::CorpusReader::open({path}, o);
  if (reader.is_ok()) {
    kanana::data::RawRecord raw;
    for (int n = 0; n < 100000; ++n) {
      auto more = (*reader)->next(&raw);
      if (!more.is_ok() || !*more) break;
    }
  }
  return 0;
}
