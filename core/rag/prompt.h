// Retrieval-augmented prompts: retrieved chunks numbered [1], [2], ... in the prompt, the
// numbers the model writes in its answer mapped back to the source passages (file + byte
// range) so a viewer can open them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "rag/chunk.h"

namespace kanana::rag {

struct Citation {
  int number = 0;         // as written in the prompt: [number]
  int64_t chunk_id = 0;
  SourceSpan span;
  std::string text;       // the passage as inserted (possibly shortened)
};

struct PromptOptions {
  size_t max_sources = 5;          // hits beyond this are left out
  size_t max_source_chars = 2000;  // longer passages are cut at a UTF-8 boundary, marked "…"
  size_t max_total_chars = 8000;   // passages stop when the sources block would exceed this
  // {sources} and {question} are replaced; the default asks for [n] citations and to say
  // when the sources do not hold the answer, in the question's language.
  std::string system = "";         // "" = kDefaultSystem below
  std::string user_template = "";  // "" = kDefaultUserTemplate below
};

inline constexpr const char* kDefaultRagSystem =
    "You answer questions using only the numbered sources you are given. After every claim, cite the "
    "source(s) it comes from by number in square brackets, like [1] or [2][3]. If the sources do not "
    "contain the answer, say that you cannot find it in the sources. Answer in the language of the question.";
inline constexpr const char* kDefaultRagUserTemplate = "Sources:\n{sources}\n\nQuestion: {question}";

struct RagPrompt {
  std::string system;  // the system message
  std::string user;    // the user message: sources block + question
  std::vector<Citation> citations;  // number i at index i - 1
};

// Builds the messages from ranked hits (best first). Each source is written as
// "[n] (<file name>[, line L]) <passage>".
RagPrompt build_rag_prompt(std::string_view question, const std::vector<SearchHit>& hits,
                           const PromptOptions& options = {});

struct CitationMark {
  size_t begin = 0, end = 0;   // byte range of the marker in the answer, "[2]" or "[1, 3]"
  int number = 0;
  const Citation* citation = nullptr;  // null when the number is not one of the sources
};

// Every cited number in an answer, in order: "[1]", "[1][2]", "[1, 2]", "[1,2]", full-width
// "［1］". Markers that are not citations ("[a]", "[]", "[123456789012]") are ignored.
std::vector<CitationMark> find_citations(std::string_view answer, const std::vector<Citation>& citations);

// The passage a citation points to, read from its source now: the file's bytes [begin, end)
// (HTML: the markup range), or the JSONL record's `text_field` [begin, end) (the index's
// IndexSettings::text_field). Error names the file if the range no longer exists there.
Result<std::string> read_cited_passage(const SourceSpan& span, const std::string& text_field = "text");

}  // namespace kanana::rag
