// The "distill" recipe type: the KL loss against a float64 computation written from the
// formula (full and top-k, with temperature), a run through the generic trainer whose KL to
// the teacher falls (a pruned student of a trained teacher, as in Kanana), bit-exact resume,
// and the errors a distillation recipe must give (vocab mismatch, bad keys).
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include "../shards/shard_test_util.h"
#include "jobs/events.h"
#include "model/checkpoint.h"
#include "model/presets.h"
#include "surgery/distill_loss.h"
#include "surgery/importance_estimation.h"
#include "surgery/prune.h"
#include "train/recipe.h"
#include "train/trainer.h"

using namespace kanana;
using namespace kanana::surgery;
namespace fs = std::filesystem;

namespace {

// Σ_v p (log p − log q) with p, q softmaxes at temperature T, float64, one position at a time.
double reference_kl(const torch::Tensor& s, const torch::Tensor& t, double T, int64_t k) {
  auto sd = s.to(torch::kFloat64) / T, td = t.to(torch::kFloat64) / T;
  double total = 0;
  const int64_t V = sd.size(-1);
  auto s2 = sd.reshape({-1, V}), t2 = td.reshape({-1, V});
  for (int64_t i = 0; i < s2.size(0); ++i) {
    auto lq = torch::log_softmax(s2[i], 0);
    torch::Tensor idx = k > 0 ? std::get<1>(t2[i].topk(k)) : torch::arange(V);
    auto tv = t2[i].index_select(0, idx);
    auto lp = tv - torch::logsumexp(tv, 0);
    total += (lp.exp() * (lp - lq.index_select(0, idx))).sum().item<double>();
  }
  return total / double(s2.size(0));
}

Json stage(const fs::path& pack, int64_t tokens, double lr) {
  return {{"name", "distill"}, {"token_budget", tokens},
          {"sources", Json::array({Json{{"name", "src"}, {"path", pack.string()}, {"weight", 1.0}}})},
          {"schedule", {{"kind", "constant"}, {"peak_lr", lr}, {"warmup_steps", 0}}}};
}

}  // namespace

