// Shared pieces of the post-training recipe types (task_support.h).
#include "posttrain/task_support.h"

#include <cmath>
#include <cstdio>
#include <set>

namespace kanana::posttrain {

namespace fs = std::filesystem;

Result<TaskTokenizer> load_task_tokenizer(const train::Recipe& recipe, const DataSpec& spec, int64_t model_vocab) {
  TaskTokenizer t;
  t.path = !spec.tokenizer.empty() ? spec.tokenizer : recipe.model.init_from;
  if (t.path.empty())
    return invalid_argument(recipe.file.string() + ": the recipe needs a 'tokenizer' (the model has no init_from folder to take it from)");
  KANANA_ASSIGN_OR_RETURN(t.tokenizer, tok::load_tokenizer(t.path));
  if (t.tokenizer->vocab_size() > model_vocab)
    return invalid_argument(t.path.string() + ": the tokenizer has " + std::to_string(t.tokenizer->vocab_size()) +
                            " tokens but the model's vocab_size is " + std::to_string(model_vocab));
  t.format.raw = spec.raw;
  if (spec.chat_template != "auto") {
    KANANA_ASSIGN_OR_RETURN(t.format.chat, tok::parse_chat_template_name(spec.chat_template));
  } else {
    auto kind = tok::detect_chat_template(t.path);
    if (!kind.is_ok() && !spec.raw)
      return invalid_argument(t.path.string() + ": cannot tell the chat template (" + kind.status().message() +
                              "); set 'chat_template' or train the tokenizer with --chat-template chatml");
    if (kind.is_ok()) t.format.chat = *kind;
  }
  if (!spec.raw) {
    for (const auto& s : tok::chat_special_tokens(t.format.chat))
      if (s != "<|end_of_text|>" && !t.tokenizer->piece_to_id(s))
        return invalid_argument(t.path.string() + ": the tokenizer has no '" + s + "' token, which the " +
                                tok::chat_template_name(t.format.chat) + " chat template needs");
  }
  return t;
}

Status keep_tokenizer_in_run(const TaskTokenizer& t, const fs::path& run_dir) {
  if (run_dir.empty()) return Status::ok();
  std::error_code ec;
  fs::path file = t.path;
  if (fs::is_directory(file)) {
    for (const char* name : {"tokenizer.json", "tokenizer.model"})
      if (fs::is_regular_file(file / name)) {
        file = file / name;
        break;
      }
    if (fs::is_directory(file)) {
      for (const auto& e : fs::directory_iterator(t.path, ec))
        if (e.path().extension() == ".model") file = e.path();
    }
  }
  if (!fs::is_regular_file(file)) return Status::ok();  // nothing single to copy
  const fs::path dir = run_dir / "tokenizer";
  fs::create_directories(dir, ec);
  if (ec) return invalid_argument(dir.string() + ": " + ec.message());
  const fs::path target = dir / (file.extension() == ".json" ? "tokenizer.json" : "tokenizer.model");
  fs::copy_file(file, target, fs::copy_options::overwrite_existing, ec);
  if (ec) return invalid_argument("copying " + file.string() + " to " + target.string() + ": " + ec.message());
  const fs::path config = file.parent_path() / "tokenizer_config.json";
  if (fs::is_regular_file(config)) fs::copy_file(config, dir / "tokenizer_config.json", fs::copy_options::overwrite_existing, ec);
  return Status::ok();
}

Result<TaskTokenizer> find_model_tokenizer(const fs::path& model_dir, const fs::path& explicit_path) {
  TaskTokenizer t;
  if (!explicit_path.empty()) {
    KANANA_ASSIGN_OR_RETURN(t.tokenizer, tok::load_tokenizer(explicit_path));
    t.path = explicit_path;
    return t;
  }
  KANANA_ASSIGN_OR_RETURN(t.path, tok::model_tokenizer_path(model_dir));
  KANANA_ASSIGN_OR_RETURN(t.tokenizer, tok::load_tokenizer(t.path));
  return t;
}

void report_problems(const train::TaskContext& ctx, const std::string& what, const std::vector<std::string>& problems) {
  if (problems.empty() || !ctx.log) return;
  const size_t shown = std::min<size_t>(problems.size(), 5);
  for (size_t i = 0; i < shown; ++i) ctx.log("warning", "skipped " + what + ": " + problems[i], std::nullopt);
  if (problems.size() > shown)
    ctx.log("warning", "skipped " + std::to_string(problems.size() - shown) + " more malformed " + what + " lines",
            std::nullopt);
}

int64_t IndexStream::at(int64_t k) {
  const int64_t epoch = k / n_;
  if (epoch != epoch_) {
    perm_ = shuffled_indices(n_, seed_, uint64_t(epoch));
    epoch_ = epoch;
  }
  return perm_[size_t(k % n_)];
}

int64_t steps_for(const DataSpec& spec, int64_t items, int64_t global_batch) {
  if (spec.max_steps > 0) return spec.max_steps;
  return std::max<int64_t>(1, int64_t(std::ceil(spec.epochs * double(items) / double(global_batch))));
}

}  // namespace kanana::posttrain
