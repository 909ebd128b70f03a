// The settings of `kanana serve`: one struct with its defaults and its field table
// (base/options.h), from which the CLI flags and their --help come.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/options.h"

namespace kanana::serve {

struct ServeOptions {
  std::vector<std::string> models;           // DIR or NAME=DIR; the name defaults to the folder's name
  std::filesystem::path embedding_model;     // a kanana2vec folder for /v1/embeddings (empty: none)
  std::string host = "127.0.0.1";            // loopback unless told otherwise
  int64_t port = 8080;                       // 0: any free port (printed)
  std::string api_key;                       // non-empty: every route but /health wants "Bearer <key>"
  std::string weights = "q4";                // engine weight format (infer/weights.h)
  int64_t threads = 0;                       // engine compute threads per model; 0 = all cores
  int64_t parallel = 4;                      // sequences decoded together per model (KV slots)
  int64_t queue = 16;                        // sequences that may wait for a slot; more get 429
  int64_t context = 2048;                    // KV positions per slot (prompt + completion); 0 = the model's
  int64_t max_request_bytes = 8 << 20;       // larger request bodies get 413
};

const OptionTable<ServeOptions>& serve_fields();

// A configuration file (`kanana serve --config FILE`, the serve.json of a serve job): a JSON
// object with the keys of serve_fields(), every error naming the file and the field; relative
// model folders resolve against the file's folder.
Status read_serve_config(const std::filesystem::path& file, ServeOptions& out);

// "NAME=DIR" -> {NAME, DIR}; "DIR" -> {folder name of DIR, DIR}.
std::pair<std::string, std::filesystem::path> split_model_spec(const std::string& spec);

}  // namespace kanana::serve
