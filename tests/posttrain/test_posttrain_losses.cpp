// DPO (sigmoid, conservative/label-smoothed, IPO), Bradley–Terry and sequence log-probs:
// values and gradients against an independent PyTorch computation (reference_posttrain.py,
// Debian's python3-torch, float64) on fixed log-probs.
#include <torch/torch.h>

#include <QFile>
#include <QProcess>
#include <QtTest>

#include "base/json.h"
#include "posttrain/losses.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::posttrain;

namespace {

const std::vector<double> kPolicyChosen = {-12.5, -30.25, -4.0, -55.0, -7.75, -20.0};
const std::vector<double> kPolicyRejected = {-14.0, -28.5, -9.5, -40.0, -7.75, -26.0};
const std::vector<double> kRefChosen = {-13.0, -29.0, -6.0, -50.0, -8.0, -21.0};
const std::vector<double> kRefRejected = {-13.5, -29.5, -8.0, -45.0, -7.5, -22.5};

struct Case {
  const char* name;
  DpoLossType type;
  double beta, smoothing;
};
const Case kCases[] = {{"sigmoid", DpoLossType::kSigmoid, 0.1, 0.0},
                       {"sigmoid_beta2", DpoLossType::kSigmoid, 2.0, 0.0},  // |βh| up to 40: stability
                       {"cdpo", DpoLossType::kSigmoid, 0.5, 0.2},
                       {"ipo", DpoLossType::kIpo, 0.1, 0.0}};

torch::Tensor vec(const std::vector<double>& v, bool grad = false) {
  return torch::tensor(v, torch::kFloat64).to(torch::kFloat32).set_requires_grad(grad);
}

void compare(const torch::Tensor& got, const Json& want, double tol, const char* what) {
  auto g = got.to(torch::kFloat64).reshape({-1});
  QCOMPARE(g.numel(), int64_t(want.size()));
  for (int64_t i = 0; i < g.numel(); ++i) {
    const double a = g[i].item<double>(), b = want[size_t(i)].get<double>();
    QVERIFY2(std::abs(a - b) <= tol * (1.0 + std::abs(b)),
             (std::string(what) + "[" + std::to_string(i) + "]: " + std::to_string(a) + " vs reference " + std::to_string(b)).c_str());
  }
}

}  // namespace

class TestPosttrainLosses : public QObject {
  Q_OBJECT
  Json ref_;
  Json job_;

 private Q_SLOTS:
  void initTestCase() {
    if (!QFile::exists("/usr/bin/python3")) QSKIP("/usr/bin/python3 (python3-torch) is not installed");
    job_["dpo"] = Json::array();
    for (const auto& c : kCases)
      job_["dpo"].push_back({{"name", c.name}, {"type", dpo_loss_type_name(c.type)}, {"beta", c.beta},
                             {"label_smoothing", c.smoothing}, {"policy_chosen", kPolicyChosen},
                             {"policy_rejected", kPolicyRejected}, {"reference_chosen", kRefChosen},
                             {"reference_rejected", kRefRejected}});
    job_["bradley_terry"] = {{"chosen", {0.5, -1.25, 3.0, 0.0, 12.0}}, {"rejected", {0.25, 1.0, -2.0, 0.0, -9.0}}};
    torch::manual_seed(11);
    auto logits = torch::randn({2, 5, 7}, torch::kFloat64) * 3.0;
    std::vector<double> flat(logits.data_ptr<double>(), logits.data_ptr<double>() + logits.numel());
    Json lj = Json::array();
    for (int b = 0; b < 2; ++b) {
      Json row = Json::array();
      for (int t = 0; t < 5; ++t) row.push_back(std::vector<double>(flat.begin() + (b * 5 + t) * 7, flat.begin() + (b * 5 + t + 1) * 7));
      lj.push_back(row);
    }
    job_["sequence"] = {{"logits", lj}, {"labels", {{-100, -100, 3, 6, 0}, {-100, 2, -100, 5, -100}}}, {"weights", {1.0, -2.0}}};

    const QString dir = QDir::tempPath();
    const std::string in = dir.toStdString() + "/posttrain_losses_job.json", out = dir.toStdString() + "/posttrain_losses_ref.json";
    QVERIFY(write_json_file(in, job_).is_ok());
    QProcess py;
    py.start("/usr/bin/python3", {test::source_dir() + "/tests/posttrain/reference_posttrain.py", QString::fromStdString(in),
                                  QString::fromStdString(out)});
    QVERIFY(py.waitForFinished(120000));
    if (py.exitCode() != 0 && py.readAllStandardError().contains("No module named 'torch'"))
      QSKIP("/usr/bin/python3 has no torch (install python3-torch)");
    QVERIFY2(py.exitCode() == 0, py.readAllStandardError().constData());
    auto r = read_json_file(out);
    QVERIFY(r.is_ok());
    ref_ = *r;
  }

