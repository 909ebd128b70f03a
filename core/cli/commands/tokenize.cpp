// `kanana tokenize`, `kanana tokenizer train`, `kanana tokenizer info`: tokenizers from the
// command line (line-oriented, so they compose with shell pipelines).
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "base/strings.h"
#include "cli/registry.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/sentencepiece.h"
#include "tokenizer/tokenizer.h"

namespace kanana::cli {
namespace {

std::string describe_id(const tok::Tokenizer& t, std::optional<int32_t> id) {
  if (!id) return "none";
  return std::to_string(*id) + " " + t.id_to_piece(*id);
}

}  // namespace

KANANA_COMMAND(tokenize) {
  return {
      .path = "tokenize",
      .summary = "encode stdin lines to ids (or --decode ids back to text)",
      .description =
          "Reads standard input line by line. Encoding prints the space-separated ids of each\n"
          "line (without its newline); --decode reads space-separated ids per line and prints\n"
          "the text (a decoded newline therefore splits the output line).",
      .options = {{"tokenizer", "FILE|DIR", "tokenizer.json, a .model file, or a model folder", "", "KANANA_TOKENIZER",
                   false, true, 't'},
                  {"decode", "", "ids to text instead of text to ids"},
                  {"add-bos", "", "prepend the BOS id when encoding"},
                  {"add-eos", "", "append the EOS id when encoding"},
                  {"no-special", "", "treat special-token text like <|eot_id|> as plain text"},
                  {"skip-special", "", "drop special tokens when decoding"}},
      .run = [](const Args& args, Context& context) {
        auto loaded = tok::load_tokenizer(args.get("tokenizer"));
        if (!loaded.is_ok()) return report_error(loaded.status());
        const tok::Tokenizer& t = **loaded;
        tok::EncodeOptions options;
        options.add_bos = args.flag("add-bos");
        options.add_eos = args.flag("add-eos");
        options.parse_special = !args.flag("no-special");
        const bool decode = args.flag("decode");
        std::ios::sync_with_stdio(false);
        std::string line, out;
        size_t line_number = 0;
        while (std::getline(std::cin, line)) {
          ++line_number;
          if (context.cancel != nullptr && context.cancel->is_cancelled()) return report_error(cancelled());
          out.clear();
          if (decode) {
            std::vector<int32_t> ids;
            std::istringstream in(line);
            std::string word;
            while (in >> word) {
              char* end = nullptr;
              const long v = std::strtol(word.c_str(), &end, 10);
              if (end == word.c_str() || *end != '\0' || v < INT32_MIN || v > INT32_MAX)
                return report_error(invalid_argument("stdin line " + std::to_string(line_number) + ": '" + word +
                                                     "' is not an integer id"));
              if (v < 0 || v >= t.vocab_size())
                return report_error(out_of_range("stdin line " + std::to_string(line_number) + ": id " + word +
                                                 " is outside the vocabulary (0.." +
                                                 std::to_string(t.vocab_size() - 1) + ")"));
              ids.push_back(static_cast<int32_t>(v));
            }
            out = t.decode(ids, args.flag("skip-special"));
          } else {
            for (int32_t id : t.encode(line, options)) {
              if (!out.empty()) out.push_back(' ');
              out += std::to_string(id);
            }
          }
          out.push_back('\n');
          std::fwrite(out.data(), 1, out.size(), stdout);
        }
        std::fflush(stdout);
        return static_cast<int>(kExitOk);
      }};
}

KANANA_COMMAND(tokenizer_train) {
  return {
      .path = "tokenizer train",
      .summary = "train a SentencePiece tokenizer (.model) on text files",
      .description =
          "Trains with Debian's SentencePiece (through the isolated bridge library) and writes the\n"
          "model atomically. Inputs are text files, one sentence per line; give --input several\n"
          "times or list more files after it. --chat-template chatml adds the project's chat\n"
          "markers (<|im_start|>, <|im_end|>) as user-defined symbols.",
      .options = {{"input", "FILE", "training text (repeatable)", "", "", true},
                  {"out", "MODEL", "the .model file to write", "", "", false, true, 'o'},
                  {"vocab-size", "N", "vocabulary size", "8000"},
                  {"model-type", "TYPE", "bpe | unigram | char | word", "unigram"},
                  {"character-coverage", "X", "share of characters covered by the vocabulary", "0.9995"},
                  {"byte-fallback", "", "encode uncovered characters as <0xXX> byte pieces"},
                  {"split-digits", "", "every digit its own piece"},
                  {"user-defined-symbols", "A,B", "symbols that are always single pieces"},
                  {"control-symbols", "A,B", "reserved ids never produced from text"},
                  {"chat-template", "NAME", "add the special tokens of a chat format (chatml)"},
                  {"input-sentence-size", "N", "sample at most N sentences (0 = all)", "0"},
                  {"normalization", "RULE", "nmt_nfkc | nfkc | identity ...", "nmt_nfkc"},
                  {"threads", "N", "trainer threads", "2"},
                  {"verbose", "", "show SentencePiece's training log"}},
      .positional = {"FILE...", 0, -1},
      .run = [](const Args& args, Context&) {
        tok::SentencePieceTrainOptions o;
        for (const auto& in : args.get_all("input"))
          for (const auto& part : split(in, ',')) o.input.emplace_back(part);
        for (const auto& p : args.positional()) o.input.emplace_back(p);
        if (o.input.empty()) return report_error(invalid_argument("give at least one --input FILE"), true);
        o.output = args.get("out");
        auto vocab = args.get_int("vocab-size");
        auto coverage = args.get_double("character-coverage");
        auto sentences = args.get_int("input-sentence-size");
        auto threads = args.get_int("threads");
        for (const Status& s : {vocab.status(), coverage.status(), sentences.status(), threads.status()})
          if (!s.is_ok()) return report_error(s, true);
        o.vocab_size = static_cast<int>(*vocab);
        o.model_type = args.get("model-type");
        o.character_coverage = *coverage;
        o.byte_fallback = args.flag("byte-fallback");
        o.split_digits = args.flag("split-digits");
        o.input_sentence_size = *sentences;
        o.num_threads = static_cast<int>(*threads);
        o.normalization_rule_name = args.get("normalization");
        o.verbose = args.flag("verbose");
        if (args.has("user-defined-symbols"))
          for (const auto& s : split(args.get("user-defined-symbols"), ','))
            if (!s.empty()) o.user_defined_symbols.push_back(s);
        if (args.has("control-symbols"))
          for (const auto& s : split(args.get("control-symbols"), ','))
            if (!s.empty()) o.control_symbols.push_back(s);
        if (args.has("chat-template")) {
          auto kind = tok::parse_chat_template_name(args.get("chat-template"));
          if (!kind.is_ok()) return report_error(kind.status(), true);
          for (const auto& s : tok::chat_special_tokens(*kind))
            if (std::find(o.user_defined_symbols.begin(), o.user_defined_symbols.end(), s) == o.user_defined_symbols.end())
              o.user_defined_symbols.push_back(s);
        }
        auto written = tok::train_sentencepiece(o);
        if (!written.is_ok()) return report_error(written.status(), written.status().code() == StatusCode::kInvalidArgument &&
                                                                        written.status().message().rfind("SentencePiece training failed", 0) != 0);
        auto loaded = tok::load_tokenizer(*written);
        if (!loaded.is_ok()) return report_error(loaded.status());
        std::printf("wrote %s (%s, %d pieces, %s)\n", written->c_str(), o.model_type.c_str(), (*loaded)->vocab_size(),
                    (*loaded)->fingerprint().c_str());
        return static_cast<int>(kExitOk);
      }};
}

KANANA_COMMAND(tokenizer_info) {
  return {.path = "tokenizer info",
          .summary = "describe a tokenizer file or model folder",
          .positional = {"FILE|DIR", 1, 1},
          .run = [](const Args& args, Context&) {
            const std::string path = args.positional()[0];
            auto loaded = tok::load_tokenizer(path);
            if (!loaded.is_ok()) return report_error(loaded.status());
            const tok::Tokenizer& t = **loaded;
            int32_t special = 0;
            for (int32_t id = 0; id < t.vocab_size(); ++id) special += t.is_special(id) ? 1 : 0;
            std::printf("path: %s\nkind: %s\nvocab size: %d\nspecial tokens: %d\n", path.c_str(), t.kind().c_str(),
                        t.vocab_size(), special);
            std::printf("bos: %s\neos: %s\npad: %s\n", describe_id(t, t.bos_id()).c_str(),
                        describe_id(t, t.eos_id()).c_str(), describe_id(t, t.pad_id()).c_str());
            auto chat = tok::detect_chat_template(path);
            std::printf("chat template: %s\n", chat.is_ok() ? tok::chat_template_name(*chat) : "none");
            std::printf("fingerprint: %s\n", t.fingerprint().c_str());
            if (t.kind() == "sentencepiece") {
              auto bridge = tok::sentencepiece_bridge_path();
              std::printf("sentencepiece bridge: %s\n", bridge.is_ok() ? bridge->c_str() : "unavailable");
            }
            return static_cast<int>(kExitOk);
          }};
}

}  // namespace kanana::cli
