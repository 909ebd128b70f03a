// A model the server answers for: its tokenizer and chat template, the CPU engine with one KV
// slot per parallel sequence, and the batch scheduler that owns the engine's thread.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "infer/llama_engine.h"
#include "serve/batch_scheduler.h"
#include "serve/serve_options.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kanana::serve {

class ServedModel {
 public:
  static Result<std::unique_ptr<ServedModel>> load(const std::string& name, const std::filesystem::path& dir,
                                                   const ServeOptions& options);
  ~ServedModel();

  const std::string& name() const { return name_; }
  const std::filesystem::path& dir() const { return dir_; }
  const tok::Tokenizer& tokenizer() const { return *tokenizer_; }
  // The chat format, when the tokenizer has one (without it chat requests are refused).
  const std::optional<tok::ChatTemplateKind>& chat_template() const { return template_; }
  const model::LlamaConfig& config() const { return engine_->config(); }
  int64_t context() const { return engine_->context(); }
  const infer::LlamaEngine& engine() const { return *engine_; }
  BatchScheduler& scheduler() { return *scheduler_; }

  // The ids that end a reply: the chat template's end-of-turn ids and config.json's eos ids.
  std::vector<int32_t> chat_stop_ids() const;
  std::vector<int32_t> eos_ids() const;

 private:
  ServedModel() = default;
  std::string name_;
  std::filesystem::path dir_;
  std::shared_ptr<const tok::Tokenizer> tokenizer_;
  std::optional<tok::ChatTemplateKind> template_;
  std::unique_ptr<infer::LlamaEngine> engine_;
  std::unique_ptr<BatchScheduler> scheduler_;  // declared last: stopped before the engine goes
};

}  // namespace kanana::serve
