// Activation checkpointing recomputes each decoder layer in backward: the loss and every
// parameter gradient must equal the plain forward/backward exactly (also under bf16
// autocast), and nothing changes for inference.
#include <torch/torch.h>

#include <ATen/autocast_mode.h>
#include <QtTest>

#include "model/activation_checkpointing.h"
#include "model/llama.h"
#include "model/presets.h"

using namespace kanana;
using namespace kanana::model;

namespace {

struct Pass {
  double loss = 0;
  std::vector<torch::Tensor> grads;
};

Pass run(LlamaForCausalLM& m, const torch::Tensor& ids, bool checkpoint, bool autocast) {
  for (auto& p : m->parameters()) p.mutable_grad() = torch::Tensor();
  ActivationCheckpointing scope(checkpoint);
  if (autocast) {
    at::autocast::set_autocast_cpu_dtype(torch::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
  auto logits = m->forward(ids.narrow(1, 0, ids.size(1) - 1)).logits.to(torch::kFloat32);
  if (autocast) {
    at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
  }
  auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                                   ids.narrow(1, 1, ids.size(1) - 1).reshape({-1}));
  loss.backward();
  Pass p;
  p.loss = loss.item<double>();
  for (auto& t : m->parameters()) p.grads.push_back(t.grad().clone());
  return p;
}

}  // namespace

class TestActivationCheckpointing : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { torch::set_num_threads(1); }

  void gradientsEqualThePlainBackward_data() {
    QTest::addColumn<bool>("autocast");
    QTest::newRow("fp32") << false;
    QTest::newRow("bf16-autocast") << true;
  }
  void gradientsEqualThePlainBackward() {
    QFETCH(bool, autocast);
    auto config = preset_config("debug");
    QVERIFY(config.is_ok());
    QVERIFY(config->num_hidden_layers >= 2);
    auto model = init_model(*config, 7);
    QVERIFY(model.is_ok());
    auto m = *model;
    m->train();
    torch::manual_seed(1);
    auto ids = torch::randint(0, config->vocab_size, {2, 17}, torch::kInt64);
    const Pass plain = run(m, ids, false, autocast);
    const Pass ckpt = run(m, ids, true, autocast);
    QCOMPARE(ckpt.loss, plain.loss);
    QCOMPARE(ckpt.grads.size(), plain.grads.size());
    for (size_t i = 0; i < plain.grads.size(); ++i) {
      QVERIFY(plain.grads[i].abs().sum().item<double>() > 0);
      QVERIFY2(torch::equal(ckpt.grads[i], plain.grads[i]), ("parameter " + std::to_string(i)).c_str());
    }
  }

  void scopeIsThreadLocalAndRestored() {
    QVERIFY(!ActivationCheckpointing::enabled());
    {
      ActivationCheckpointing a(true);
      QVERIFY(ActivationCheckpointing::enabled());
      {
        ActivationCheckpointing b(false);
        QVERIFY(!ActivationCheckpointing::enabled());
      }
      QVERIFY(ActivationCheckpointing::enabled());
    }
    QVERIFY(!ActivationCheckpointing::enabled());
  }

  void inferenceIsUnchanged() {
    auto config = preset_config("debug");
    auto m = *init_model(*config, 3);
    auto ids = torch::randint(0, config->vocab_size, {1, 9}, torch::kInt64);
    torch::NoGradGuard no_grad;
    auto a = m->forward(ids).logits;
    ActivationCheckpointing scope(true);
    auto b = m->forward(ids).logits;
    QVERIFY(torch::equal(a, b));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestActivationCheckpointing)
#include "test_activation_checkpointing.moc"
