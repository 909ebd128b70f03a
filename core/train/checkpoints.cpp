// Atomic training checkpoints with checksums, keep-last-N and corrupt-latest fallback.
#include "base/hash.h"
#include "train/checkpoints.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <fstream>

#include "base/files.h"
#include "model/checkpoint.h"
#include "shards/shard.h"
#include "tokenizer/tokenizer.h"

namespace kanana::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kChecksums = "checksums.json";
constexpr const char* kState = "trainer_state.json";
constexpr const char* kOptimizer = "optimizer.safetensors";
constexpr const char* kExtra = "extra.safetensors";

Result<std::string> file_checksum(const fs::path& path) {
  KANANA_ASSIGN_OR_RETURN(uint64_t h, fnv1a64_file(path));
  return hex64(h);
}

}  // namespace

Json TrainerState::to_json() const {
  return Json{{"kind", "kanana.trainer_state"}, {"version", 1},
              {"step", step}, {"tokens", tokens}, {"optimizer_steps", optimizer_steps},
              {"skipped_steps", skipped_steps}, {"data_cursor", data_cursor},
              {"rng_state", rng_state}, {"recipe_hash", recipe_hash}};
}

Result<TrainerState> TrainerState::from_json(const Json& json, const std::string& origin) {
  if (!json.is_object()) return data_loss(origin + ": not a JSON object");
  JsonReader r(json, origin);
  TrainerState s;
  KANANA_ASSIGN_OR_RETURN(s.step, r.get_int("step"));
  KANANA_ASSIGN_OR_RETURN(s.tokens, r.get_int("tokens"));
  KANANA_ASSIGN_OR_RETURN(s.optimizer_steps, r.get_int("optimizer_steps"));
  KANANA_ASSIGN_OR_RETURN(s.skipped_steps, r.get_int("skipped_steps"));
  KANANA_ASSIGN_OR_RETURN(s.rng_state, r.get_string("rng_state"));
  KANANA_ASSIGN_OR_RETURN(s.recipe_hash, r.get_string("recipe_hash"));
  if (!json.contains("data_cursor")) return r.field_error("data_cursor", "is missing");
  s.data_cursor = json["data_cursor"];
  return s;
}

fs::path checkpoints_dir(const fs::path& run_dir) { return run_dir / "checkpoints"; }

std::string checkpoint_name(int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%07lld", static_cast<long long>(step));
  return buf;
}

std::string cpu_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  torch::Tensor state = gen.get_state();  // uint8
  static const char* digits = "0123456789abcdef";
  std::string hex;
  const auto* p = state.data_ptr<uint8_t>();
  for (int64_t i = 0; i < state.numel(); ++i) {
    hex.push_back(digits[p[i] >> 4]);
    hex.push_back(digits[p[i] & 15]);
  }
  return hex;
}

Status set_cpu_rng_state(const std::string& hex) {
  if (hex.size() % 2) return data_loss("rng_state: odd number of hex digits");
  torch::Tensor state = torch::empty({int64_t(hex.size() / 2)}, torch::kUInt8);
  auto* p = state.data_ptr<uint8_t>();
  auto nib = [](char c) -> int { return c >= 'a' ? c - 'a' + 10 : c - '0'; };
  for (size_t i = 0; i < hex.size(); i += 2) p[i / 2] = uint8_t(nib(hex[i]) * 16 + nib(hex[i + 1]));
  try {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
  } catch (const std::exception& e) {
    return data_loss(std::string("rng_state: ") + e.what());
  }
  return Status::ok();
}

Result<fs::path> save_training_checkpoint(const fs::path& run_dir, model::LlamaForCausalLM& model,
                                          const AdamW& optimizer, const TrainerState& state, int64_t keep_last,
                                          const NamedTensors& extras, const fs::path& tokenizer) {
  const fs::path root = checkpoints_dir(run_dir);
  const std::string name = checkpoint_name(state.step);
  const fs::path tmp = root / (".tmp-" + name);
  const fs::path final_dir = root / name;
  std::error_code ec;
  fs::create_directories(root, ec);
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return errno_status(tmp, "create checkpoint folder");
  KANANA_RETURN_IF_ERROR(model::save_model(tmp, model));
  if (!extras.empty()) {
    NamedTensors cpu;
    for (const auto& [n, t] : extras) cpu.emplace_back(n, t.detach().cpu());
    KANANA_RETURN_IF_ERROR(st::save_safetensors_file(tmp / kExtra, cpu, {{"format", "pt"}}));
  }
  std::vector<std::pair<std::string, at::Tensor>> moments;
  for (auto& [n, t] : optimizer.state_tensors()) moments.emplace_back(n, t.detach().cpu());
  KANANA_RETURN_IF_ERROR(st::save_safetensors_file(tmp / kOptimizer, moments,
                                                   {{"format", "pt"}, {"kind", "kanana.adamw"}}));
  KANANA_RETURN_IF_ERROR(write_json_file(tmp / kState, state.to_json()));
  if (!tokenizer.empty()) KANANA_RETURN_IF_ERROR(tok::copy_tokenizer_files(tokenizer, tmp));
  Json sums = Json::object();
  for (const auto& entry : fs::directory_iterator(tmp)) {
    if (!entry.is_regular_file()) continue;
    KANANA_ASSIGN_OR_RETURN(std::string h, file_checksum(entry.path()));
    sums[entry.path().filename().string()] = h;
  }
  KANANA_RETURN_IF_ERROR(write_json_file(tmp / kChecksums, Json{{"algorithm", "fnv1a64"}, {"files", sums}}));
  fs::remove_all(final_dir, ec);  // re-saving the same step (e.g. after a resume) replaces it
  fs::rename(tmp, final_dir, ec);
  if (ec) return internal_error("renaming " + tmp.string() + " to " + final_dir.string() + ": " + ec.message());
  // keep-last-N
  auto all = list_checkpoints(run_dir);
  for (size_t i = size_t(std::max<int64_t>(keep_last, 1)); i < all.size(); ++i) fs::remove_all(all[i], ec);
  return final_dir;
}

