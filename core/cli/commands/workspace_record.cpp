// `kanana workspace record` and `kanana workspace link`: put what a script made with the data
// and tokenizer commands (a filtered corpus, its removed set, a tokenizer, token packs, a model
// folder) into the workspace as records, with the lineage edges that say what each came from.
// Runs launched with `kanana runs launch` record themselves; these commands fill in the rest,
// so lineage reaches from a corpus to the last model.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/json.h"
#include "cli/registry.h"
#include "cli/workspace_args.h"
#include "model/config.h"
#include "shards/shard.h"
#include "store/workspace.h"
#include "tokenizer/tokenizer.h"

namespace kanana::cli {
namespace {

namespace fs = std::filesystem;
using store::NodeRef;
using store::Workspace;

// Documents (non-empty lines) and bytes of a JSONL file; documents and bytes of a token pack.
void describe_dataset(const fs::path& path, store::DatasetRecord* d) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (auto m = shards::read_manifest(path); m.is_ok()) {
      d->format = "kanana-shards";
      d->doc_count = static_cast<int64_t>(m->train_docs + m->val_docs);
      d->meta_json = Json{{"train_tokens", m->train_tokens}, {"val_tokens", m->val_tokens},
                          {"tokenizer", m->tokenizer_path}}.dump();
    }
    for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file(ec)) d->byte_count += static_cast<int64_t>(it->file_size(ec));
    return;
  }
  d->byte_count = static_cast<int64_t>(fs::file_size(path, ec));
  d->format = path.extension() == ".jsonl" ? "jsonl" : path.extension().string().substr(path.has_extension() ? 1 : 0);
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) ++d->doc_count;
}

Result<NodeRef> record_node(Workspace& ws, const std::string& kind, const std::string& path, const Args& a) {
  const std::string name = a.get("name").empty() ? fs::path(path).filename().string() : a.get("name");
  std::error_code ec;
  if (!fs::exists(path, ec)) return not_found(path + ": no such file or folder");
  if (kind == "dataset") {
    KANANA_ASSIGN_OR_RETURN(auto found, ws.find_dataset_by_path(path));
    if (found) return NodeRef{"dataset", found->id};
    store::DatasetRecord d;
    d.name = name;
    d.kind = a.get("dataset-kind");
    d.path = path;
    describe_dataset(path, &d);
    if (!a.get("meta").empty()) {
      Json meta = Json::parse(a.get("meta"), nullptr, false);
      if (!meta.is_object()) return invalid_argument("--meta: expected a JSON object, got '" + a.get("meta") + "'");
      Json merged = Json::parse(d.meta_json, nullptr, false);
      if (!merged.is_object()) merged = Json::object();
      merged.update(meta);
      d.meta_json = merged.dump();
    }
    KANANA_ASSIGN_OR_RETURN(const int64_t id, ws.add_dataset(d));
    return NodeRef{"dataset", id};
  }
  if (kind == "tokenizer") {
    KANANA_ASSIGN_OR_RETURN(auto found, ws.find_tokenizer_by_path(path));
    if (found) return NodeRef{"tokenizer", found->id};
    KANANA_ASSIGN_OR_RETURN(auto loaded, tok::load_tokenizer(path));
    store::TokenizerRecord t;
    t.name = name;
    t.kind = loaded->kind();
    t.path = path;
    t.vocab_size = loaded->vocab_size();
    t.fingerprint = loaded->fingerprint();
    KANANA_ASSIGN_OR_RETURN(const int64_t id, ws.add_tokenizer(t));
    return NodeRef{"tokenizer", id};
  }
  // checkpoint: a model folder made outside a run (e.g. `surgery prune`, a copied model).
  auto existing = find_workspace_node(ws, path);
  if (existing.is_ok() && existing->kind == "checkpoint") return *existing;
  KANANA_ASSIGN_OR_RETURN(auto config, model::read_llama_config(path));
  store::CheckpointRecord c;
  c.name = name;
  c.path = path;
  c.config_json = model::llama_config_to_json(config).dump();
  if (!a.get("run").empty()) {
    KANANA_ASSIGN_OR_RETURN(const int64_t run, a.get_int("run"));
    c.run_id = run;
  }
  KANANA_ASSIGN_OR_RETURN(const int64_t id, ws.add_checkpoint(c));
  return NodeRef{"checkpoint", id};
}


}  // namespace

