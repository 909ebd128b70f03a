// Converts the raw demo sources that scripts/fetch/corpora.sh unpacks into
// $KANANA_DATA_CACHE into JSONL corpora under <cache>/corpora/ (one {"id","text","source",
// "lang"} object per line), using the format readers of this module (HTML help pages,
// numbered-section manuals, gettext .mo catalogs, the Brown corpus). Outputs are written
// atomically; a missing source is reported and skipped, the others are still written.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/progress.h"
#include "base/status.h"

namespace kanana::data {

struct DemoImportOptions {
  std::filesystem::path cache;                            // $KANANA_DATA_CACHE
  std::filesystem::path locale_dir = "/usr/share/locale"; // for ko/LC_MESSAGES/*.mo
  uint64_t bilingual_bytes = 4ull << 20;                  // target size of demo_bilingual.jsonl
};

struct DemoImportReport {
  std::map<std::string, uint64_t> documents;  // output file name → lines written
  std::vector<std::string> skipped;           // "debian_faq_ko.jsonl: <why>"
};

Result<DemoImportReport> import_demo_corpora(const DemoImportOptions& options, const CancelToken* cancel = nullptr);

}  // namespace kanana::data
