// Atomic training checkpoints with checksums, keep-last-N and corrupt-latest fallback.
#include "base/hash.h"
#include "train/checkpoints.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <map>
#include <optional>
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

constexpr const char* kShardPrefix = "optimizer-shard-";

// (rank, world) of an optimizer shard file name, or nullopt.
std::optional<std::pair<int, int>> parse_shard_name(const std::string& name) {
  int r = -1, w = -1;
  char tail[32] = {0};
  if (std::sscanf(name.c_str(), "optimizer-shard-%5d-of-%5d%31s", &r, &w, tail) != 3) return std::nullopt;
  if (std::string(tail) != ".safetensors" || r < 0 || w < 1 || r >= w) return std::nullopt;
  return std::make_pair(r, w);
}

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

std::string optimizer_shard_name(int rank, int world) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%05d-of-%05d.safetensors", kShardPrefix, rank, world);
  return buf;
}

namespace {
fs::path staging_dir(const fs::path& run_dir, int64_t step) {
  return checkpoints_dir(run_dir) / (".tmp-" + checkpoint_name(step));
}
}  // namespace

Status prepare_checkpoint_staging(const fs::path& run_dir, int64_t step) {
  const fs::path tmp = staging_dir(run_dir, step);
  std::error_code ec;
  fs::create_directories(checkpoints_dir(run_dir), ec);
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return errno_status(tmp, "create checkpoint folder");
  return Status::ok();
}

Status save_optimizer_shard(const fs::path& run_dir, int64_t step, const ShardedAdamW& optimizer) {
  std::vector<std::pair<std::string, at::Tensor>> moments;
  for (auto& [n, t] : optimizer.state_tensors()) moments.emplace_back(n, t.detach().cpu());
  const FlatRange r = optimizer.range();
  return st::save_safetensors_file(staging_dir(run_dir, step) / optimizer_shard_name(optimizer.rank(), optimizer.world()),
                                   moments,
                                   {{"format", "pt"}, {"kind", "kanana.adamw.zero1"},
                                    {"flat_begin", std::to_string(r.begin)}, {"flat_end", std::to_string(r.end)},
                                    {"flat_total", std::to_string(optimizer.total_elements())}});
}

