// The trainer's building blocks against independent computations: AdamW (both weight-decay
// modes) and CE + z-loss vs PyTorch (Debian's python3-torch via reference_train.py), LR
// schedules at their defining points, and recipe errors that name the field.
#include <torch/torch.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <fstream>

#include "base/json.h"
#include "test_support.h"
#include "train/losses.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"
#include "train/recipe.h"

using namespace kanana;
using namespace kanana::train;

namespace {

std::vector<float> flat(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kFloat32).contiguous().reshape({-1});
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

Json nested(const torch::Tensor& t) {
  if (t.dim() == 1) return Json(flat(t));
  Json a = Json::array();
  for (int64_t i = 0; i < t.size(0); ++i) a.push_back(nested(t[i]));
  return a;
}

double max_abs_diff(const std::vector<float>& a, const Json& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i].get<double>()));
  return a.size() == b.size() ? m : 1e9;
}

}  // namespace

class TestTrainCore : public QObject {
  Q_OBJECT
 private:
  Json reference_;
  torch::Tensor p0_, p1_;
  std::vector<std::vector<torch::Tensor>> grads_;
  std::vector<double> lrs_ = {1e-3, 5e-3, 2e-3, 1e-2, 3e-3};
  torch::Tensor logits_, targets_;
  AdamWOptions adamw_;

 private Q_SLOTS:
  void initTestCase() {
    torch::set_num_threads(1);
    torch::manual_seed(7);
    p0_ = torch::randn({3, 4});
    p1_ = torch::randn({4});
    for (size_t s = 0; s < lrs_.size(); ++s) grads_.push_back({torch::randn({3, 4}), torch::randn({4})});
    logits_ = torch::randn({2, 5, 11}) * 3;
    targets_ = torch::randint(0, 11, {2, 5});
    targets_[0][1] = -100;
    targets_[1][4] = -100;
    adamw_.beta1 = 0.9;
    adamw_.beta2 = 0.95;
    adamw_.eps = 1e-8;
    adamw_.weight_decay = 0.1;  // large so a wrong decay formula shows
    adamw_.skip_1d_decay = false;

    if (!QFile::exists("/usr/bin/python3")) QSKIP("/usr/bin/python3 (python3-torch) is not installed");
    Json job = {{"adamw", {{"params", {nested(p0_), nested(p1_)}}, {"lrs", lrs_}, {"beta1", adamw_.beta1},
                           {"beta2", adamw_.beta2}, {"eps", adamw_.eps}, {"weight_decay", adamw_.weight_decay}}},
                {"loss", {{"logits", nested(logits_)}, {"targets", nested(targets_.to(torch::kFloat32))}, {"coeff", 1e-2}}}};
    // Grad tensors go as nested lists of their own shapes.
    job["adamw"]["grads"] = Json::array();
    for (auto& g : grads_) job["adamw"]["grads"].push_back({nested(g[0]), nested(g[1])});
    // Targets must be integers in Python.
    Json t = Json::array();
    for (int64_t i = 0; i < targets_.size(0); ++i) {
      Json row = Json::array();
      for (int64_t j = 0; j < targets_.size(1); ++j) row.push_back(targets_[i][j].item<int64_t>());
      t.push_back(row);
    }
    job["loss"]["targets"] = t;
    QTemporaryDir dir;
    const std::string in = (dir.path() + "/job.json").toStdString(), out = (dir.path() + "/out.json").toStdString();
    std::ofstream(in) << job.dump();
    QProcess py;
    py.start("/usr/bin/python3", {kanana::test::source_dir() + "/tests/train/reference_train.py", QString::fromStdString(in),
                                  QString::fromStdString(out)});
    QVERIFY(py.waitForFinished(120000));
    if (py.exitCode() != 0 && py.readAllStandardError().contains("No module named 'torch'"))
      QSKIP("/usr/bin/python3 has no torch (install python3-torch)");
    QCOMPARE(py.exitCode(), 0);
    auto parsed = read_json_file(out);
    QVERIFY(parsed.is_ok());
    reference_ = *parsed;
  }

