#include "serve/serve_options.h"

#include "base/json.h"

namespace kanana::serve {

const OptionTable<ServeOptions>& serve_fields() {
  static const OptionTable<ServeOptions> t = {
      {.key = "model", .member = &ServeOptions::models,
       .help = "model folder to serve, or NAME=DIR (repeatable; the first is listed first)", .required = true,
       .value_name = "[NAME=]DIR"},
      {.key = "embedding_model", .member = &ServeOptions::embedding_model,
       .help = "Kanana2Vec embedding model folder for /v1/embeddings", .value_name = "DIR"},
      {.key = "host", .member = &ServeOptions::host, .help = "address to bind (loopback by default)"},
      {.key = "port", .member = &ServeOptions::port, .help = "TCP port", .min = 0, .max = 65535,
       .note = "0 = any free port"},
      {.key = "api_key", .member = &ServeOptions::api_key,
       .help = "require 'Authorization: Bearer KEY' on every route but /health", .value_name = "KEY"},
      {.key = "weights", .member = &ServeOptions::weights, .help = "weight format of the CPU engine",
       .choices = {"f32", "bf16", "int8", "q4"}},
      {.key = "threads", .member = &ServeOptions::threads, .help = "compute threads per model", .min = 0,
       .note = "0 = all cores"},
      {.key = "parallel", .member = &ServeOptions::parallel,
       .help = "sequences decoded together per model (each has its own KV cache)", .min = 1, .max = 256},
      {.key = "queue", .member = &ServeOptions::queue,
       .help = "sequences that may wait for a free slot; beyond that requests get 429", .min = 0},
      {.key = "context", .member = &ServeOptions::context, .help = "KV cache positions per slot (prompt + completion)",
       .min = 0, .note = "0 = the model's max_position_embeddings"},
      {.key = "max_request_bytes", .member = &ServeOptions::max_request_bytes,
       .help = "largest request body; larger ones get 413", .min = 1024}};
  return t;
}

Status read_serve_config(const std::filesystem::path& file, ServeOptions& out) {
  KANANA_ASSIGN_OR_RETURN(Json json, read_json_file(file));
  const std::filesystem::path base = std::filesystem::absolute(file).parent_path();
  KANANA_RETURN_IF_ERROR(read_options(JsonReader(json, file.string()), serve_fields(), out, base));
  for (std::string& spec : out.models) {
    const bool named = spec.find('=') != std::string::npos && spec.find('=') > 0;
    auto [name, dir] = split_model_spec(spec);
    if (dir.is_relative()) spec = named ? name + "=" + (base / dir).string() : (base / dir).string();
  }
  return Status::ok();
}

std::pair<std::string, std::filesystem::path> split_model_spec(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq != std::string::npos && eq > 0) return {spec.substr(0, eq), std::filesystem::path(spec.substr(eq + 1))};
  std::filesystem::path dir(spec);
  std::string name = dir.filename().string();
  if (name.empty()) name = dir.parent_path().filename().string();  // "models/x/"
  return {name, dir};
}

}  // namespace kanana::serve