Result<fs::path> save_training_checkpoint(const fs::path& run_dir, model::LlamaForCausalLM& model,
                                          const AdamW* optimizer, const TrainerState& state, int64_t keep_last,
                                          const NamedTensors& extras, const fs::path& tokenizer) {
  const fs::path root = checkpoints_dir(run_dir);
  const std::string name = checkpoint_name(state.step);
  const fs::path tmp = staging_dir(run_dir, state.step);
  const fs::path final_dir = root / name;
  std::error_code ec;
  if (optimizer) KANANA_RETURN_IF_ERROR(prepare_checkpoint_staging(run_dir, state.step));
  KANANA_RETURN_IF_ERROR(model::save_model(tmp, model));
  if (!extras.empty()) {
    NamedTensors cpu;
    for (const auto& [n, t] : extras) cpu.emplace_back(n, t.detach().cpu());
    KANANA_RETURN_IF_ERROR(st::save_safetensors_file(tmp / kExtra, cpu, {{"format", "pt"}}));
  }
  if (optimizer) {
    std::vector<std::pair<std::string, at::Tensor>> moments;
    for (auto& [n, t] : optimizer->state_tensors()) moments.emplace_back(n, t.detach().cpu());
    KANANA_RETURN_IF_ERROR(st::save_safetensors_file(tmp / kOptimizer, moments,
                                                     {{"format", "pt"}, {"kind", "kanana.adamw"}}));
  }
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
  for (const char* required : {kState, "model.safetensors", "config.json"})
    if (!(*sums)["files"].contains(required)) return data_loss(dir.filename().string() + ": no " + required);
  if (!(*sums)["files"].contains(kOptimizer)) {
    // ZeRO-1: every shard of one world size.
    int world = 0, found = 0;
    for (const auto& [file, want] : (*sums)["files"].items()) {
      auto rw = parse_shard_name(file);
      if (!rw) continue;
      if (world && rw->second != world)
        return data_loss(dir.filename().string() + ": optimizer shards of different world sizes (" + file + ")");
      world = rw->second;
      ++found;
    }
    if (!world) return data_loss(dir.filename().string() + ": no " + kOptimizer + " and no optimizer shards");
    if (found != world)
      return data_loss(dir.filename().string() + ": " + std::to_string(found) + " of " + std::to_string(world) +
                       " optimizer shards");
  }
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

Result<MomentRangeReader> open_moment_reader(const fs::path& dir,
                                             const std::vector<std::pair<std::string, int64_t>>& layout) {
  std::vector<int64_t> offsets;
  int64_t total = 0;
  for (const auto& [name, n] : layout) {
    offsets.push_back(total);
    total += n;
  }
  // Pieces [begin, end) of the flat vector, each read from one tensor.
  struct Piece {
    int64_t begin, end;
    std::shared_ptr<st::CheckpointReader> file;
    std::string tensor_prefix;  // "" (flat shard: tensor named `which`) or ".<param>" suffix
  };
  std::vector<Piece> pieces;
  if (fs::exists(dir / kOptimizer)) {
    KANANA_ASSIGN_OR_RETURN(auto file, st::CheckpointReader::open(dir / kOptimizer));
    std::shared_ptr<st::CheckpointReader> shared(std::move(file));
    for (size_t i = 0; i < layout.size(); ++i)
      pieces.push_back({offsets[i], offsets[i] + layout[i].second, shared, "." + layout[i].first});
  } else {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (!parse_shard_name(entry.path().filename().string())) continue;
      KANANA_ASSIGN_OR_RETURN(auto file, st::CheckpointReader::open(entry.path()));
      const auto& md = file->metadata();
      auto num = [&](const char* key) -> Result<int64_t> {
        auto it = md.find(key);
        if (it == md.end()) return data_loss(entry.path().string() + ": metadata '" + key + "' is missing");
        try {
          return int64_t(std::stoll(it->second));
        } catch (const std::exception&) {
          return data_loss(entry.path().string() + ": metadata '" + key + "' is '" + it->second + "'");
        }
      };
      KANANA_ASSIGN_OR_RETURN(int64_t b, num("flat_begin"));
      KANANA_ASSIGN_OR_RETURN(int64_t e, num("flat_end"));
      KANANA_ASSIGN_OR_RETURN(int64_t t, num("flat_total"));
      if (t != total)
        return data_loss(entry.path().string() + ": optimizer shard covers " + std::to_string(t) +
                         " parameter elements, the model has " + std::to_string(total));
      pieces.push_back({b, e, std::shared_ptr<st::CheckpointReader>(std::move(file)), ""});
    }
    std::sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) { return a.begin < b.begin; });
    int64_t at = 0;
    for (const auto& p : pieces) {
      if (p.begin != at) return data_loss(dir.string() + ": optimizer shards leave a gap at element " + std::to_string(at));
      at = p.end;
    }
    if (at != total) return data_loss(dir.string() + ": optimizer shards end at element " + std::to_string(at) +
                                      " of " + std::to_string(total));
  }
  return MomentRangeReader([pieces, dir](const std::string& which, int64_t begin, int64_t end) -> Result<torch::Tensor> {
    std::vector<torch::Tensor> parts;
    for (const auto& p : pieces) {
      const int64_t a = std::max(begin, p.begin), b = std::min(end, p.end);
      if (a >= b) continue;
      const std::string name = which + p.tensor_prefix;
      if (!p.file->has(name)) return data_loss(dir.string() + ": no optimizer tensor '" + name + "'");
      KANANA_ASSIGN_OR_RETURN(torch::Tensor t, p.file->tensor(name));
      if (t.numel() != p.end - p.begin)
        return data_loss(dir.string() + ": optimizer tensor '" + name + "' has " + std::to_string(t.numel()) +
                         " elements, expected " + std::to_string(p.end - p.begin));
      parts.push_back(t.reshape({-1}).narrow(0, a - p.begin, b - a));
    }
    if (parts.empty()) return torch::empty({0});
    return parts.size() == 1 ? parts.front().clone() : torch::cat(parts);
  });
}

Status restore_training_checkpoint(const fs::path& dir, model::LlamaForCausalLM& model, AdamW* dense,
                                   ShardedAdamW* sharded, const TrainerState& state, const NamedTensors& extras) {
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
  const auto device = model->device();
  std::vector<std::pair<std::string, int64_t>> layout;
  if (dense)
    for (const auto& [name, p] : dense->params()) layout.emplace_back(name, p.numel());
  if (sharded)
    for (const auto& [name, n] : sharded->layout()) layout.emplace_back(name, n);
  KANANA_ASSIGN_OR_RETURN(MomentRangeReader read, open_moment_reader(dir, layout));
  if (sharded) {
    KANANA_RETURN_IF_ERROR(sharded->load_state(
        [&](const std::string& which, int64_t b, int64_t e) -> Result<torch::Tensor> {
          KANANA_ASSIGN_OR_RETURN(torch::Tensor t, read(which, b, e));
          return t.to(device);
        },
        state.optimizer_steps));
  } else if (dense) {
    struct Where {
      int64_t begin, end;
      std::vector<int64_t> shape;
    };
    std::map<std::string, Where> ranges;  // parameter name -> flat range and shape
    int64_t at = 0;
    for (const auto& [name, p] : dense->params()) {
      ranges[name] = {at, at + p.numel(), p.sizes().vec()};
      at += p.numel();
    }
    KANANA_RETURN_IF_ERROR(dense->load_state(
        [&](const std::string& name) -> Result<torch::Tensor> {
          const size_t dot = name.find('.');
          const std::string which = name.substr(0, dot), param = name.substr(dot + 1);
          auto it = ranges.find(param);
          if (dot == std::string::npos || it == ranges.end()) return data_loss("no optimizer tensor '" + name + "'");
          KANANA_ASSIGN_OR_RETURN(torch::Tensor t, read(which, it->second.begin, it->second.end));
          return t.reshape(it->second.shape).to(device);
        },
        state.optimizer_steps));
  }
  return set_cpu_rng_state(state.rng_state);
}

}  // namespace kanana::train
