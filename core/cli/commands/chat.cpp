// `kanana chat`: an interactive conversation with a model folder on stdin/stdout. Replies
// stream as they are generated; statistics (tokens, tok/s) and tool calls go to stderr, so
// stdout holds only the conversation. With --tools the built-in tools run in the
// function-calling loop; a side-effect tool asks on the terminal before it runs.
//
// Input: one message per line (end a line with '\' to continue it on the next). Commands:
// /reset (forget the conversation, keep the system prompt), /system TEXT, /exit (or /quit, or
// end of input). Ctrl-C stops the reply being generated; a second Ctrl-C quits.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "base/strings.h"
#include "chat/chat_model.h"
#include "cli/registry.h"
#include "cli/sampling_args.h"
#include "tools/builtin_tools.h"
#include "tools/tool_loop.h"
#ifdef KANANA_HAVE_TOOLS_RAG
#include "tools/rag_retriever.h"
#endif

namespace kanana::cli {
namespace {

// Reads one message: lines ending in '\' continue. False at end of input.
bool read_message(std::string* out, bool tty) {
  out->clear();
  std::string line;
  bool first = true;
  while (true) {
    if (tty) {
      std::fputs(first ? ">>> " : "... ", stdout);
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) return !first;
    first = false;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line.back() == '\\') {
      line.pop_back();
      *out += line + "\n";
      continue;
    }
    *out += line;
    return true;
  }
}

std::string compact(const Json& j, size_t max = 300) {
  std::string s = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  return s;
}

int run_chat(const Args& a, Context& ctx) {
  chat::ChatSampling sampling;
  if (Status st = parse_sampling(a, sampling); !st.is_ok()) return report_error(st, /*usage=*/true);
  auto max_steps = a.get_int("max-steps");
  if (!max_steps.is_ok()) return report_error(max_steps.status(), /*usage=*/true);
  if (*max_steps < 1) return report_error(invalid_argument("--max-steps must be at least 1"), true);
  sampling.stop = a.get_all("stop");

  chat::ChatModelOptions mo;
  mo.dtype = a.has("dtype") && !a.get("dtype").empty() ? a.get("dtype") : "f32";
  mo.chat_template = a.get("template");
  mo.tokenizer = a.get("tokenizer");
  auto weights = parse_weights(a);
  if (!weights.is_ok()) return report_error(weights.status(), /*usage=*/true);
  mo.weights = *weights;
  auto threads = parse_threads(a);
  if (!threads.is_ok()) return report_error(threads.status(), true);
  mo.threads = *threads;

  tools::ToolRegistry registry;
  const bool use_tools = a.flag("tools");
  if (use_tools) {
    tools::BuiltinToolOptions bo;
    bo.workspace = a.get("workspace");
    for (const auto& d : a.get_all("read-dir")) bo.read_roots.emplace_back(d);
    if (!bo.read_roots.empty() && !bo.workspace.empty()) bo.read_roots.push_back(bo.workspace);
    if (a.has("rag-index") && !a.get("rag-index").empty()) {
#ifdef KANANA_HAVE_TOOLS_RAG
      auto retriever = tools::make_rag_retriever(a.get("rag-index"));
      if (!retriever.is_ok()) return report_error(retriever.status());
      bo.retriever = *retriever;
      bo.retrieval_description = "the document index " + std::filesystem::path(a.get("rag-index")).filename().string();
#else
      return report_error(unimplemented("--rag-index: this build has no RAG index library"));
#endif
    }
    if (Status st = tools::register_builtin_tools(registry, bo); !st.is_ok()) return report_error(st);
  }

  auto model = chat::ChatModel::load(a.get("model"), mo);
  if (!model.is_ok()) return report_error(model.status());
  for (const auto& w : (*model)->warnings()) std::fprintf(stderr, "kanana: warning: %s\n", w.c_str());
  std::fprintf(stderr, "[%s, %.0f MiB of weights]\n", (*model)->backend().c_str(), (*model)->weight_bytes() / 1048576.0);
  const bool tty = ::isatty(STDIN_FILENO);
  if (tty) {
    std::fprintf(stderr, "chatting with %s (%s template%s); /reset, /system TEXT, /exit\n", a.get("model").c_str(),
                 tok::chat_template_name((*model)->template_kind()),
                 use_tools ? (", tools: " + join(registry.names(), ", ")).c_str() : "");
  }

  std::string system = a.get("system");
  std::vector<tok::ChatMessage> messages;
  const auto reset = [&] {
    messages.clear();
    if (!system.empty()) messages.push_back({"system", system});
  };
  reset();

  const auto stream = [](const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  };
  const auto print_stats = [](const chat::ChatReply& r) {
    std::fprintf(stderr, "[%lld tokens, %.1f tok/s, prompt %lld tokens%s, stop: %s]\n",
                 static_cast<long long>(r.generated_tokens), r.tokens_per_second(),
                 static_cast<long long>(r.prompt_tokens),
                 r.dropped_messages ? (", " + std::to_string(r.dropped_messages) + " old messages left out").c_str() : "",
                 r.stop_reason.c_str());
  };
  // Side-effect tools: ask on the terminal (the next input line answers).
  const tools::ConfirmFunction confirm = [&](const tools::ToolSpec& spec, const Json& args) {
    std::fprintf(stderr, "\nallow %s %s? [y/N] ", spec.name.c_str(), compact(args).c_str());
    std::fflush(stderr);
    std::string answer;
    if (!std::getline(std::cin, answer)) return false;
    answer = to_lower_ascii(trim(answer));
    return answer == "y" || answer == "yes";
  };

  std::string input;
  while (read_message(&input, tty)) {
    const std::string line(trim(input));
    if (line.empty()) continue;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      reset();
      std::fprintf(stderr, "[conversation reset]\n");
      continue;
    }
    if (line == "/system" || starts_with(line, "/system ")) {
      system = std::string(trim(std::string_view(line).substr(7)));
      reset();
      std::fprintf(stderr, "[system prompt set; conversation reset]\n");
      continue;
    }
    if (line == "/help") {
      std::fprintf(stderr, "/reset  forget the conversation\n/system TEXT  set the system prompt (resets)\n/exit  quit\n");
      continue;
    }
    if (line[0] == '/' && line.find(' ') == std::string::npos) {
      std::fprintf(stderr, "unknown command %s (try /help)\n", line.c_str());
      continue;
    }
    if (ctx.cancel) ctx.cancel->reset();
    messages.push_back({"user", input});
    if (!use_tools) {
      auto r = (*model)->reply(messages, Json::array(), sampling, stream, ctx.cancel);
      std::fputs("\n", stdout);
      std::fflush(stdout);
      if (!r.is_ok()) {
        messages.pop_back();
        report_error(r.status());
        continue;
      }
      print_stats(*r);
      messages.push_back({"assistant", r->text});
      continue;
    }
    chat::ChatReply last;
    bool step_open = false;
    const auto on_event = [&](const tools::ToolEvent& e) {
      using K = tools::ToolEvent::Kind;
      if (e.kind == K::kAssistant) {
        std::fputs("\n", stdout);
        std::fflush(stdout);
        step_open = false;
        print_stats(last);
      } else if (e.kind == K::kCall) {
        std::fprintf(stderr, "[call %s %s]\n", e.call.name.c_str(), compact(e.call.arguments).c_str());
      } else if (e.kind == K::kResult) {
        std::fprintf(stderr, "[%s %s: %s]\n", e.outcome.ok ? "result" : "error", e.call.name.c_str(),
                     e.outcome.ok ? compact(e.outcome.result).c_str() : e.outcome.error.c_str());
      } else if (e.kind == K::kParseError) {
        std::fprintf(stderr, "[unreadable tool call: %s]\n", e.text.c_str());
      }
    };
    const auto stream_step = [&](const std::string& text) {
      step_open = true;
      return stream(text);
    };
    tools::ToolLoopOptions lo;
    lo.max_steps = static_cast<int>(*max_steps);
    auto r = tools::run_tool_loop(registry, messages, (*model)->tool_generator(sampling, stream_step, ctx.cancel, &last),
                                  lo, confirm, on_event, ctx.cancel);
    if (step_open) std::fputs("\n", stdout);
    std::fflush(stdout);
    if (!r.is_ok()) {
      report_error(r.status());
      continue;
    }
    if (r->stop_reason == "step_limit")
      std::fprintf(stderr, "[stopped after %d model calls (--max-steps); the last tool results are unanswered]\n", r->steps);
  }
  return kExitOk;
}

}  // namespace

