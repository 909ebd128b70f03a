// The task API (train/task.h) from the side of a new recipe type: a type registered by this
// test ("test-copy": learn to copy a fixed random token stream, with an extra trainable
// scalar outside the model) parses only its own keys, gets a top-level "schedule", runs
// through the generic loop with its metrics logged, saves its extra tensor in every
// checkpoint, and resumes bit-exactly.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include <any>

#include "jobs/events.h"
#include "train/checkpoints.h"
#include "train/recipe.h"
#include "train/task.h"
#include "train/trainer.h"

using namespace kanana;
using namespace kanana::train;
namespace fs = std::filesystem;

namespace {

struct CopyOptions {
  int64_t steps = 0;
};

class CopyTask final : public Task {
 public:
  explicit CopyTask(Recipe r) : recipe_(std::move(r)), options_(std::any_cast<CopyOptions>(recipe_.task_options)) {}
  Status setup(const TaskContext& ctx) override {
    ctx_ = ctx;
    KANANA_ASSIGN_OR_RETURN(model_, build_recipe_model(recipe_, ctx.dtype, ctx.device));
    bias_ = torch::zeros({1}).set_requires_grad(true);
    return Status::ok();
  }
  model::LlamaForCausalLM& model() override { return model_; }
  std::vector<std::pair<std::string, torch::Tensor>> extra_parameters() override { return {{"test.bias", bias_}}; }
  bool finished() const override { return step_ >= options_.steps; }
  Result<StepInfo> begin_step() override {
    StepInfo info;
    info.lr = lr_at(recipe_.schedules[0], step_, options_.steps);
    info.stage_started = step_ == 0;
    info.stage_name = "copy";
    info.tokens = recipe_.micro_batch_size * recipe_.grad_accum * recipe_.seq_len;
    // Data depends only on the step: the cursor is the step.
    auto g = at::detail::createCPUGenerator(1000 + uint64_t(step_));
    data_ = torch::randint(0, 64, {recipe_.micro_batch_size * recipe_.grad_accum, recipe_.seq_len + 1}, g, torch::kInt64);
    ++step_;
    return info;
  }
  Result<MicroBatchOutput> micro_batch(int64_t index) override {
    auto mb = data_.narrow(0, index * recipe_.micro_batch_size, recipe_.micro_batch_size);
    auto out = model_->forward(mb.narrow(1, 0, recipe_.seq_len));
    auto logits = out.logits.to(torch::kFloat32);
    auto ce = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                                   mb.narrow(1, 0, recipe_.seq_len).reshape({-1}));
    MicroBatchOutput o;
    o.loss = ce + (bias_ - 1.0).square().sum();
    o.metrics["copy_ce"] = ce.item<double>();
    o.metrics["bias"] = bias_.item<double>();
    return o;
  }
  std::optional<Json> validate() override { return Json{{"val_loss", 1.5}, {"val_custom", double(step_)}}; }
  Json cursor() const override { return Json{{"step", step_}}; }
  Status restore(const Json& c) override {
    if (!c.contains("step")) return data_loss("cursor without step");
    step_ = c["step"].get<int64_t>();
    return Status::ok();
  }

 private:
  Recipe recipe_;
  CopyOptions options_;
  TaskContext ctx_;
  model::LlamaForCausalLM model_{nullptr};
  torch::Tensor bias_, data_;
  int64_t step_ = 0;
};

// A recipe type defined outside the project's list: its spec and its task register separately.
const bool registered = register_recipe_type({
    .name = "test-copy",
    .summary = "test task",
    .uses_stages = false,
    .keys = {"copy"},
    .parse = [](const Json& j, const std::string& origin, const fs::path&, Recipe& r) -> Status {
      JsonReader rd(j, origin);
      if (!rd.has("copy")) return rd.field_error("copy", "is required");
      KANANA_ASSIGN_OR_RETURN(JsonReader c, rd.child("copy"));
      KANANA_RETURN_IF_ERROR(c.check_no_unknown({"steps"}));
      Status err;
      CopyOptions o;
      o.steps = c.get_int_or("steps", 0, &err);
      KANANA_RETURN_IF_ERROR(err);
      if (o.steps < 1) return c.field_error("steps", "must be >= 1");
      r.task_options = o;
      return Status::ok();
    },
    .to_json = [](const Recipe& r) -> Json { return {{"copy", {{"steps", std::any_cast<CopyOptions>(r.task_options).steps}}}}; },
});
const bool task_registered = register_task_factory(
    "test-copy", [](const Recipe& r) -> Result<std::unique_ptr<Task>> { return std::unique_ptr<Task>(new CopyTask(r)); });

