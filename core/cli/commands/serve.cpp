// `kanana serve`: the OpenAI-compatible HTTP server (core/serve) on one or more model folders,
// with continuous batching on the Torch-free CPU engine. Runs until Ctrl-C. The embedding model,
// when given, is loaded here (LibTorch) and handed to the server behind embed::Embedder.
#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/option_flags.h"
#include "cli/registry.h"
#include "embed/embedder.h"
#include "serve/server.h"

namespace kanana::cli {
namespace {

int run_serve(const Args& a, Context& ctx) {
  serve::ServeOptions o;
  Args given = a;  // flags override the config file: only those given, not their defaults
  if (a.has("config")) {
    if (Status st = serve::read_serve_config(a.get("config"), o); !st.is_ok()) return report_error(st);
    given.defaults.clear();
  }
  if (Status st = read_option_flags(given, serve::serve_fields(), o); !st.is_ok()) return report_error(st, true);
  if (o.models.empty()) return report_error(invalid_argument("--model is required (or 'model' in --config)"), true);
  std::unique_ptr<embed::Embedder> embedder;
  if (!o.embedding_model.empty()) {
    auto e = embed::load_embedder(o.embedding_model);
    if (!e.is_ok()) return report_error(e.status().with_context("--embedding-model"));
    embedder = std::move(*e);
  }
  auto server = serve::Server::create(o, std::move(embedder));
  if (!server.is_ok()) return report_error(server.status(), server.status().code() == StatusCode::kInvalidArgument);
  if (Status st = (*server)->start(); !st.is_ok()) return report_error(st);
  for (const auto& m : (*server)->models()) {
    const auto& s = m->engine().load_stats();
    std::fprintf(stderr, "model %s: %s, %s weights, %lld slots x %lld positions, loaded in %.2fs\n", m->name().c_str(),
                 m->dir().string().c_str(), infer::weight_format_name(m->engine().options().weights),
                 static_cast<long long>(m->engine().slots()), static_cast<long long>(m->context()), s.seconds);
  }
  // The URL on stdout (scripts and the GUI read it), the rest on stderr.
  std::printf("%s\n", (*server)->url().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "serving on %s (Ctrl-C stops)%s\n", (*server)->url().c_str(),
               o.api_key.empty() ? "" : "; requests need 'Authorization: Bearer <key>'");
  while (!(ctx.cancel && ctx.cancel->is_cancelled())) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::fprintf(stderr, "stopping\n");
  (*server)->stop();
  return kExitOk;
}

// The table's flags; --model may come from --config instead.
std::vector<OptionSpec> serve_flags() {
  auto flags = option_flags(serve::serve_fields());
  for (auto& f : flags) f.required = false;
  return flags;
}

}  // namespace

KANANA_COMMAND(serve) {
  return {.path = "serve",
          .summary = "serve models over an OpenAI-compatible HTTP API (chat, completions, embeddings)",
          .description =
              "Routes: GET /health, GET /v1/models, POST /v1/chat/completions, POST /v1/completions, "
              "POST /v1/embeddings. Concurrent requests are batched (continuous batching over --parallel slots "
              "per model). Binds to loopback unless --host says otherwise. Prints the base URL on stdout. "
              "Settings can come from a JSON file (--config; what a serve job on the Jobs page runs).",
          .options = concat({{.name = "config", .value_name = "FILE",
                              .help = "JSON file with these settings as keys (model, host, port, ...); flags given "
                                      "here override it"}},
                            serve_flags()),
          .run = run_serve};
}

}  // namespace kanana::cli