KANANA_COMMAND(chat) {
  return {.path = "chat",
          .summary = "chat with a model folder on the terminal (streaming; --tools for function calling)",
          .description =
              "One message per line (end a line with '\\' to continue it). Commands: /reset, /system TEXT, /exit.\n"
              "Replies stream to stdout; tokens/s and tool calls go to stderr. With --tools the model may call\n"
              "calculator, datetime, convert_units, read_file (--read-dir, the workspace), sql_query and write_note\n"
              "(--workspace; write_note asks y/N first) and search_documents (--rag-index).",
          .options = concat(concat({{.name = "model", .value_name = "DIR", .help = "model folder (weights + tokenizer)", .required = true, .short_name = 'm'},
                                    {.name = "system", .value_name = "TEXT", .help = "system prompt"}},
                                   sampling_options(chat::ChatSampling())),
                            {{.name = "stop", .value_name = "TEXT", .help = "extra stop string (repeatable)", .repeated = true},
                             {.name = "template", .value_name = "llama3|chatml", .help = "chat format (default: detected from the tokenizer)"},
                             {.name = "tokenizer", .value_name = "PATH", .help = "tokenizer file or folder (default: the model folder)"},
                             {.name = "tools", .help = "enable the built-in tools and the function-calling loop"},
                             {.name = "max-steps", .value_name = "N", .help = "model calls per message with --tools", .default_value = "5"},
                             {.name = "workspace", .value_name = "DIR", .help = "workspace for sql_query / write_note / read_file", .env = "KANANA_WORKSPACE"},
                             {.name = "read-dir", .value_name = "DIR", .help = "folder read_file may read (repeatable)", .repeated = true},
                             {.name = "rag-index", .value_name = "DIR", .help = "RAG index folder for search_documents"},
                             {.name = "dtype", .value_name = "f32|bf16", .help = "LibTorch engine: compute dtype (default f32)"},
                             weights_option(),
                             threads_option()}),
          .run = run_chat};
}

}  // namespace kanana::cli
