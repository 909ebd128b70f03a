// `kanana data pack`, `kanana data fertility` and `kanana mixture plan`: tokenize corpora into
// packed token shards, measure a tokenizer's fertility per language, and show what a recipe's
// stage mixtures will draw. The work lives in core/shards; these commands parse flags and
// print summaries.
#include <cmath>
#include <cstdio>
#include <thread>

#include "base/json.h"
#include "base/strings.h"
#include "cli/registry.h"
#include "shards/fertility.h"
#include "shards/mixture.h"
#include "shards/pack.h"
#include "tokenizer/tokenizer.h"

namespace kanana::cli {

namespace {

std::vector<std::filesystem::path> input_paths(const Args& args) {
  std::vector<std::filesystem::path> out;
  for (const auto& p : args.positional()) out.emplace_back(p);
  return out;
}

// Positive integer flag, or a usage error naming it.
Result<int64_t> positive_flag(const Args& args, const std::string& name, int64_t min = 1) {
  auto v = args.get_int(name);
  if (!v.is_ok()) return v.status();
  if (*v < min) return invalid_argument("--" + name + " must be >= " + std::to_string(min) + ", got " + std::to_string(*v));
  return *v;
}

std::string with_commas(uint64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

}  // namespace

KANANA_COMMAND(data_pack) {
  return {.path = "data pack",
          .summary = "tokenize corpora into memory-mappable token shards with a manifest",
          .description =
              "Reads JSONL/text files or folders (.gz/.zst too), tokenizes every document with the given\n"
              "tokenizer on --threads workers (output order = input order), appends EOS to each document\n"
              "and writes OUT/shard-NNNNN.bin/.idx, OUT/val/ (the held-out --val-fraction of documents,\n"
              "chosen by a hash of each record's position) and OUT/manifest.json last.",
          .options = {{.name = "tokenizer", .value_name = "FILE", .help = "tokenizer.json, *.model or a model folder", .required = true},
                      {.name = "out", .value_name = "DIR", .help = "pack folder to create", .required = true, .short_name = 'o'},
                      {.name = "text-field", .value_name = "F", .help = "JSON field with the text (dotted path)", .default_value = "text"},
                      {.name = "seq-len", .value_name = "N", .help = "training sequence length (recorded; warns on short splits)", .default_value = "0"},
                      {.name = "val-fraction", .value_name = "X", .help = "share of documents held out for validation", .default_value = "0.01"},
                      {.name = "shard-tokens", .value_name = "N", .help = "rotate shards at this many tokens", .default_value = "268435456"},
                      {.name = "threads", .value_name = "N", .help = "tokenizer threads (0 = all cores)", .default_value = "0"},
                      {.name = "add-bos", .help = "prepend BOS to every document"},
                      {.name = "no-eos", .help = "do not append EOS (for tokenizers without one; documents then run together)"},
                      {.name = "source-name", .value_name = "NAME", .help = "name mixtures use for this source (default: OUT's name)"},
                      {.name = "overwrite", .help = "replace an existing pack in OUT"}},
          .positional = {"INPUT...", 1, -1},
          .run = [](const Args& args, Context& ctx) -> int {
            shards::PackOptions o;
            o.reader.text_field = args.get("text-field");
            auto seq_len = positive_flag(args, "seq-len", 0);
            if (!seq_len.is_ok()) return report_error(seq_len.status(), true);
            auto shard_tokens = positive_flag(args, "shard-tokens");
            if (!shard_tokens.is_ok()) return report_error(shard_tokens.status(), true);
            auto threads = positive_flag(args, "threads", 0);
            if (!threads.is_ok()) return report_error(threads.status(), true);
            auto val = args.get_double("val-fraction");
            if (!val.is_ok()) return report_error(val.status(), true);
            if (!(*val >= 0 && *val < 1))
              return report_error(invalid_argument("--val-fraction must be in [0, 1), got " + args.get("val-fraction")), true);
            o.seq_len_hint = uint64_t(*seq_len);
            o.shard_tokens = uint64_t(*shard_tokens);
            o.threads = int(*threads);
            o.val_fraction = *val;
            o.add_bos = args.flag("add-bos");
            o.add_eos = !args.flag("no-eos");
            o.overwrite = args.flag("overwrite");
            o.source_name = args.get("source-name");
            o.tokenizer_path = std::filesystem::absolute(args.get("tokenizer")).lexically_normal().string();

            auto tokenizer = tok::load_tokenizer(args.get("tokenizer"));
            if (!tokenizer.is_ok()) return report_error(tokenizer.status());
            const std::filesystem::path out = args.get("out");
            auto progress = make_terminal_progress("pack");
            auto r = shards::pack(input_paths(args), *tokenizer, out, o, progress.get(), ctx.cancel);
            if (!r.is_ok()) return report_error(r.status());
            const auto& m = r->manifest;
            const uint64_t tokens = m.train_tokens + m.val_tokens;
            std::printf("packed %s into %s (source '%s')\n", format_bytes(r->input_bytes).c_str(), out.c_str(),
                        m.source_name.c_str());
            std::printf("  train: %s tokens, %s docs, %zu shards\n", with_commas(m.train_tokens).c_str(),
                        with_commas(m.train_docs).c_str(), m.train_shards.size());
            std::printf("  val:   %s tokens, %s docs, %zu shards\n", with_commas(m.val_tokens).c_str(),
                        with_commas(m.val_docs).c_str(), m.val_shards.size());
            std::printf("  records %s, bad lines %s, empty documents %s\n", with_commas(m.input_records).c_str(),
                        with_commas(m.bad_lines).c_str(), with_commas(m.empty_docs).c_str());
            for (const auto& b : r->bad_line_samples)
              std::printf("  bad: %s:%llu: %s\n", b.file.c_str(), (unsigned long long)b.line, b.reason.c_str());
            std::printf("  tokenizer %s (%s, vocab %lld, %s), fingerprint %s\n", m.tokenizer_path.c_str(),
                        m.tokenizer_kind.c_str(), (long long)m.vocab_size, m.dtype_bytes == 2 ? "uint16" : "uint32",
                        m.tokenizer_fingerprint.c_str());
            const double secs = std::max(r->seconds, 1e-9);
            std::printf("  %.2f s: %.1f MB/s of input, %.0f tokens/s, %.3f bytes of text per token\n", r->seconds,
                        double(r->input_bytes) / 1e6 / secs, double(tokens) / secs,
                        tokens ? double(r->text_bytes) / double(tokens) : 0.0);
            if (o.seq_len_hint > 0) {
              if (m.train_tokens < o.seq_len_hint + 1)
                std::fprintf(stderr, "warning: the train split (%llu tokens) is shorter than one sequence of %llu\n",
                             (unsigned long long)m.train_tokens, (unsigned long long)o.seq_len_hint + 1);
              if (m.val_docs > 0 && m.val_tokens < o.seq_len_hint + 1)
                std::fprintf(stderr, "warning: the val split (%llu tokens) is shorter than one sequence of %llu\n",
                             (unsigned long long)m.val_tokens, (unsigned long long)o.seq_len_hint + 1);
            }
            return kExitOk;
          }};
}

KANANA_COMMAND(data_fertility) {
  return {.path = "data fertility",
          .summary = "tokens per character / word and bytes per token of a tokenizer, per language",
          .description =
              "Language: the document's lang field, else 'ko' when over 30% of its letters are Hangul,\n"
              "else 'en'. Prints a table and writes the numbers as JSON (--json).",
          .options = {{.name = "tokenizer", .value_name = "FILE", .help = "tokenizer.json, *.model or a model folder", .required = true},
                      {.name = "text-field", .value_name = "F", .help = "JSON field with the text", .default_value = "text"},
                      {.name = "max-docs", .value_name = "N", .help = "stop after N documents (0 = all)", .default_value = "0"},
                      {.name = "json", .value_name = "FILE", .help = "write the report here (default: fertility.json)", .default_value = "fertility.json"}},
          .positional = {"INPUT...", 1, -1},
          .run = [](const Args& args, Context& ctx) -> int {
            shards::FertilityOptions o;
            o.reader.text_field = args.get("text-field");
            auto max_docs = positive_flag(args, "max-docs", 0);
            if (!max_docs.is_ok()) return report_error(max_docs.status(), true);
            o.max_docs = uint64_t(*max_docs);
            auto tokenizer = tok::load_tokenizer(args.get("tokenizer"));
            if (!tokenizer.is_ok()) return report_error(tokenizer.status());
            auto progress = make_terminal_progress("fertility");
            auto r = shards::measure_fertility(input_paths(args), **tokenizer, o, progress.get(), ctx.cancel);
            if (!r.is_ok()) return report_error(r.status());
            std::printf("%-8s %8s %12s %12s %12s %10s %10s %10s\n", "lang", "docs", "chars", "words", "tokens",
                        "tok/char", "tok/word", "bytes/tok");
            auto row = [](const std::string& name, const shards::FertilityCounts& c) {
              std::printf("%-8s %8llu %12llu %12llu %12llu %10.3f %10.3f %10.3f\n", name.c_str(),
                          (unsigned long long)c.docs, (unsigned long long)c.chars, (unsigned long long)c.words,
                          (unsigned long long)c.tokens, c.tokens_per_char(), c.tokens_per_word(), c.bytes_per_token());
            };
            for (const auto& [lang, c] : r->by_lang) row(lang, c);
            row("all", r->total);
            if (r->bad_lines) std::printf("bad lines skipped: %llu\n", (unsigned long long)r->bad_lines);
            Json j = r->to_json();
            j["tokenizer"] = args.get("tokenizer");
            if (Status s = write_json_file(args.get("json"), j); !s.is_ok()) return report_error(s);
            std::printf("wrote %s\n", args.get("json").c_str());
            return kExitOk;
          }};
}

KANANA_COMMAND(mixture_plan) {
  return {.path = "mixture plan",
          .summary = "show what each stage of a recipe draws from each packed source",
          .description =
              "Reads the recipe's \"stages\" (name, token_budget, sources [{name, path, weight}]), opens each\n"
              "source's manifest and prints weights, available tokens, tokens to draw and epochs over each\n"
              "source. Re-using a source for more than one epoch is allowed (Kanana repeats high-quality\n"
              "data) but is flagged.",
          .options = {{.name = "recipe", .value_name = "FILE", .help = "recipe JSON with a \"stages\" array", .required = true},
                      {.name = "seq-len", .value_name = "N", .help = "round stages to whole batches of this length", .default_value = "0"},
                      {.name = "global-batch", .value_name = "N", .help = "sequences per step over all ranks", .default_value = "0"},
                      {.name = "json", .value_name = "FILE", .help = "also write the plan as JSON"}},
          .run = [](const Args& args, Context&) -> int {
            auto seq_len = positive_flag(args, "seq-len", 0);
            if (!seq_len.is_ok()) return report_error(seq_len.status(), true);
            auto global_batch = positive_flag(args, "global-batch", 0);
            if (!global_batch.is_ok()) return report_error(global_batch.status(), true);
            auto stages = shards::read_stages(args.get("recipe"));
            if (!stages.is_ok()) return report_error(stages.status());
            auto plan = shards::plan_mixture(*stages, {.seq_len = *seq_len, .global_batch = *global_batch});
            if (!plan.is_ok()) return report_error(plan.status());
            Json out = Json::array();
            int warnings = 0;
            for (size_t i = 0; i < plan->size(); ++i) {
              const auto& st = (*plan)[i];
              std::printf("stage %zu '%s': %s tokens%s\n", i + 1, st.name.c_str(), with_commas(st.tokens).c_str(),
                          st.tokens != st.token_budget ? " (budget rounded up to whole batches)" : "");
              std::printf("  %-16s %8s %7s %16s %16s %8s %8s\n", "source", "weight", "share", "available", "to draw",
                          "epochs", "total");
              Json js = Json::array();
              for (const auto& s : st.sources) {
                std::printf("  %-16s %8.3g %6.1f%% %16s %16s %8.2f %8.2f%s\n", s.name.c_str(), s.weight, 100 * s.share,
                            with_commas(s.available_tokens).c_str(), with_commas(s.tokens_to_draw).c_str(), s.epochs,
                            s.cumulative_epochs, s.cumulative_epochs > 1 ? "  <- repeated" : "");
                if (s.cumulative_epochs > 1) ++warnings;
                js.push_back({{"name", s.name}, {"path", s.path.string()}, {"weight", s.weight}, {"share", s.share},
                              {"available_tokens", s.available_tokens}, {"tokens_to_draw", s.tokens_to_draw},
                              {"epochs", s.epochs}, {"cumulative_epochs", s.cumulative_epochs}});
              }
              out.push_back({{"name", st.name}, {"token_budget", st.token_budget}, {"tokens", st.tokens}, {"sources", js}});
            }
            if (warnings)
              std::fprintf(stderr, "warning: %d source draw(s) go past one epoch; that data is seen more than once\n",
                           warnings);
            if (args.has("json") && !args.get("json").empty()) {
              if (Status s = write_json_file(args.get("json"), Json{{"stages", out}}); !s.is_ok()) return report_error(s);
            }
            return kExitOk;
          }};
}

}  // namespace kanana::cli
