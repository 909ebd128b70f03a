// The training loop; see trainer.h for the batch, loss and MFU definitions.
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "base/files.h"
#include "jobs/events.h"
#include "model/activation_checkpointing.h"
#include "model/checkpoint.h"
#include "train/checkpoints.h"
#include "train/optimizer.h"
#include "train/task.h"
#include "train/zero_optimizer.h"

namespace kanana::train {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

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
    // Refusals come before anything is written: a refused train leaves an existing run's
    // events.jsonl, checkpoints and resolved recipe exactly as they were.
    const auto existing = list_checkpoints(options.run_dir);
    std::optional<ResumePoint> resume_point;
    if (options.resume) {
      KANANA_ASSIGN_OR_RETURN(resume_point, find_resume_point(options.run_dir));
      // Resuming with another recipe would load the old run's weights and optimizer into a
      // different run (another model, data or schedule) and train garbage without a word.
      if (resume_point && resume_point->state.recipe_hash != recipe.hash)
        return failed_precondition("--resume: the recipe differs from the one checkpoint " +
                                   resume_point->dir.filename().string() + " of " + options.run_dir.string() +
                                   " was trained with (recipe hash " + resume_point->state.recipe_hash + ", now " +
                                   recipe.hash + "); resume with the run's resolved_recipe.json or use a new run folder");
    } else if (!existing.empty()) {
      return failed_precondition(options.run_dir.string() + " already has checkpoints (" +
                                 existing.front().filename().string() + "); pass --resume or use a new run folder");
    }
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
    auto created = create_task(recipe);
    if (!created) return fail(created.status());
    std::unique_ptr<Task> task = std::move(created).value();
    TaskContext ctx;
    ctx.device = options.device;
    ctx.dtype = dtype;
    ctx.rank = rank;
    ctx.world_size = world;
    ctx.run_dir = options.run_dir;
    ctx.events = events.get();
    ctx.log = say;
    Status set_up = task->setup(ctx);
    if (!set_up.is_ok()) return fail(set_up);
    model::LlamaForCausalLM& model = task->model();
    model->train();

    std::vector<std::pair<std::string, torch::Tensor>> params;
    for (const auto& item : model->named_parameters(true)) params.emplace_back(item.key(), item.value());
    const NamedTensors extras = task->extra_parameters();
    for (const auto& [name, t] : extras) params.emplace_back(name, t);
    const double flops_per_token = task->flops_per_token();
    // ZeRO-1 keeps only this rank's range of the moments (zero_optimizer.h); the dense AdamW
    // keeps all of them on every rank.
    std::unique_ptr<AdamW> dense;
    std::unique_ptr<ShardedAdamW> sharded;
    if (recipe.distributed.zero_stage == 1) {
      auto made = ShardedAdamW::create(params, recipe.optimizer, rank, world,
                                       std::max<int64_t>(1, int64_t(recipe.distributed.bucket_mb * double(1 << 20))));
      if (!made) return fail(made.status());
      sharded = std::make_unique<ShardedAdamW>(std::move(made).value());
    } else {
      dense = std::make_unique<AdamW>(params, recipe.optimizer);
    }
    auto optimizer_steps = [&] { return sharded ? sharded->step_count() : dense->step_count(); };
    auto zero_grad = [&] { sharded ? sharded->zero_grad() : dense->zero_grad(); };
    int64_t optimizer_bytes = 0;
    if (sharded) optimizer_bytes = sharded->state_bytes();
    else
      for (const auto& [n, t] : dense->state_tensors()) optimizer_bytes += int64_t(t.nbytes());
    std::vector<torch::Tensor> param_tensors;
    for (const auto& [name, t] : params) param_tensors.push_back(t);
    GradReduceOptions reduce_options;
    reduce_options.bucket_bytes = std::max<int64_t>(1, int64_t(recipe.distributed.bucket_mb * double(1 << 20)));
    reduce_options.first_bucket_bytes = std::min<int64_t>(reduce_options.first_bucket_bytes, reduce_options.bucket_bytes);
    reduce_options.overlap = recipe.distributed.overlap_reduce;
    auto made_reducer = make_gradient_reducer(*comm, param_tensors, reduce_options);
    if (!made_reducer) return fail(made_reducer.status());
    std::unique_ptr<GradientReducer> reducer = std::move(made_reducer).value();

