// The Playground's Serve mode offscreen: on a tiny model (debug preset, the Llama 3 tokenizer)
// the panel starts `kanana serve` on a free port, shows its URL, answers a chat request, shows
// the tokens it generated from the server's /health, and stops it.
#include <httplib.h>

#include <QApplication>
#include <QComboBox>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QUrl>
#include <QtTest>

#include "base/json.h"
#include "playground_widgets.h"
#include "serve_panel.h"
#include "serve_process.h"
#include "test_main.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::playground;

class TestPlaygroundServe : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;

 private Q_SLOTS:
  void serveModeStartsAnswersAndStops() {
    const QString tokenizer = test::data_cache() + "/tokenizers/llama3";
    if (!QFile::exists(tokenizer + "/tokenizer.json")) QSKIP("the Llama 3 tokenizer is not in the data cache");
    const QString model = tmp_.path() + "/tiny";
    auto init = test::run_kanana({"model", "init", "--preset", "debug", "--tokenizer", tokenizer, "--out", model});
    QVERIFY2(init.code == 0, qPrintable(init.err));

    ServeSettings s;
    s.modelDir = model;
    s.weights = "f32";
    s.port = 0;
    QCOMPARE(ServeProcess::arguments(s).join(' '),
             QString("serve --model %1 --weights f32 --parallel 4 --port 0").arg(model));

    ServePanel panel(nullptr);
    panel.picker()->setCurrentDir(model);
    panel.findChild<QComboBox*>("serveWeights")->setCurrentText("f32");
    panel.findChild<QSpinBox*>("servePort")->setValue(0);
    auto* start = panel.findChild<QPushButton*>("serveStart");
    auto* url = panel.findChild<QLabel*>("serveUrl");
    auto* stats = panel.findChild<QLabel*>("serveStats");
    auto* state = panel.findChild<QLabel*>("serveState");
    QVERIFY(start->isEnabled());
    qputenv("KANANA_BINARY", test::bin_path("kanana").toUtf8());
    start->click();
    QTRY_VERIFY_WITH_TIMEOUT(url->text().startsWith("http://127.0.0.1:"), 60000);
    QVERIFY(!start->isEnabled());

    const QUrl u(url->text());
    httplib::Client client(u.host().toStdString(), u.port());
    client.set_read_timeout(60, 0);
    const Json body = {{"model", "tiny"}, {"messages", Json::array({{{"role", "user"}, {"content", "Hi"}}})},
                       {"max_tokens", 5}, {"temperature", 0}};
    auto r = client.Post("/v1/chat/completions", body.dump(), "application/json");
    QVERIFY(r);
    QVERIFY2(r->status == 200, r->body.c_str());
    QTRY_VERIFY_WITH_TIMEOUT(stats->text().contains("5 tokens generated"), 10000);

    panel.findChild<QPushButton*>("serveStop")->click();
    QTRY_VERIFY_WITH_TIMEOUT(!panel.process()->isRunning(), 10000);
    QCOMPARE(state->text(), QString("stopped"));
    QVERIFY(url->text().isEmpty());
    QVERIFY(start->isEnabled());
  }
};

KANANA_TEST_MAIN(TestPlaygroundServe)
#include "test_playground_serve.moc"
