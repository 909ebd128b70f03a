// The training loop; see trainer.h for the batch, loss and MFU definitions.
#include "train/trainer.h"

#include <ATen/autocast_mode.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "base/files.h"
#include "jobs/events.h"
#include "model/checkpoint.h"
#include "model/presets.h"
#include "shards/mixture.h"
#include "shards/sampler.h"
#include "train/checkpoints.h"
#include "train/losses.h"
#include "train/optimizer.h"

namespace kanana::train {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// bf16 autocast around the forward pass (CPU or CUDA), restored on scope exit.
class AutocastScope {
 public:
  AutocastScope(bool enabled, torch::Device device) : enabled_(enabled), cuda_(device.is_cuda()) {
    if (!enabled_) return;
    if (cuda_) {
      at::autocast::set_autocast_gpu_dtype(torch::kBFloat16);
      at::autocast::set_enabled(true);
    } else {
      at::autocast::set_autocast_cpu_dtype(torch::kBFloat16);
      at::autocast::set_cpu_enabled(true);
    }
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    if (cuda_) at::autocast::set_enabled(false);
    else at::autocast::set_cpu_enabled(false);
  }

 private:
  bool enabled_, cuda_;
};

struct ValSet {
  std::string name;
  std::unique_ptr<shards::SequenceSampler> sampler;
  int64_t windows = 0;
};

Result<model::LlamaForCausalLM> build_model(const Recipe& recipe, torch::ScalarType dtype, torch::Device device) {
  if (!recipe.model.init_from.empty()) {
    model::LoadOptions lo;
    lo.dtype = dtype;
    lo.device = device;
    KANANA_ASSIGN_OR_RETURN(auto loaded, model::load_model(recipe.model.init_from, lo));
    return loaded.model;
  }
  model::LlamaConfig config;
  if (!recipe.model.preset.empty()) {
    KANANA_ASSIGN_OR_RETURN(config, model::preset_config(recipe.model.preset));
  } else {
    KANANA_ASSIGN_OR_RETURN(config, model::read_llama_config(recipe.model.config));
  }
  return model::init_model(config, recipe.seed, dtype, device);
}

}  // namespace

double measure_gemm_flops(int64_t n, int reps) {
  torch::NoGradGuard no_grad;
  // Constant inputs: no draw from the global RNG, so measuring does not change training.
  torch::Tensor a = torch::full({n, n}, 0.5f), b = torch::full({n, n}, 0.25f);
  torch::Tensor c = torch::mm(a, b);  // warm-up
  double best = 0;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    c = torch::mm(a, b);
    const double s = seconds_since(t0);
    if (s > 0) best = std::max(best, 2.0 * double(n) * double(n) * double(n) / s);
  }
  return best;
}

