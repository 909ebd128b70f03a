// The retrieval tool (see retrieval_tool.h).
#include "tools/retrieval_tool.h"

namespace kanana::tools {

Tool make_retrieval_tool(Retriever retriever, const std::string& what) {
  Tool t;
  t.spec.name = "search_documents";
  t.spec.description = "Search " + what +
                       " and return the most relevant passages, numbered. Cite them as [n] in your answer. "
                       "Use it for questions the documents may answer.";
  t.spec.parameters = {{"type", "object"},
                       {"properties",
                        {{"query", {{"type", "string"}, {"description", "what to look for, in the user's words"},
                                    {"minLength", 1}, {"maxLength", 1000}}},
                         {"k", {{"type", "integer"}, {"minimum", 1}, {"maximum", 20}, {"description", "passages to return (default 5)"}}}}},
                       {"required", {"query"}},
                       {"additionalProperties", false}};
  t.run = [retriever = std::move(retriever)](const Json& args, const ToolContext& context) -> Result<Json> {
    const std::string query = args["query"].get<std::string>();
    const int64_t k = args.contains("k") ? args["k"].get<int64_t>() : 5;
    KANANA_ASSIGN_OR_RETURN(std::vector<RetrievedPassage> hits, retriever(query, k, context.cancel));
    Json passages = Json::array();
    int n = 1;
    for (const auto& h : hits)
      passages.push_back({{"n", n++}, {"source", h.source}, {"text", h.text}, {"score", h.score}});
    return Json{{"query", query}, {"passages", std::move(passages)}};
  };
  return t;
}

}  // namespace kanana::tools