Json recipe_json(int steps) {
  return {{"type", "test-copy"}, {"model", {{"preset", "debug"}}}, {"seq_len", 8}, {"micro_batch_size", 2},
          {"grad_accum", 2}, {"seed", 3}, {"copy", {{"steps", steps}}},
          {"schedule", {{"kind", "cosine"}, {"peak_lr", 1e-2}, {"warmup_steps", 1}}},
          {"checkpoint", {{"interval", 3}, {"keep_last", 5}}}, {"validation", {{"interval", 4}}},
          {"runtime", {{"peak_tflops", 1.0}}}};
}

}  // namespace

class TestTaskApi : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(1); }

  void typesAreListed() {
    auto types = recipe_types();
    QVERIFY(std::find(types.begin(), types.end(), "pretrain") != types.end());
    QVERIFY(std::find(types.begin(), types.end(), "test-copy") != types.end());
    QVERIFY(find_recipe_type("pretrain")->uses_stages);
  }

  void parseErrorsNameTheField() {
    QVERIFY(parse_recipe(recipe_json(4), "r.json", {}).is_ok());
    auto expect = [](Json j, const char* field) {
      auto r = parse_recipe(j, "r.json", {});
      QVERIFY(!r.is_ok());
      QVERIFY2(r.status().message().find(field) != std::string::npos, r.status().message().c_str());
    };
    Json j = recipe_json(4);
    j.erase("schedule");
    expect(j, "'schedule'");
    j = recipe_json(4);
    j["stages"] = Json::array();  // not a key of this type
    expect(j, "'stages'");
    j = recipe_json(4);
    j["copy"]["steps"] = 0;
    expect(j, "copy.steps");
    j = recipe_json(4);
    j["type"] = "no-such-type";
    expect(j, "'type'");
  }

  void activationCheckpointingKeepsTheLossTrajectory() {
    const fs::path base = tmp_.path().toStdString();
    Json j = recipe_json(3);
    auto plain = run_training(*parse_recipe(j, "r.json", {}), TrainOptions{.run_dir = base / "ac-off"});
    j["runtime"]["activation_checkpointing"] = true;
    auto ckpt = run_training(*parse_recipe(j, "r.json", {}), TrainOptions{.run_dir = base / "ac-on"});
    QVERIFY(plain.is_ok() && ckpt.is_ok());
    for (size_t i = 0; i < 3; ++i) {
      QCOMPARE(ckpt->steps[i].loss, plain->steps[i].loss);
      QCOMPARE(ckpt->steps[i].grad_norm, plain->steps[i].grad_norm);
    }
  }

  void runsThroughTheGenericLoopAndResumes() {
    const fs::path base = tmp_.path().toStdString();
    auto recipe = parse_recipe(recipe_json(8), "r.json", {});
    QVERIFY(recipe.is_ok());
    TrainOptions o;
    o.run_dir = base / "full";
    auto full = run_training(*recipe, o);
    QVERIFY2(full.is_ok(), full.status().message().c_str());
    QCOMPARE(full->final_step, int64_t(8));
    QCOMPARE(full->tokens, int64_t(8 * 4 * 8));
    QVERIFY(full->steps.back().loss < full->steps.front().loss);
    QCOMPARE(*full->last_val_loss, 1.5);
    QVERIFY(fs::exists(full->last_checkpoint / "extra.safetensors"));
    QVERIFY(verify_checkpoint(full->last_checkpoint).is_ok());

    // The task's metrics reach events.jsonl next to the loop's.
    auto events = jobs::read_events(o.run_dir / jobs::kEventsFileName);
    QVERIFY(events.is_ok());
    bool saw_metric = false, saw_val = false, saw_stage = false;
    for (const auto& e : events->events) {
      if (e.type != "metric") {
        saw_stage |= e.type == "stage";
        continue;
      }
      const Json& m = e.json["metrics"];
      if (m.contains("copy_ce") && m.contains("bias") && !m.contains("mfu")) saw_metric = true;  // no FLOP count: no MFU
      if (m.contains("val_custom")) saw_val = true;
    }
    QVERIFY(saw_metric && saw_val && saw_stage);

    // 3 steps, then resume for the rest: same losses, same extra parameter.
    TrainOptions a;
    a.run_dir = base / "split";
    a.max_steps = 3;
    auto first = run_training(*recipe, a);
    QVERIFY2(first.is_ok(), first.status().message().c_str());
    a.max_steps = 0;
    a.resume = true;
    auto second = run_training(*recipe, a);
    QVERIFY2(second.is_ok(), second.status().message().c_str());
    QCOMPARE(second->final_step, int64_t(8));
    QCOMPARE(int(first->steps.size() + second->steps.size()), 8);
    for (size_t i = 0; i < 8; ++i) {
      const double want = full->steps[i].loss;
      const double got = i < 3 ? first->steps[i].loss : second->steps[i - 3].loss;
      QCOMPARE(got, want);
    }
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestTaskApi)
#include "test_task_api.moc"