KANANA_COMMAND(workspace_record) {
  return {.path = "workspace record",
          .summary = "record a dataset, tokenizer or model folder in a workspace, with what it came from",
          .description =
              "KIND is dataset, tokenizer or checkpoint. Recording the same path again returns the\n"
              "existing record (and still adds the --from edges), so a script can run it on every\n"
              "pass. --from names a recorded node (KIND:ID, or the path of a recorded dataset,\n"
              "tokenizer or checkpoint) the new record was made from; the edge is FROM --RELATION--> it.\n"
              "Prints the record ('dataset 5 (name, kind)') on stdout.",
          .options = {workspace_option(),
                      {.name = "name", .value_name = "NAME", .help = "record name (default: the file or folder name)"},
                      {.name = "dataset-kind", .value_name = "KIND", .help = "corpus, filtered, shards, preferences, eval or prompts", .default_value = "corpus"},
                      {.name = "meta", .value_name = "JSON", .help = "extra fields for the dataset's meta_json (an object)"},
                      {.name = "run", .value_name = "ID", .help = "checkpoint: the run that made it"},
                      {.name = "from", .value_name = "NODE", .help = "what it was made from (repeatable)", .repeated = true},
                      {.name = "relation", .value_name = "WORD", .help = "the edge's relation", .default_value = "derived"}},
          .positional = {"KIND PATH", 2, 2},
          .run = [](const Args& args, Context&) -> int {
            const std::string kind = args.positional()[0];
            if (kind != "dataset" && kind != "tokenizer" && kind != "checkpoint")
              return report_error(invalid_argument("KIND must be dataset, tokenizer or checkpoint, not '" + kind + "'"), true);
            auto ws = open_workspace(args);
            if (!ws.is_ok()) return report_error(ws.status());
            std::vector<NodeRef> sources;
            for (const auto& from : args.get_all("from")) {
              auto n = find_workspace_node(**ws, from);
              if (!n.is_ok()) return report_error(n.status().with_context("--from"));
              sources.push_back(*n);
            }
            auto node = record_node(**ws, kind, absolute_path_text(args.positional()[1]), args);
            if (!node.is_ok()) return report_error(node.status());
            for (const auto& src : sources) {
              auto edge = (*ws)->add_lineage(src, *node, args.get("relation"));
              if (!edge.is_ok()) return report_error(edge.status());
            }
            std::printf("%s\n", describe_node(**ws, *node).c_str());
            return kExitOk;
          }};
}

KANANA_COMMAND(workspace_link) {
  return {.path = "workspace link",
          .summary = "record a lineage edge SRC --relation--> DST between two workspace records",
          .description = "SRC and DST are KIND:ID (dataset:3, run:5, checkpoint:12, prompt_set:1, ...) or the\n"
                         "path of a recorded dataset, tokenizer or checkpoint.",
          .options = {workspace_option(),
                      {.name = "relation", .value_name = "WORD", .help = "the edge's relation", .default_value = "derived"}},
          .positional = {"SRC DST", 2, 2},
          .run = [](const Args& args, Context&) -> int {
            auto ws = open_workspace(args);
            if (!ws.is_ok()) return report_error(ws.status());
            auto src = find_workspace_node(**ws, args.positional()[0]);
            if (!src.is_ok()) return report_error(src.status());
            auto dst = find_workspace_node(**ws, args.positional()[1]);
            if (!dst.is_ok()) return report_error(dst.status());
            auto edge = (*ws)->add_lineage(*src, *dst, args.get("relation"));
            if (!edge.is_ok()) return report_error(edge.status());
            std::printf("%s --%s--> %s\n", describe_node(**ws, *src).c_str(), args.get("relation").c_str(), describe_node(**ws, *dst).c_str());
            return kExitOk;
          }};
}

}  // namespace kanana::cli
