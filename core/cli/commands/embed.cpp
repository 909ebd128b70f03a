// `kanana embed`: one L2-normalised vector per input line from a Kanana2Vec embedding model,
// written as JSONL ({"line": N, "embedding": [...]}). Lines are queries when an instruction is
// given (Kanana's "Instruct: <task>\nQuery: <line>", the instruction not pooled), passages
// otherwise. Blank lines are skipped (their numbers are not reused).
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "base/strings.h"
#include "cli/registry.h"
#include "embed/embedder.h"

namespace kanana::cli {
namespace {

Status write_batch(embed::Embedder& embedder, const std::vector<std::string>& texts, const std::vector<int64_t>& lines,
                   const std::string& task, const CancelToken* cancel) {
  if (texts.empty()) return Status::ok();
  KANANA_ASSIGN_OR_RETURN(auto m, embedder.embed(texts, task, nullptr, cancel));
  std::string out;
  char buf[32];
  for (int64_t r = 0; r < m.rows; ++r) {
    out = "{\"line\":" + std::to_string(lines[size_t(r)]) + ",\"embedding\":[";
    const float* v = m.row(r);
    for (int64_t d = 0; d < m.dim; ++d) {
      std::snprintf(buf, sizeof buf, "%s%.9g", d ? "," : "", double(v[d]));
      out += buf;
    }
    out += "]}\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  std::fflush(stdout);
  return Status::ok();
}

int run_embed(const Args& a, Context& ctx) {
  embed::EmbedderOptions eo;
  auto max_length = a.get_int("max-length");
  auto batch = a.get_int("batch-size");
  auto threads = a.get_int("threads");
  for (const Status* s : {&max_length.status(), &batch.status(), &threads.status()})
    if (!s->is_ok()) return report_error(*s, true);
  if (*max_length < 2) return report_error(invalid_argument("--max-length must be at least 2"), true);
  if (*batch < 1) return report_error(invalid_argument("--batch-size must be positive"), true);
  if (*threads < 0) return report_error(invalid_argument("--threads must be 0 (all cores) or positive"), true);
  eo.max_length = *max_length;
  eo.batch_size = *batch;
  eo.dtype = a.get("dtype");
  eo.normalize = !a.flag("no-normalize");
  if (a.has("tokenizer")) eo.tokenizer = a.get("tokenizer");
  torch::set_num_threads(*threads == 0 ? int(std::max(1u, std::thread::hardware_concurrency())) : int(*threads));

  auto embedder = embed::load_embedder(a.get("model"), eo);
  if (!embedder.is_ok()) return report_error(embedder.status());
  for (const auto& w : (*embedder)->warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());

  std::ifstream file;
  std::istream* in = &std::cin;
  const std::string input = a.get("input");
  if (!input.empty() && input != "-") {
    file.open(input);
    if (!file) return report_error(not_found(input + ": cannot open"));
    in = &file;
  }
  const std::string origin = input.empty() || input == "-" ? "stdin" : input;
  const std::string task = a.get("query-instruction");
  std::vector<std::string> texts;
  std::vector<int64_t> lines;
  int64_t line_no = 0;
  for (std::string line; std::getline(*in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    if (!is_valid_utf8(line))
      return report_error(invalid_argument(origin + ":" + std::to_string(line_no) + ": not valid UTF-8"));
    texts.push_back(std::move(line));
    lines.push_back(line_no);
    if (int64_t(texts.size()) >= 4 * eo.batch_size) {
      if (Status s = write_batch(**embedder, texts, lines, task, ctx.cancel); !s.is_ok())
        return report_error(s.with_context(origin + " lines " + std::to_string(lines.front()) + "-" + std::to_string(lines.back())));
      texts.clear();
      lines.clear();
    }
  }
  if (Status s = write_batch(**embedder, texts, lines, task, ctx.cancel); !s.is_ok()) {
    return report_error(lines.empty() ? s : s.with_context(origin + " lines " + std::to_string(lines.front()) + "-" +
                                                            std::to_string(lines.back())));
  }
  return kExitOk;
}

}  // namespace

KANANA_COMMAND(embed) {
  return {.path = "embed",
          .summary = "embed input lines with a Kanana2Vec model (JSONL vectors on stdout)",
          .description =
              "Reads one text per line (stdin or --input) and writes {\"line\": N, \"embedding\": [...]} per "
              "non-blank line. With --query-instruction the lines are queries: \"Instruct: <task>\\nQuery: <line>\" "
              "with the instruction excluded from pooling (Kanana2Vec); without it they are passages.",
          .options = {{.name = "model", .value_name = "DIR", .help = "embedding model folder (model_type kanana2vec)", .required = true, .short_name = 'm'},
                      {.name = "query-instruction", .value_name = "TEXT", .help = "task description for query lines, e.g. \"Given a question, retrieve passages that answer the question\""},
                      {.name = "input", .value_name = "FILE", .help = "read lines from FILE instead of stdin ('-' = stdin)"},
                      {.name = "tokenizer", .value_name = "PATH", .help = "tokenizer file or folder (default: the model folder or its run's copy)"},
                      {.name = "max-length", .value_name = "N", .help = "tokens per text incl. BOS and instruction", .default_value = "512"},
                      {.name = "batch-size", .value_name = "N", .help = "texts per forward pass", .default_value = "16"},
                      {.name = "dtype", .value_name = "f32|bf16", .help = "compute dtype", .default_value = "float32"},
                      {.name = "no-normalize", .help = "write the mean-pooled vectors without L2 normalisation"},
                      {.name = "threads", .value_name = "N", .help = "intra-op threads (0 = all cores)", .default_value = "0", .env = "KANANA_THREADS"}},
          .run = run_embed};
}

}  // namespace kanana::cli