    TrainResult result;
    TrainerState state;
    state.recipe_hash = recipe.hash;
    if (options.resume) {
      if (!resume_point) {
        say("info", "--resume: no checkpoint under " + checkpoints_dir(options.run_dir).string() + "; starting fresh");
      } else {
        const ResumePoint& point = *resume_point;
        for (const auto& m : point.messages) say("warning", m);
        state = point.state;
        Status restored = restore_training_checkpoint(point.dir, model, dense.get(), sharded.get(), state, extras);
        if (!restored.is_ok()) return fail(restored.with_context("resuming from " + point.dir.string()));
        Status rs = task->restore(state.data_cursor);
        if (!rs.is_ok()) return fail(rs.with_context("resuming from " + point.dir.string()));
        result.last_checkpoint = point.dir;
        state.recipe_hash = recipe.hash;
        say("info", "resumed from " + point.dir.filename().string() + " at step " + std::to_string(state.step) +
                        " (" + std::to_string(state.tokens) + " tokens)", state.step);
      }
    }
    // The recipe as this run uses it (defaults filled in, paths absolute): `kanana train
    // --recipe <run>/resolved_recipe.json` reproduces the run.
    if (lead) {
      Status written = write_json_file(options.run_dir / kResolvedRecipeFileName, resolved_recipe_json(recipe));
      if (!written.is_ok()) return fail(written);
    }

    result.optimizer_state_bytes = optimizer_bytes;
    say("info", "optimizer state: " + std::to_string(double(optimizer_bytes) / double(1 << 20)) + " MiB on rank 0" +
                    (sharded ? " (ZeRO-1: elements [" + std::to_string(sharded->range().begin) + ", " +
                                   std::to_string(sharded->range().end) + ") of " +
                                   std::to_string(sharded->total_elements()) + ")"
                             : std::string(" (unsharded)")));
    const double peak = recipe.runtime.peak_tflops > 0 ? recipe.runtime.peak_tflops * 1e12 : measure_gemm_flops();
    say("info", "task '" + recipe.type + "': " + std::to_string(int64_t(flops_per_token)) + " FLOP/token; peak " +
                    std::to_string(peak / 1e9) + " GFLOP/s (" +
                    (recipe.runtime.peak_tflops > 0 ? "recipe" : "measured fp32 GEMM") + "); world " +
                    std::to_string(world) + " (" + comm->backend() +
                    (world > 1 ? std::string(reducer->overlapped() ? ", gradients reduced during backward in " +
                                                                        std::to_string(reducer->bucket_count()) + " buckets"
                                                                  : ", gradients reduced after backward")
                               : std::string()) + ")");

    auto save = [&]() -> Status {
      state.optimizer_steps = optimizer_steps();
      state.data_cursor = task->cursor();
      state.rng_state = cpu_rng_state();
      if (sharded) {
        // Every rank writes its shard into the staging folder rank 0 prepared; then rank 0
        // completes the checkpoint. A rank that fails tells the others through the allreduce.
        Status staged = lead ? prepare_checkpoint_staging(options.run_dir, state.step) : Status::ok();
        KANANA_RETURN_IF_ERROR(comm->barrier());
        Status written = staged.is_ok() ? save_optimizer_shard(options.run_dir, state.step, *sharded) : staged;
        torch::Tensor ok = torch::tensor({written.is_ok() ? 1.0 : 0.0}, torch::kFloat64).to(options.device);
        KANANA_RETURN_IF_ERROR(comm->allreduce_mean({ok}));
        if (!written.is_ok()) return written.with_context("writing the optimizer shard of rank " + std::to_string(rank));
        if (ok.item<double>() < 1.0)
          return data_loss("another rank could not write its optimizer shard for step " + std::to_string(state.step));
      }
      if (lead) {
        KANANA_ASSIGN_OR_RETURN(fs::path dir, save_training_checkpoint(options.run_dir, model, dense.get(), state,
                                                                       recipe.checkpoint.keep_last, extras,
                                                                       task->tokenizer_source()));
        result.last_checkpoint = dir;
        (void)events->checkpoint(state.step, fs::relative(dir, options.run_dir).string(), state.tokens);
      }
      return comm->barrier();
    };
    auto validate = [&]() {
      if (!lead) return;
      std::optional<Json> v = task->validate();
      if (!v || !v->is_object() || v->empty()) return;
      if (v->contains("val_loss") && (*v)["val_loss"].is_number()) result.last_val_loss = (*v)["val_loss"].get<double>();
      (void)events->metric(state.step, *v, state.tokens);
    };

