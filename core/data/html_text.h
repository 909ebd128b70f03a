// Text out of HTML help pages: strip tags, decode entities, collapse whitespace, and pick the
// paragraphs that carry an id (LibreOffice help marks each paragraph with id="par_id…", the
// same id in every language, which is what aligns the Korean and English pages).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kanana::data {

// Visible text of an HTML fragment: tags removed, <script>/<style> dropped, entities decoded
// (named basics and numeric), whitespace runs collapsed to one space, trimmed.
std::string html_to_text(std::string_view html);

// (id, text) for every element whose id starts with `id_prefix`, in document order. The text
// is the element's whole content up to its matching close tag. Empty texts are skipped.
std::vector<std::pair<std::string, std::string>> html_paragraphs_by_id(std::string_view html,
                                                                        std::string_view id_prefix);

}  // namespace kanana::data