  void adamwMatchesPyTorch_data() {
    QTest::addColumn<QString>("mode");
    QTest::newRow("coupled (torch.optim.AdamW)") << "coupled";
    QTest::newRow("independent (Kanana)") << "independent";
  }
  void adamwMatchesPyTorch() {
    QFETCH(QString, mode);
    AdamWOptions o = adamw_;
    o.decay_mode = *parse_weight_decay_mode(mode.toStdString());
    torch::Tensor a = p0_.clone(), b = p1_.clone();
    AdamW opt({{"a", a}, {"b", b}}, o);
    for (size_t s = 0; s < lrs_.size(); ++s) {
      a.mutable_grad() = grads_[s][0].clone();
      b.mutable_grad() = grads_[s][1].clone();
      opt.step(lrs_[s]);
    }
    QCOMPARE(opt.step_count(), int64_t(lrs_.size()));
    const Json& want = reference_["adamw_" + mode.toStdString()];
    QVERIFY2(max_abs_diff(flat(a), want[0]) < 1e-6, mode.toUtf8());
    QVERIFY(max_abs_diff(flat(b), want[1]) < 1e-6);
    // The two modes really differ (the test would not notice a swapped formula otherwise).
    const Json& other = reference_[mode == "coupled" ? "adamw_independent" : "adamw_coupled"];
    QVERIFY(max_abs_diff(flat(a), other[0]) > 1e-3);
  }

  void adamwStateRoundTrip() {
    torch::Tensor a = p0_.clone();
    AdamW opt({{"a", a}}, adamw_);
    a.mutable_grad() = grads_[0][0].clone();
    opt.step(1e-2);
    auto st = opt.state_tensors();
    QCOMPARE(st.size(), size_t(2));
    QCOMPARE(st[0].first, std::string("exp_avg.a"));
    torch::Tensor a2 = p0_.clone();
    AdamW opt2({{"a", a2}}, adamw_);
    std::map<std::string, torch::Tensor> saved;
    for (auto& [n, t] : st) saved[n] = t.clone();
    QVERIFY(opt2.load_state([&](const std::string& n) -> Result<torch::Tensor> { return saved.at(n); }, 1).is_ok());
    a2.copy_(a);
    a.mutable_grad() = grads_[1][0].clone();
    a2.mutable_grad() = grads_[1][0].clone();
    opt.step(1e-2);
    opt2.step(1e-2);
    QVERIFY(torch::equal(a, a2));
    // Shape mismatch is an error naming the tensor.
    Status bad = opt2.load_state([&](const std::string&) -> Result<torch::Tensor> { return torch::zeros({2}); }, 1);
    QVERIFY(!bad.is_ok());
    QVERIFY(QString::fromStdString(bad.message()).contains("exp_avg.a"));
  }

  void lossMatchesPyTorch_data() {
    QTest::addColumn<bool>("bf16");
    QTest::newRow("fp32 logits") << false;
    QTest::newRow("bf16 logits") << true;
  }
  void lossMatchesPyTorch() {
    QFETCH(bool, bf16);
    torch::Tensor logits = (bf16 ? logits_.to(torch::kBFloat16) : logits_.clone()).requires_grad_(true);
    LossOutput lo = causal_lm_loss(logits, targets_, 1e-2);
    QCOMPARE(lo.tokens, int64_t(8));
    QCOMPARE(lo.loss.scalar_type(), torch::kFloat32);
    lo.loss.backward();
    const Json& want = reference_[bf16 ? "loss_bf16" : "loss_fp32"];
    QVERIFY(std::abs(lo.ce.item<double>() - want["ce"].get<double>()) < 1e-5);
    QVERIFY(std::abs(lo.z_loss.item<double>() - want["z_loss"].get<double>()) < 1e-6);
    QVERIFY(std::abs(lo.loss.item<double>() - want["loss"].get<double>()) < 1e-5);
    // bf16 logits get a bf16 gradient; compare it at bf16 resolution.
    QVERIFY(max_abs_diff(flat(logits.grad()), want["grad"]) < (bf16 ? 2e-3 : 1e-6));
  }