class TestDistill : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root_;

 private Q_SLOTS:
  void initTestCase() {
    torch::set_num_threads(1);
    root_ = tmp_.path().toStdString();
    // Documents with structure (a repeating n-gram pattern per document) so a teacher can learn something.
    std::vector<std::vector<int32_t>> docs;
    std::mt19937 rng(3);
    for (int d = 0; d < 400; ++d) {
      std::vector<int32_t> doc;
      const int32_t a = 1 + int32_t(rng() % 60), step = 1 + int32_t(rng() % 5);
      for (int i = 0; i < 40; ++i) doc.push_back(1 + (a + step * (i % 7)) % 500);
      doc.push_back(0);
      docs.push_back(doc);
    }
    auto m = shards::test::write_synthetic_pack(root_ / "pack", docs, "src", 1 << 20, 10, "fp-test", 512);
    QVERIFY2(m.is_ok(), m.status().message().c_str());

    // Teacher: the debug preset trained briefly with "pretrain"; student: the teacher pruned.
    Json pre = {{"type", "pretrain"}, {"model", {{"preset", "debug"}}}, {"seq_len", 16}, {"micro_batch_size", 8},
                {"seed", 1}, {"stages", Json::array({stage(root_ / "pack", 60 * 8 * 16, 3e-3)})},
                {"checkpoint", {{"interval", 0}, {"keep_last", 1}}}};
    auto recipe = train::parse_recipe(pre, "teacher.json", {});
    QVERIFY2(recipe.is_ok(), recipe.status().message().c_str());
    train::TrainOptions o;
    o.run_dir = root_ / "teacher-run";
    auto r = train::run_training(*recipe, o);
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    fs::copy(r->last_checkpoint, root_ / "teacher", fs::copy_options::recursive);

    auto teacher = model::load_model(root_ / "teacher");
    QVERIFY(teacher.is_ok());
    TargetShape t;
    t.heads_per_group = 1;
    t.intermediate_size = 64;
    t.hidden_size = 48;
    CalibrationSpec cs;
    cs.pack = root_ / "pack";
    cs.samples = 32;
    cs.seq_len = 16;
    auto cal = open_calibration(cs);
    QVERIFY2(cal.is_ok(), cal.status().message().c_str());
    auto student = prune_model(teacher->model, t, cal->get(), {});
    QVERIFY2(student.is_ok(), student.status().message().c_str());
    QVERIFY(model::save_model(root_ / "student", student->model).is_ok());
  }

  void klEqualsTheFormula() {
    auto g = at::detail::createCPUGenerator(5);
    auto s = torch::randn({2, 3, 17}, g).mul_(3).requires_grad_(true);
    auto t = torch::randn({2, 3, 17}, g).mul_(3);
    for (double T : {1.0, 2.0, 0.5}) {
      auto full = distill_kl(s, teacher_targets(t, 0), T);
      QVERIFY(std::abs(full.kl.item<double>() - reference_kl(s.detach(), t, T, 0)) < 1e-5);
      QVERIFY(std::abs(full.loss.item<double>() - T * T * full.kl.item<double>()) < 1e-6);
      auto top = distill_kl(s, teacher_targets(t, 4), T);
      QVERIFY(std::abs(top.kl.item<double>() - reference_kl(s.detach(), t, T, 4)) < 1e-5);
      QVERIFY(top.kl.item<double>() >= 0);
      auto all = distill_kl(s, teacher_targets(t, 17), T);  // k = vocab is the full KL
      QVERIFY(std::abs(all.kl.item<double>() - full.kl.item<double>()) < 1e-6);
    }
    // KL(p || p) = 0 and the gradient flows to the student only.
    auto same = distill_kl(t, teacher_targets(t, 0), 1.0);
    QVERIFY(std::abs(same.kl.item<double>()) < 1e-6);
    auto l = distill_kl(s, teacher_targets(t, 0), 2.0);
    l.loss.backward();
    QVERIFY(s.grad().defined() && s.grad().abs().sum().item<double>() > 0);
    // A mask counts only the chosen positions.
    auto mask = torch::tensor({{1, 0, 0}, {0, 0, 0}}).to(torch::kBool);
    auto one = distill_kl(s.detach(), teacher_targets(t, 0), 1.0, mask);
    QCOMPARE(one.positions, int64_t(1));
    QVERIFY(std::abs(one.kl.item<double>() - reference_kl(s.detach()[0][0].unsqueeze(0), t[0][0].unsqueeze(0), 1.0, 0)) < 1e-5);
  }

  void distillationRunLowersTheKlAndResumes() {
    auto recipe_json = [&](double alpha, int64_t top_k) {
      return Json{{"type", "distill"}, {"model", {{"init_from", (root_ / "student").string()}}},
                  {"teacher", (root_ / "teacher").string()},
                  {"distill", {{"temperature", 2.0}, {"alpha", alpha}, {"top_k", top_k}}},
                  {"seq_len", 16}, {"micro_batch_size", 4}, {"grad_accum", 2}, {"seed", 2},
                  {"stages", Json::array({stage(root_ / "pack", 24 * 8 * 16, 3e-3)})},
                  {"validation", {{"interval", 8}, {"batches", 2}}},
                  {"checkpoint", {{"interval", 8}, {"keep_last", 3}}},
                  {"runtime", {{"peak_tflops", 1.0}}}};
    };
    auto recipe = train::parse_recipe(recipe_json(0.0, 0), "distill.json", {});
    QVERIFY2(recipe.is_ok(), recipe.status().message().c_str());
    train::TrainOptions o;
    o.run_dir = root_ / "distill-run";
    auto r = train::run_training(*recipe, o);
    QVERIFY2(r.is_ok(), r.status().message().c_str());
    QCOMPARE(r->final_step, int64_t(24));
    auto events = jobs::read_events(o.run_dir / jobs::kEventsFileName);
    QVERIFY(events.is_ok());
    std::vector<double> kl, val_kl;
    double teacher_val = -1, student_val = -1;
    for (const auto& e : events->events) {
      if (e.type != "metric") continue;
      const Json& m = e.json["metrics"];
      if (m.contains("kl")) {
        kl.push_back(m["kl"].get<double>());
        QVERIFY(m.contains("ce") && m.contains("mfu"));
      }
      if (m.contains("val_kl")) {
        val_kl.push_back(m["val_kl"].get<double>());
        teacher_val = m["val_loss_teacher"].get<double>();
        student_val = m["val_loss"].get<double>();
      }
    }
    QCOMPARE(int(kl.size()), 24);
    const double first = (kl[0] + kl[1] + kl[2]) / 3, last = (kl[21] + kl[22] + kl[23]) / 3;
    QVERIFY2(last < 0.7 * first, (std::to_string(first) + " -> " + std::to_string(last)).c_str());
    QVERIFY(val_kl.size() >= 3);
    QVERIFY2(val_kl.back() < val_kl.front(), (std::to_string(val_kl.front()) + " -> " + std::to_string(val_kl.back())).c_str());
    QVERIFY(teacher_val > 0 && student_val > 0);

    // Resume from step 8 gives the same losses as the uninterrupted run.
    train::TrainOptions a;
    a.run_dir = root_ / "distill-split";
    a.max_steps = 8;
    auto part1 = train::run_training(*recipe, a);
    QVERIFY2(part1.is_ok(), part1.status().message().c_str());
    a.max_steps = 0;
    a.resume = true;
    auto part2 = train::run_training(*recipe, a);
    QVERIFY2(part2.is_ok(), part2.status().message().c_str());
    QCOMPARE(int(part2->steps.size()), 16);
    for (size_t i = 0; i < 16; ++i) QCOMPARE(part2->steps[i].loss, r->steps[i + 8].loss);

    // Mixed with the LM loss and top-k teacher logits: runs and logs the same metrics.
    auto mixed = train::parse_recipe(recipe_json(0.5, 8), "distill.json", {});
    QVERIFY(mixed.is_ok());
    train::TrainOptions m;
    m.run_dir = root_ / "distill-mixed";
    m.max_steps = 4;
    auto rm = train::run_training(*mixed, m);
    QVERIFY2(rm.is_ok(), rm.status().message().c_str());
    QCOMPARE(rm->final_step, int64_t(4));
  }

  void badDistillationRecipesAreRefused() {
    Json base = {{"type", "distill"}, {"model", {{"init_from", (root_ / "student").string()}}},
                 {"teacher", (root_ / "teacher").string()}, {"seq_len", 16}, {"micro_batch_size", 4},
                 {"stages", Json::array({stage(root_ / "pack", 256, 1e-3)})}};
    QVERIFY(train::parse_recipe(base, "d.json", {}).is_ok());
    auto expect = [](Json j, const char* words) {
      auto r = train::parse_recipe(j, "d.json", {});
      QVERIFY(!r.is_ok());
      QVERIFY2(r.status().message().find(words) != std::string::npos, r.status().message().c_str());
    };
    Json j = base;
    j.erase("teacher");
    expect(j, "'teacher'");
    j = base;
    j["teacher"] = (root_ / "nowhere").string();
    expect(j, "no config.json");
    j = base;
    j["distill"] = {{"temperature", 0}};
    expect(j, "distill.temperature");
    j = base;
    j["distill"] = {{"alpha", 1.5}};
    expect(j, "distill.alpha");
    j = base;
    j["distill"] = {{"topk", 3}};
    expect(j, "topk");

    // A teacher with another vocabulary: refused when the run starts, naming both sizes.
    auto c = *model::preset_config("debug");
    c.vocab_size = 600;
    auto other = model::init_model(c, 1);
    QVERIFY(other.is_ok());
    QVERIFY(model::save_model(root_ / "teacher600", *other).is_ok());
    j = base;
    j["teacher"] = (root_ / "teacher600").string();
    auto recipe = train::parse_recipe(j, "d.json", {});
    QVERIFY(recipe.is_ok());
    train::TrainOptions o;
    o.run_dir = root_ / "vocab-run";
    auto r = train::run_training(*recipe, o);
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("vocab_size 600") != std::string::npos, r.status().message().c_str());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestDistill)
#include "test_distill.moc"