    int64_t bad_in_row = 0, steps_this_run = 0;
    auto window_start = Clock::now();
    int64_t window_tokens = 0;

    // With several ranks a cancel or preemption signal reaches them at slightly different
    // times; they agree through the step's stats all-reduce and all stop after the same step
    // (one rank checkpointing while another starts the next all-reduce would hang both).
    auto local_flag = [](CancelToken* t) { return t && t->is_cancelled(); };
    bool agreed_cancel = false, agreed_preempt = false;
    while (!task->finished()) {
      const bool cancel_now = world > 1 ? agreed_cancel : local_flag(options.cancel);
      const bool preempt_now = world > 1 ? agreed_preempt : local_flag(options.preempt);
      if (preempt_now && !cancel_now) {
        KANANA_RETURN_IF_ERROR(save());
        const std::string msg = "preempted at step " + std::to_string(state.step) + " (warning signal before the time limit); checkpoint " +
                                result.last_checkpoint.filename().string() + " written; the run continues from it with --resume";
        say("warning", msg, state.step);
        if (lead) (void)events->state("queued", msg);
        result.preempted = true;
        result.final_step = state.step;
        result.tokens = state.tokens;
        result.skipped_steps = state.skipped_steps;
        return result;
      }
      if (cancel_now) {
        KANANA_RETURN_IF_ERROR(save());
        return fail(cancelled("interrupted at step " + std::to_string(state.step) + "; checkpoint " +
                              result.last_checkpoint.filename().string() + " written; continue with --resume"));
      }
      if (options.max_steps > 0 && steps_this_run >= options.max_steps) break;
      const auto step_start = Clock::now();
      auto begun = task->begin_step();
      if (!begun) return fail(begun.status());
      const StepInfo info = *begun;
      if (info.stage_started && lead) {
        (void)events->stage(info.stage_name, info.stage, info.stage_steps);
        say("info", "stage " + std::to_string(info.stage + 1) + "/" + std::to_string(info.num_stages) + " '" +
                        info.stage_name + "' starts at step " + std::to_string(state.step) + " after " +
                        std::to_string(state.tokens) + " tokens", state.step);
      }
      ++state.step;
      ++steps_this_run;
      const double lr = info.lr;

      zero_grad();
      double loss_sum = 0;
      std::map<std::string, double> metric_sums;
      for (int64_t m = 0; m < recipe.grad_accum; ++m) {
        model::ActivationCheckpointing checkpointing(recipe.runtime.activation_checkpointing);
        auto out = task->micro_batch(m);
        if (!out) return fail(out.status());
        torch::Tensor scaled = out->loss / double(recipe.grad_accum);
        // Only the last micro-batch's backward reduces (the others accumulate locally).
        if (m + 1 == recipe.grad_accum) reducer->expect_sync(scaled);
        scaled.backward();
        loss_sum += out->loss.item<double>();
        for (const auto& [k, v] : out->metrics) metric_sums[k] += v;
      }
      Status reduced = reducer->finish();
      if (!reduced.is_ok()) return fail(reduced);
      std::vector<torch::Tensor> grads;
      for (auto& [name, p] : params) {
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        grads.push_back(p.grad());
      }
      if (options.inject_nan && options.inject_nan(state.step)) {
        grads.front().fill_(std::numeric_limits<double>::quiet_NaN());
        loss_sum = std::numeric_limits<double>::quiet_NaN();
      }
      // Loss, the task's metrics and the token count are averaged over ranks (the gradients
      // were averaged by the reducer).
      const double n_mb = double(recipe.grad_accum);
      std::vector<double> stat_values = {loss_sum / n_mb};
      for (const auto& [k, v] : metric_sums) stat_values.push_back(v / n_mb);
      const size_t flags_at = stat_values.size();
      stat_values.push_back(local_flag(options.cancel) ? 1.0 : 0.0);
      stat_values.push_back(local_flag(options.preempt) ? 1.0 : 0.0);
      stat_values.push_back(double(info.tokens));
      torch::Tensor stats = torch::tensor(stat_values, torch::kFloat64).to(options.device);
      Status rs = comm->allreduce_mean({stats});
      if (!rs.is_ok()) return fail(rs);
      stats = stats.cpu();
      const double loss = stats[0].item<double>();
      std::map<std::string, double> metric_means;
      {
        int64_t i = 1;
        for (const auto& [k, v] : metric_sums) metric_means[k] = stats[i++].item<double>();
      }
      agreed_cancel = stats[int64_t(flags_at)].item<double>() > 0;
      agreed_preempt = stats[int64_t(flags_at) + 1].item<double>() > 0;
      const int64_t tokens_this_step = int64_t(std::llround(stats[int64_t(stat_values.size()) - 1].item<double>() * world));
      // Per-tensor 2-norms in one read pass each (no fp64 copy of 100M-element gradients),
      // combined in double like torch.nn.utils.clip_grad_norm_.
      double sq = 0;
      for (const auto& g : grads) {
        const double n = g.norm().item<double>();
        sq += n * n;
      }
      const double grad_norm = std::sqrt(sq);

      StepRecord rec{state.step, loss, grad_norm, lr, false, 0.0};
      if (!std::isfinite(loss) || !std::isfinite(grad_norm)) {
        rec.skipped = true;
        ++bad_in_row;
        ++state.skipped_steps;
        zero_grad();
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
      if (sharded) {
        Status stepped = sharded->step(lr, *comm);
        if (!stepped.is_ok()) return fail(stepped);
      } else {
        dense->step(lr);
      }
      rec.seconds = seconds_since(step_start);
      rec.exposed_reduce_seconds = reducer->take_exposed_seconds();
      state.tokens += tokens_this_step;
      window_tokens += tokens_this_step;
      result.steps.push_back(rec);

      if (lead && (state.step % recipe.runtime.log_interval == 0 || task->finished())) {
        const double secs = std::max(seconds_since(window_start), 1e-9);
        const double tps = double(window_tokens) / secs;
        Json metrics = {{"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm}, {"tokens_per_s", tps},
                        {"skipped_steps", state.skipped_steps}, {"stage", info.stage}};
        if (flops_per_token > 0) metrics["mfu"] = peak > 0 ? flops_per_token * tps / (peak * world) : 0.0;
        for (const auto& [k, v] : metric_means) metrics[k] = v;
        (void)events->metric(state.step, metrics, state.tokens);
        if (options.print_progress)
          std::fprintf(stderr, "step %lld  stage %lld  loss %.4f  lr %.3g  grad_norm %.3f  tok/s %.0f\n",
                       static_cast<long long>(state.step), static_cast<long long>(info.stage + 1), loss, lr, grad_norm, tps);
        window_start = Clock::now();
        window_tokens = 0;
      }
      if (recipe.validation.interval > 0 && state.step % recipe.validation.interval == 0) {
        validate();
        window_start = Clock::now();  // validation time is not training throughput
      }
      if (recipe.checkpoint.interval > 0 && state.step % recipe.checkpoint.interval == 0 && !task->finished()) {
        Status s = save();
        if (!s.is_ok()) return fail(s);
        window_start = Clock::now();
      }
    }

    result.finished = task->finished();
    if (result.finished) validate();
    Status s = save();
    if (!s.is_ok()) return fail(s);
    result.final_step = state.step;
    result.tokens = state.tokens;
    result.skipped_steps = state.skipped_steps;
    if (lead) {
      Json summary = {{"steps", state.step}, {"tokens", state.tokens}, {"skipped_steps", state.skipped_steps},
                      {"wall_s", seconds_since(wall_start)}, {"finished", result.finished}, {"type", recipe.type},
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