  void dpoLossesAndGradientsMatchPyTorch() {
    for (const auto& c : kCases) {
      const Json& want = ref_[c.name];
      auto pc = vec(kPolicyChosen, true), pr = vec(kPolicyRejected, true);
      DpoOptions o;
      o.beta = c.beta;
      o.label_smoothing = c.smoothing;
      o.type = c.type;
      auto d = dpo_loss(pc, pr, vec(kRefChosen), vec(kRefRejected), o);
      d.loss.backward();
      qInfo("%s: loss %.6f (reference %.6f)", c.name, d.loss.item<double>(), want["loss"].get<double>());
      compare(d.loss, Json::array({want["loss"]}), 1e-5, "loss");
      compare(d.losses, want["losses"], 1e-5, "losses");
      compare(pc.grad(), want["grad_chosen"], 1e-5, "d loss / d logπ(chosen)");
      compare(pr.grad(), want["grad_rejected"], 1e-5, "d loss / d logπ(rejected)");
      compare(d.chosen_rewards, want["chosen_rewards"], 1e-5, "chosen rewards");
      compare(d.rejected_rewards, want["rejected_rewards"], 1e-5, "rejected rewards");
      compare(d.margins, want["margins"], 1e-5, "margins");
      compare(d.accuracy, Json::array({want["accuracy"]}), 1e-6, "accuracy");
      QVERIFY(!d.chosen_rewards.requires_grad());
      QVERIFY(std::isfinite(d.loss.item<double>()));
    }
  }

  void bradleyTerryMatchesPyTorch() {
    const Json& want = ref_["bradley_terry"];
    auto c = vec(job_["bradley_terry"]["chosen"].get<std::vector<double>>(), true);
    auto r = vec(job_["bradley_terry"]["rejected"].get<std::vector<double>>(), true);
    auto l = bradley_terry_loss(c, r);
    l.loss.backward();
    compare(l.loss, Json::array({want["loss"]}), 1e-5, "loss");
    compare(c.grad(), want["grad_chosen"], 1e-5, "d loss / d r_c");
    compare(r.grad(), want["grad_rejected"], 1e-5, "d loss / d r_r");
    compare(l.accuracy, Json::array({want["accuracy"]}), 1e-6, "accuracy");
  }

  void sequenceLogprobsMatchPyTorch() {
    const Json& want = ref_["sequence"];
    std::vector<double> flat;
    for (const auto& row : job_["sequence"]["logits"])
      for (const auto& pos : row)
        for (const auto& v : pos) flat.push_back(v.get<double>());
    auto logits = torch::tensor(flat, torch::kFloat64).reshape({2, 5, 7}).to(torch::kFloat32).set_requires_grad(true);
    std::vector<int64_t> lab;
    for (const auto& row : job_["sequence"]["labels"])
      for (const auto& v : row) lab.push_back(v.get<int64_t>());
    auto labels = torch::tensor(lab, torch::kInt64).reshape({2, 5});
    torch::Tensor counts;
    auto lp = sequence_logprobs(logits, labels, &counts);
    (lp * torch::tensor({1.0f, -2.0f})).sum().backward();
    compare(lp, want["logps"], 1e-5, "sequence log-probs");
    compare(logits.grad(), want["grad"], 1e-5, "d / d logits");
    QCOMPARE(counts[0].item<float>(), 3.0f);
    QCOMPARE(counts[1].item<float>(), 2.0f);
    // bf16 logits are upcast: same result within bf16 rounding of the inputs.
    auto lp16 = sequence_logprobs(logits.detach().to(torch::kBFloat16), labels);
    QVERIFY((lp16 - lp.detach()).abs().max().item<double>() < 0.2);
  }

  void lossTypeNames() {
    QVERIFY(parse_dpo_loss_type("sigmoid").is_ok());
    QVERIFY(parse_dpo_loss_type("ipo").is_ok());
    QVERIFY(!parse_dpo_loss_type("hinge").is_ok());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestPosttrainLosses)
#include "test_posttrain_losses.moc"