std::vector<fs::path> list_checkpoints(const fs::path& run_dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(checkpoints_dir(run_dir), ec)) {
    const std::string n = entry.path().filename().string();
    if (entry.is_directory() && n.rfind("step-", 0) == 0) out.push_back(entry.path());
  }
  // Zero-padded names sort by step; descending = newest first.
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) { return a.filename() > b.filename(); });
  return out;
}

Status verify_checkpoint(const fs::path& dir) {
  auto sums = read_json_file(dir / kChecksums);
  if (!sums) return data_loss(dir.filename().string() + ": " + kChecksums + " is missing or unreadable (" +
                              sums.status().message() + ")");
  if (!sums->contains("files") || !(*sums)["files"].is_object() || (*sums)["files"].empty())
    return data_loss(dir.filename().string() + ": " + kChecksums + " lists no files");
  for (const auto& [file, want] : (*sums)["files"].items()) {
    auto got = file_checksum(dir / file);
    if (!got) return data_loss(dir.filename().string() + ": " + file + " is missing");
    if (!want.is_string() || *got != want.get<std::string>())
      return data_loss(dir.filename().string() + ": " + file + " checksum " + *got + " does not match " +
                       (want.is_string() ? want.get<std::string>() : std::string("(invalid)")));
  }
  for (const char* required : {kState, kOptimizer, "model.safetensors", "config.json"})
    if (!(*sums)["files"].contains(required)) return data_loss(dir.filename().string() + ": no " + required);
  return Status::ok();
}

Result<std::optional<ResumePoint>> find_resume_point(const fs::path& run_dir) {
  const auto all = list_checkpoints(run_dir);
  if (all.empty()) return std::optional<ResumePoint>();
  ResumePoint point;
  for (size_t i = 0; i < all.size(); ++i) {
    Status s = verify_checkpoint(all[i]);
    Result<TrainerState> state = data_loss("unverified");
    if (s.is_ok()) {
      auto json = read_json_file(all[i] / kState);
      state = json ? TrainerState::from_json(*json, (all[i] / kState).string()) : Result<TrainerState>(json.status());
      if (!state) s = state.status();
    }
    if (s.is_ok()) {
      point.dir = all[i];
      point.state = std::move(state).value();
      return std::optional<ResumePoint>(std::move(point));
    }
    point.messages.push_back("checkpoint " + all[i].filename().string() + " is corrupt (" + s.message() + "); " +
                             (i + 1 < all.size() ? "falling back to " + all[i + 1].filename().string()
                                                 : std::string("no older checkpoint left")));
  }
  std::string all_msgs;
  for (const auto& m : point.messages) all_msgs += "\n  " + m;
  return data_loss("every checkpoint under " + checkpoints_dir(run_dir).string() + " is corrupt:" + all_msgs);
}

Status restore_training_checkpoint(const fs::path& dir, model::LlamaForCausalLM& model, AdamW& optimizer,
                                   const TrainerState& state, const NamedTensors& extras) {
  KANANA_ASSIGN_OR_RETURN(auto weights, st::CheckpointReader::open(dir));
  KANANA_RETURN_IF_ERROR(model::load_weights(model, *weights, dir.string()));
  if (!extras.empty()) {
    KANANA_ASSIGN_OR_RETURN(auto extra, st::CheckpointReader::open(dir / kExtra));
    torch::NoGradGuard no_grad;
    for (const auto& [name, t] : extras) {
      if (!extra->has(name)) return data_loss((dir / kExtra).string() + ": no tensor '" + name + "'");
      KANANA_ASSIGN_OR_RETURN(torch::Tensor v, extra->tensor(name));
      if (v.sizes() != t.sizes())
        return data_loss((dir / kExtra).string() + ": tensor '" + name + "' has the wrong shape");
      t.copy_(v);
    }
  }
  KANANA_ASSIGN_OR_RETURN(auto moments, st::CheckpointReader::open(dir / kOptimizer));
  const auto device = model->device();
  KANANA_RETURN_IF_ERROR(optimizer.load_state(
      [&](const std::string& name) -> Result<torch::Tensor> {
        if (!moments->has(name)) return data_loss((dir / kOptimizer).string() + ": no tensor '" + name + "'");
        KANANA_ASSIGN_OR_RETURN(torch::Tensor t, moments->tensor(name));
        return t.to(device);
      },
      state.optimizer_steps));
  return set_cpu_rng_state(state.rng_state);
}

}  // namespace kanana::train
