// `kanana serve` (the CLI, with a bearer key and an embedding model) driven by the official
// `openai` npm client (openai_client.mjs) when node and the package are installed
// (scripts/fetch/llama_cpp.sh puts it in the data cache); skipped and says why otherwise.
// The embedding model is the tiny model's weights relabelled kanana2vec (bidirectional).
#include <QtTest>

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QStandardPaths>

#include "serve_test_support.h"
#include "test_main.h"

class TestServeOpenAiNode : public QObject {
  Q_OBJECT

  QTemporaryDir tmp_;

 private Q_SLOTS:
  void openaiClient() {
    const QString node = QStandardPaths::findExecutable("node");
    const QString modules = kanana::test::data_cache() + "/node/node_modules";
    if (node.isEmpty()) QSKIP("node is not installed");
    if (!QFile::exists(modules + "/openai/package.json")) QSKIP("the openai npm package is missing (scripts/fetch/llama_cpp.sh)");
    const QString model = tmp_.path() + "/tiny";
    const QString made = kanana::test::make_serve_model(model);
    if (made == "skip") QSKIP("the Llama 3 tokenizer is not in the data cache (scripts/setup.sh fetches it)");
    QVERIFY2(made.isEmpty(), qPrintable(made));
    // The embedding model: the same files, config.json saying kanana2vec.
    const QString emb = tmp_.path() + "/tiny-embed";
    QVERIFY(QDir().mkpath(emb));
    for (const QString& f : QDir(model).entryList(QDir::Files)) QVERIFY(QFile::copy(model + "/" + f, emb + "/" + f));
    QFile cfg(emb + "/config.json");
    QVERIFY(cfg.open(QIODevice::ReadOnly));
    QJsonObject c = QJsonDocument::fromJson(cfg.readAll()).object();
    cfg.close();
    c["model_type"] = "kanana2vec";
    c["architectures"] = QJsonArray{"Kanana2VecModel"};
    QVERIFY(cfg.open(QIODevice::WriteOnly | QIODevice::Truncate));
    cfg.write(QJsonDocument(c).toJson());
    cfg.close();

    QProcess server;
    server.start(kanana::test::bin_path("kanana"),
                 {"serve", "--model", "tiny=" + model, "--embedding-model", emb, "--port", "0", "--api-key", "k3y",
                  "--weights", "f32", "--threads", "2", "--parallel", "4", "--context", "512"});
    QVERIFY(server.waitForStarted());
    QString url;
    for (int i = 0; i < 600 && url.isEmpty(); ++i) {
      server.waitForReadyRead(100);
      const QString out = QString::fromUtf8(server.readAllStandardOutput()).trimmed();
      if (out.startsWith("http://")) url = out.section('\n', 0, 0);
      if (server.state() != QProcess::Running) break;
    }
    QVERIFY2(!url.isEmpty(), qPrintable("kanana serve did not print its URL: " + QString::fromUtf8(server.readAllStandardError())));

    QProcess client;
    // An .mjs resolves bare imports from its own folder upwards, not NODE_PATH: run a copy in
    // a folder whose node_modules links to the cache's.
    const QString script = tmp_.path() + "/openai_client.mjs";
    QVERIFY(QFile::link(modules, tmp_.path() + "/node_modules"));
    QVERIFY(QFile::copy(kanana::test::source_dir() + "/tests/serve/openai_client.mjs", script));
    client.start(node, {script, url, "k3y", "tiny", "tiny-embed"});
    const bool finished = client.waitForFinished(240000);
    const QString out = QString::fromUtf8(client.readAllStandardOutput());
    const QString err = QString::fromUtf8(client.readAllStandardError());
    server.terminate();  // SIGTERM: the CLI's cancel handler stops the server
    if (!server.waitForFinished(10000)) server.kill();
    QVERIFY2(finished, "the node client did not finish");
    QVERIFY2(client.exitCode() == 0, qPrintable(out + err));
    QVERIFY(out.contains("all ok"));
  }
};

KANANA_TEST_GUILESS_MAIN(TestServeOpenAiNode)
#include "test_serve_openai_node.moc"