  void lrSchedules() {
    LrSchedule s;
    s.peak_lr = 1.0;
    s.warmup_steps = 10;
    s.min_lr_ratio = 0.1;
    s.kind = "cosine";
    QCOMPARE(lr_at(s, 0, 110), 0.1);
    QCOMPARE(lr_at(s, 9, 110), 1.0);
    QVERIFY(std::abs(lr_at(s, 10, 110) - 1.0) < 1e-12);
    QVERIFY(std::abs(lr_at(s, 109, 110) - 0.1) < 1e-12);
    QVERIFY(std::abs(lr_at(s, 10 + 99 / 2.0, 110) - 0.55) < 0.02);
    s.kind = "multistep";  // DeepSeek: 100% to 80% of steps, 31.6% to 90%, then 10%
    s.warmup_steps = 0;
    QCOMPARE(lr_at(s, 79, 100), 1.0);
    QCOMPARE(lr_at(s, 80, 100), 0.316);
    QCOMPARE(lr_at(s, 89, 100), 0.316);
    QCOMPARE(lr_at(s, 90, 100), 0.1);
    QCOMPARE(lr_at(s, 99, 100), 0.1);
    s.kind = "wsd";
    s.decay_fraction = 0.2;
    QCOMPARE(lr_at(s, 79, 100), 1.0);
    QVERIFY(lr_at(s, 90, 100) < 1.0 && lr_at(s, 90, 100) > 0.1);
    QVERIFY(std::abs(lr_at(s, 99, 100) - 0.1) < 1e-12);
    s.kind = "linear";
    QVERIFY(std::abs(lr_at(s, 99, 100) - 0.1) < 1e-12);
    s.kind = "constant";
    QCOMPARE(lr_at(s, 99, 100), 1.0);
    auto bad = parse_lr_schedule(Json{{"kind", "cosine"}, {"peak_lr", -1}}, "r.json", "stages[0].schedule");
    QVERIFY(!bad.is_ok());
    QVERIFY(QString::fromStdString(bad.status().message()).contains("stages[0].schedule.peak_lr"));
  }

  void recipeErrorsNameTheField_data() {
    QTest::addColumn<QString>("patch");
    QTest::addColumn<QString>("field");
    QTest::newRow("type") << R"({"type": "rlhf"})" << "'type'";
    QTest::newRow("seq_len") << R"({"seq_len": 0})" << "'seq_len'";
    QTest::newRow("unknown key") << R"({"learning_rate": 1})" << "learning_rate";
    QTest::newRow("decay mode") << R"({"optimizer": {"weight_decay_mode": "lr"}})" << "optimizer.weight_decay_mode";
    QTest::newRow("schedule kind") << R"({"stages": [{"name": "s", "token_budget": 100, "sources": [{"name": "a", "path": "p", "weight": 1}], "schedule": {"kind": "step"}}]})"
                                   << "stages[0].schedule.kind";
    QTest::newRow("missing schedule") << R"({"stages": [{"name": "s", "token_budget": 100, "sources": [{"name": "a", "path": "p", "weight": 1}]}]})"
                                      << "stages[0].schedule";
    QTest::newRow("budget") << R"({"stages": [{"name": "s", "token_budget": "lots", "sources": [{"name": "a", "path": "p", "weight": 1}], "schedule": {}}]})"
                            << "stages[0].token_budget";
    QTest::newRow("keep_last") << R"({"checkpoint": {"keep_last": 0}})" << "checkpoint.keep_last";
    QTest::newRow("max_bad_steps") << R"({"runtime": {"max_bad_steps": 0}})" << "runtime.max_bad_steps";
  }
  void recipeErrorsNameTheField() {
    QFETCH(QString, patch);
    QFETCH(QString, field);
    Json stage = {{"name", "s1"}, {"token_budget", "1K"},
                  {"sources", Json::array({Json{{"name", "a"}, {"path", "packs/a"}, {"weight", 1.0}}})},
                  {"schedule", {{"kind", "cosine"}, {"peak_lr", 1e-3}}}};
    Json good = {{"type", "pretrain"}, {"model", {{"preset", "debug"}}}, {"stages", Json::array({stage})}};
    auto ok = parse_recipe(good, "recipe.json", "/base");
    QVERIFY2(ok.is_ok(), ok.status().message().c_str());
    QCOMPARE(ok->stages[0].token_budget, uint64_t(1000));
    QCOMPARE(ok->stages[0].sources[0].path, std::filesystem::path("/base/packs/a"));
    QCOMPARE(ok->validation.packs.size(), size_t(1));  // defaults to the first stage's sources
    QCOMPARE(ok->z_loss, 5e-6);
    QCOMPARE(ok->optimizer.weight_decay, 1e-4);
    QVERIFY(ok->optimizer.decay_mode == WeightDecayMode::kIndependent);
    Json bad = good;
    bad.merge_patch(*parse_json(patch.toStdString(), "patch"));
    auto r = parse_recipe(bad, "recipe.json", "/base");
    QVERIFY(!r.is_ok());
    const QString msg = QString::fromStdString(r.status().message());
    QVERIFY2(msg.contains("recipe.json") && msg.contains(field), msg.toUtf8());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestTrainCore)
#include "test_train_core.moc"
