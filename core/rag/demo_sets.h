// Training and evaluation sets for the embedding model and retrieval, built from the real
// corpora that `kanana data import-demo` writes (data-sources.md):
//   - ko_en_libreoffice_aligned.jsonl: LibreOffice help paragraphs aligned by par_id; the
//     real translations (translated = true) give English↔Korean pairs;
//   - faq_qa_{en,ko}.jsonl: the Debian FAQ's numbered questions with their answer sections;
//   - install_guide_{en,ko}.jsonl: the installation guide's sections (title → text), more
//     in-domain retrieval pairs.
// FAQ sections are split by a seeded hash into training and held-out evaluation sections, so
// the retrieval evaluation never sees a question the embedding model was trained on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "base/status.h"

namespace kanana::rag {

struct DemoSetOptions {
  std::filesystem::path corpora;    // <cache>/corpora
  std::filesystem::path out_dir;
  double eval_fraction = 0.3;       // FAQ sections held out for evaluation
  uint64_t seed = 1;
  int64_t max_aligned_pairs = 20000;  // translation pairs kept (shortest-first is avoided: a seeded sample)
  int64_t min_chars = 20;           // aligned paragraphs shorter than this (either side) are skipped
  int64_t repeat_retrieval = 1;     // FAQ and installation-guide pairs written this many times
                                    // (they are few next to the translations)
  int64_t ict_per_document = 0;     // inverse-cloze pairs (a sentence → the rest of its
                                    // document) per installation-guide section / training FAQ answer
};

struct DemoSetReport {
  std::map<std::string, int64_t> written;  // file name → lines
  int64_t eval_sections = 0, train_sections = 0;
};

// Writes into out_dir:
//   train_pairs.jsonl   {"query", "positive", "source"}: en→ko and ko→en translation pairs,
//                        question→answer pairs of the training FAQ sections and title→text
//                        pairs of the installation guide (both languages), and optionally
//                        inverse-cloze pairs (Lee et al. 2019) from the same documents;
//   faq_passages.jsonl  {"id": "debian-faq:q1.1/en", "lang", "question", "text"}: every FAQ
//                        answer in both languages (the corpus to index);
//   faq_eval.jsonl      {"query", "relevant": [id], "lang"}: the held-out questions.
Result<DemoSetReport> make_demo_sets(const DemoSetOptions& options);

}  // namespace kanana::rag