Result<TrainResult> run_training(const Recipe& recipe, const TrainOptions& options) {
  try {
    if (options.threads > 0) torch::set_num_threads(options.threads);
    torch::manual_seed(recipe.seed);
    const auto wall_start = Clock::now();
    const int rank = options.dist.rank, world = options.dist.world_size;
    const bool lead = rank == 0;
    std::error_code ec;
    fs::create_directories(options.run_dir, ec);
    if (ec) return errno_status(options.run_dir, "create run folder");

    std::unique_ptr<jobs::EventWriter> events;
    if (lead) {
      KANANA_ASSIGN_OR_RETURN(events, jobs::EventWriter::open(options.run_dir / jobs::kEventsFileName));
      if (world > 1) events->set_rank(0);
    }
    auto say = [&](const std::string& level, const std::string& message, std::optional<int64_t> step = std::nullopt) {
      if (!lead) return;
      (void)events->log(level, message, step);
      if (options.print_progress || level == "warning" || level == "error") std::fprintf(stderr, "%s: %s\n", level.c_str(), message.c_str());
    };
    auto fail = [&](const Status& s) -> Status {
      if (lead) {
        say("error", s.message());
        (void)events->state(s.code() == StatusCode::kCancelled ? "cancelled" : "failed", s.message());
      }
      return s;
    };
    if (lead) (void)events->state("running");

    KANANA_ASSIGN_OR_RETURN(auto comm, make_communicator(options.dist, options.device));
    KANANA_ASSIGN_OR_RETURN(torch::ScalarType dtype, model::parse_dtype(recipe.runtime.dtype));
    auto built = build_model(recipe, dtype, options.device);
    if (!built) return fail(built.status());
    model::LlamaForCausalLM model = std::move(built).value();
    model->train();
    const auto& cfg = model->config();

    std::vector<std::pair<std::string, torch::Tensor>> params;
    int64_t matmul_params = 0;
    for (const auto& item : model->named_parameters(true)) {
      params.emplace_back(item.key(), item.value());
      if (item.value().dim() == 2) matmul_params += item.value().numel();
    }
    if (!cfg.tie_word_embeddings) matmul_params -= model->model->embed_tokens->weight.numel();
    const double flops_per_token = 6.0 * double(matmul_params) +
                                   12.0 * double(cfg.num_hidden_layers * cfg.q_width() * recipe.seq_len);
    AdamW optimizer(params, recipe.optimizer);

    shards::MixtureOptions mo;
    mo.seq_len = recipe.seq_len;
    mo.batch_size = recipe.micro_batch_size * recipe.grad_accum;
    mo.seed = recipe.seed;
    mo.rank = rank;
    mo.world_size = world;
    auto opened = shards::MixtureSampler::open(recipe.stages, mo);
    if (!opened) return fail(opened.status());
    auto mixture = std::move(opened).value();
    const int64_t data_vocab = mixture->source_data(0)->manifest().vocab_size;
    if (data_vocab > cfg.vocab_size)
      return fail(invalid_argument("the data's tokenizer has " + std::to_string(data_vocab) +
                                   " tokens but the model's vocab_size is " + std::to_string(cfg.vocab_size)));

    // Validation windows (in stream order, the same every time).
    std::vector<ValSet> val_sets;
    for (const auto& pack : recipe.validation.packs) {
      auto set = shards::ShardSet::open(pack, shards::Split::kValidation);
      if (!set || (*set)->num_tokens() < uint64_t(recipe.seq_len) + 1) {
        say("warning", "no usable validation split in " + pack.string() + (set ? std::string() : " (" + set.status().message() + ")"));
        continue;
      }
      shards::SamplerOptions so;
      so.seq_len = recipe.seq_len;
      so.batch_size = recipe.micro_batch_size;
      so.shuffle = false;
      auto sampler = shards::SequenceSampler::create(*set, so);
      if (!sampler) return fail(sampler.status());
      ValSet v;
      v.name = pack.filename().string();
      v.windows = std::min<int64_t>(int64_t((*sampler)->num_windows()), recipe.validation.batches * recipe.micro_batch_size);
      v.sampler = std::move(sampler).value();
      val_sets.push_back(std::move(v));
    }
    auto validate = [&]() -> std::optional<double> {
      if (val_sets.empty()) return std::nullopt;
      torch::NoGradGuard no_grad;
      double ce_sum = 0, count = 0;
      std::vector<int32_t> row(size_t(recipe.seq_len + 1));
      for (auto& v : val_sets) {
        for (int64_t begin = 0; begin < v.windows; begin += recipe.micro_batch_size) {
          const int64_t rows = std::min<int64_t>(recipe.micro_batch_size, v.windows - begin);
          torch::Tensor batch = torch::empty({rows, recipe.seq_len + 1}, torch::kInt64);  // (rows, seq + 1)
          for (int64_t r = 0; r < rows; ++r) {
            if (!v.sampler->window(uint64_t(begin + r), row.data()).is_ok()) return std::nullopt;
            for (int64_t i = 0; i <= recipe.seq_len; ++i) batch[r][i] = row[size_t(i)];
          }
          batch = batch.to(options.device);
          AutocastScope autocast(recipe.runtime.autocast_bf16, options.device);
          auto out = model->forward(batch.narrow(1, 0, recipe.seq_len));
          auto lo = causal_lm_loss(out.logits, batch.narrow(1, 1, recipe.seq_len), 0.0);
          ce_sum += lo.ce.item<double>() * double(lo.tokens);
          count += double(lo.tokens);
        }
      }
      return count > 0 ? std::optional<double>(ce_sum / count) : std::nullopt;
    };

    TrainResult result;
    TrainerState state;
    state.recipe_hash = recipe.hash;
    const auto existing = list_checkpoints(options.run_dir);
    if (options.resume) {
      auto point = find_resume_point(options.run_dir);
      if (!point) return fail(point.status());
      if (!*point) {
        say("info", "--resume: no checkpoint under " + checkpoints_dir(options.run_dir).string() + "; starting fresh");
      } else {
        for (const auto& m : (*point)->messages) say("warning", m);
        state = (*point)->state;
        if (state.recipe_hash != recipe.hash)
          say("warning", "the recipe changed since checkpoint " + (*point)->dir.filename().string() + " was written");
        Status restored = restore_training_checkpoint((*point)->dir, model, optimizer, state);
        if (!restored.is_ok()) return fail(restored.with_context("resuming from " + (*point)->dir.string()));
        Status rs = mixture->restore(state.data_cursor);
        if (!rs.is_ok()) return fail(rs.with_context("resuming from " + (*point)->dir.string()));
        result.last_checkpoint = (*point)->dir;
        state.recipe_hash = recipe.hash;
        say("info", "resumed from " + (*point)->dir.filename().string() + " at step " + std::to_string(state.step) +
                        " (" + std::to_string(state.tokens) + " tokens)", state.step);
      }
    } else if (!existing.empty()) {
      return fail(failed_precondition(options.run_dir.string() + " already has checkpoints (" +
                                      existing.front().filename().string() + "); pass --resume or use a new run folder"));
    }

    const double peak = recipe.runtime.peak_tflops > 0 ? recipe.runtime.peak_tflops * 1e12 : measure_gemm_flops();
    say("info", "model: " + std::to_string(matmul_params) + " matmul parameters, " + std::to_string(int64_t(flops_per_token)) +
                    " FLOP/token; peak " + std::to_string(peak / 1e9) + " GFLOP/s (" +
                    (recipe.runtime.peak_tflops > 0 ? "recipe" : "measured fp32 GEMM") + "); world " + std::to_string(world) +
                    " (" + comm->backend() + ")");

    auto save = [&]() -> Status {
      state.optimizer_steps = optimizer.step_count();
      state.data_cursor = mixture->cursor();
      state.rng_state = cpu_rng_state();
      if (lead) {
        KANANA_ASSIGN_OR_RETURN(fs::path dir, save_training_checkpoint(options.run_dir, model, optimizer, state,
                                                                       recipe.checkpoint.keep_last));
        result.last_checkpoint = dir;
        (void)events->checkpoint(state.step, fs::relative(dir, options.run_dir).string(), state.tokens);
      }
      return comm->barrier();
    };

    const int64_t rows = recipe.micro_batch_size * recipe.grad_accum;  // this rank's rows per step
    const int64_t tokens_per_step = rows * world * recipe.seq_len;
    std::vector<int64_t> buffer(size_t(rows * (recipe.seq_len + 1)));
    int64_t bad_in_row = 0, steps_this_run = 0;
    auto window_start = Clock::now();
    int64_t window_tokens = 0;

    while (!mixture->finished()) {
      if (options.cancel && options.cancel->is_cancelled()) {
        KANANA_RETURN_IF_ERROR(save());
        return fail(cancelled("interrupted at step " + std::to_string(state.step) + "; checkpoint " +
                              result.last_checkpoint.filename().string() + " written; continue with --resume"));
      }
      if (options.max_steps > 0 && steps_this_run >= options.max_steps) break;
      const size_t stage = mixture->stage_index();
      const int64_t step_in_stage = int64_t(mixture->steps_done_in_stage());
      const auto step_start = Clock::now();
      auto batch = mixture->next_batch(buffer.data());
      if (!batch) return fail(batch.status());
      if (batch->stage_started && lead) {
        (void)events->stage(recipe.stages[stage].name, int64_t(stage), int64_t(mixture->stage_steps(stage)));
        say("info", "stage " + std::to_string(stage + 1) + "/" + std::to_string(recipe.stages.size()) + " '" +
                        recipe.stages[stage].name + "' starts at step " + std::to_string(state.step) + " after " +
                        std::to_string(state.tokens) + " tokens", state.step);
      }
      ++state.step;
      ++steps_this_run;
      const double lr = lr_at(recipe.schedules[stage], step_in_stage, int64_t(mixture->stage_steps(stage)));

      torch::Tensor data = torch::from_blob(buffer.data(), {rows, recipe.seq_len + 1}, torch::kInt64).clone().to(options.device);
      optimizer.zero_grad();
      double loss_sum = 0, ce_sum = 0, z_sum = 0;
      for (int64_t m = 0; m < recipe.grad_accum; ++m) {
        torch::Tensor mb = data.narrow(0, m * recipe.micro_batch_size, recipe.micro_batch_size);  // (micro, seq + 1)
        LossOutput lo;
        {
          AutocastScope autocast(recipe.runtime.autocast_bf16, options.device);
          auto out = model->forward(mb.narrow(1, 0, recipe.seq_len));
          lo = causal_lm_loss(out.logits, mb.narrow(1, 1, recipe.seq_len), recipe.z_loss);
        }
        (lo.loss / double(recipe.grad_accum)).backward();
        loss_sum += lo.loss.item<double>();
        ce_sum += lo.ce.item<double>();
        z_sum += lo.z_loss.item<double>();
      }
      std::vector<torch::Tensor> grads;
      for (auto& [name, p] : params) {
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        grads.push_back(p.grad());
      }
      if (options.inject_nan && options.inject_nan(state.step)) {
        grads.front().fill_(std::numeric_limits<double>::quiet_NaN());
        loss_sum = std::numeric_limits<double>::quiet_NaN();
      }
      const double n_mb = double(recipe.grad_accum);
      torch::Tensor stats = torch::tensor({loss_sum / n_mb, ce_sum / n_mb, z_sum / n_mb}, torch::kFloat64).to(options.device);
      grads.push_back(stats);
      Status rs = comm->allreduce_mean(grads);
      if (!rs.is_ok()) return fail(rs);
      grads.pop_back();
      stats = stats.cpu();
      const double loss = stats[0].item<double>(), ce = stats[1].item<double>(), zl = stats[2].item<double>();
      double sq = 0;
      for (const auto& g : grads) sq += g.to(torch::kFloat64).square().sum().item<double>();
      const double grad_norm = std::sqrt(sq);

      StepRecord rec{state.step, loss, grad_norm, lr, false, 0.0};
      if (!std::isfinite(loss) || !std::isfinite(grad_norm)) {
        rec.skipped = true;
        ++bad_in_row;
        ++state.skipped_steps;
        optimizer.zero_grad();
        say("warning", "step " + std::to_string(state.step) + ": loss " + std::to_string(loss) + ", grad norm " +
                           std::to_string(grad_norm) + " is not finite; step skipped (" + std::to_string(bad_in_row) +
                           " in a row, " + std::to_string(state.skipped_steps) + " in total)", state.step);
        result.steps.push_back(rec);
        if (bad_in_row >= recipe.runtime.max_bad_steps) {
          return fail(data_loss(std::to_string(bad_in_row) + " steps in a row had a NaN/inf loss or gradient (runtime.max_bad_steps = " +
                                std::to_string(recipe.runtime.max_bad_steps) + "); stopping at step " + std::to_string(state.step) +
                                ". Last good checkpoint: " +
                                (result.last_checkpoint.empty() ? std::string("none") : result.last_checkpoint.string()) +
                                " (left intact)"));
        }
        continue;
      }
      bad_in_row = 0;
      if (recipe.grad_clip > 0 && grad_norm > recipe.grad_clip) {
        torch::NoGradGuard no_grad;
        const double coef = recipe.grad_clip / (grad_norm + 1e-6);
        for (auto& g : grads) g.mul_(coef);
      }
      optimizer.step(lr);
      rec.seconds = seconds_since(step_start);
      state.tokens += tokens_per_step;
      window_tokens += tokens_per_step;
      result.steps.push_back(rec);

      if (lead && (state.step % recipe.runtime.log_interval == 0 || mixture->finished())) {
        const double secs = std::max(seconds_since(window_start), 1e-9);
        const double tps = double(window_tokens) / secs;
        Json metrics = {{"loss", loss}, {"ce_loss", ce}, {"z_loss", zl}, {"lr", lr}, {"grad_norm", grad_norm},
                        {"tokens_per_s", tps}, {"mfu", peak > 0 ? flops_per_token * tps / (peak * world) : 0.0},
                        {"skipped_steps", state.skipped_steps}, {"stage", int64_t(stage)}};
        (void)events->metric(state.step, metrics, state.tokens);
        if (options.print_progress)
          std::fprintf(stderr, "step %lld  stage %zu  loss %.4f  lr %.3g  grad_norm %.3f  tok/s %.0f\n",
                       static_cast<long long>(state.step), stage + 1, loss, lr, grad_norm, tps);
        window_start = Clock::now();
        window_tokens = 0;
      }
      if (lead && recipe.validation.interval > 0 && state.step % recipe.validation.interval == 0) {
        if (auto v = validate()) {
          result.last_val_loss = v;
          (void)events->metric(state.step, Json{{"val_loss", *v}, {"val_ppl", std::exp(*v)}}, state.tokens);
        }
        window_start = Clock::now();  // validation time is not training throughput
      }
      if (recipe.checkpoint.interval > 0 && state.step % recipe.checkpoint.interval == 0 && !mixture->finished()) {
        Status s = save();
        if (!s.is_ok()) return fail(s);
        window_start = Clock::now();
      }
    }

    result.finished = mixture->finished();
    if (lead && result.finished) {
      if (auto v = validate()) {
        result.last_val_loss = v;
        (void)events->metric(state.step, Json{{"val_loss", *v}, {"val_ppl", std::exp(*v)}}, state.tokens);
      }
    }
    Status s = save();
    if (!s.is_ok()) return fail(s);
    result.final_step = state.step;
    result.tokens = state.tokens;
    result.skipped_steps = state.skipped_steps;
    if (lead) {
      Json summary = {{"steps", state.step}, {"tokens", state.tokens}, {"skipped_steps", state.skipped_steps},
                      {"wall_s", seconds_since(wall_start)}, {"finished", result.finished},
                      {"checkpoint", fs::relative(result.last_checkpoint, options.run_dir).string()}};
      if (result.last_val_loss) summary["val_loss"] = *result.last_val_loss;
      (void)events->summary(summary);
      if (result.finished) (void)events->state("finished");
      else (void)events->log("info", "paused after " + std::to_string(steps_this_run) + " steps (max_steps)", state.step);
    }
    return result;
  } catch (const c10::Error& e) {
    return internal_error(std::string("training failed in LibTorch: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    return internal_error(std::string("training failed: ") + e.what());
  }
}

}  // namespace kanana::train
