// `kanana tokenize` / `kanana tokenizer train|info` driven as a user would, through QProcess:
// train a tiny model, encode lines to ids, decode them back, and check the error paths.
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "test_support.h"

class TestTokenizeCli : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  QString model_;

  struct Run {
    int code;
    QByteArray out, err;
  };
  Run kanana(const QStringList& args, const QByteArray& input = {}, const QStringList& env = {}) {
    QProcess p;
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    for (const QString& kv : env) e.insert(kv.section('=', 0, 0), kv.section('=', 1));
    p.setProcessEnvironment(e);
    p.start(kanana::test::bin_path("kanana"), args);
    p.write(input);
    p.closeWriteChannel();
    if (!p.waitForFinished(120000)) return {-1, {}, "timeout"};
    return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(QFile::exists(kanana::test::bin_path("kanana")));
    QFile corpus(dir_.path() + "/corpus.txt");
    QVERIFY(corpus.open(QIODevice::WriteOnly));
    for (int i = 0; i < 800; ++i)
      corpus.write(QString("한국어 모델 %1번 문장입니다. English sentence number %2 for the tokenizer.\n")
                       .arg(i % 37).arg(i % 53).toUtf8());
    corpus.close();
    model_ = dir_.path() + "/tiny.model";
    const Run r = kanana({"tokenizer", "train", "--input", corpus.fileName(), "--out", model_, "--vocab-size", "400",
                          "--model-type", "bpe", "--byte-fallback", "--character-coverage", "1.0",
                          "--user-defined-symbols", "<|im_start|>,<|im_end|>"});
    QVERIFY2(r.code == 0, r.err.constData());
    QVERIFY(r.out.contains("wrote"));
    QVERIFY(QFile::exists(model_));
  }

  void info() {
    const Run r = kanana({"tokenizer", "info", model_});
    QVERIFY2(r.code == 0, r.err.constData());
    QVERIFY(r.out.contains("kind: sentencepiece"));
    QVERIFY(r.out.contains("chat template: chatml"));
  }

  void encode_decode_round_trip() {
    const QByteArray text = "한국어 모델 3번 문장입니다.\nEnglish sentence <|im_start|> 漢字\n";
    const Run enc = kanana({"tokenize", "--tokenizer", model_}, text);
    QVERIFY2(enc.code == 0, enc.err.constData());
    const QList<QByteArray> lines = enc.out.trimmed().split('\n');
    QCOMPARE(lines.size(), 2);
    for (const QByteArray& l : lines) QVERIFY(QRegularExpression("^[0-9]+( [0-9]+)*$").match(QString(l)).hasMatch());
    const Run dec = kanana({"tokenize", "--tokenizer", model_, "--decode"}, enc.out);
    QVERIFY2(dec.code == 0, dec.err.constData());
    QCOMPARE(dec.out, text);
    const Run bos = kanana({"tokenize", "--tokenizer", model_, "--add-bos"}, "x\n");
    QVERIFY(bos.out.startsWith("1 "));
  }

  void llama3_cli() {
    const QString dir = kanana::test::data_cache() + "/tokenizers/llama3";
    if (!QFile::exists(dir + "/tokenizer.json")) QSKIP("Llama 3 tokenizer not cached; run scripts/fetch-demo-data.sh");
    const Run enc = kanana({"tokenize", "--tokenizer", dir, "--add-bos"}, "Hello world\n");
    QCOMPARE(enc.code, 0);
    QCOMPARE(enc.out, QByteArray("128000 9906 1917\n"));
    const Run dec = kanana({"tokenize", "--tokenizer", dir, "--decode", "--skip-special"}, "128000 9906 1917\n");
    QCOMPARE(dec.out, QByteArray("Hello world\n"));
  }

  void errors() {
    QCOMPARE(kanana({"tokenize"}).code, 2);  // --tokenizer missing: usage error
    Run r = kanana({"tokenize", "--tokenizer", dir_.path() + "/nope.model"}, "x\n");
    QCOMPARE(r.code, 1);
    QVERIFY(r.err.contains("nope.model"));
    r = kanana({"tokenize", "--tokenizer", model_, "--decode"}, "12 abc\n");
    QVERIFY(r.code != 0);
    QVERIFY(r.err.contains("line 1"));
    r = kanana({"tokenizer", "train", "--input", dir_.path() + "/corpus.txt", "--out", dir_.path() + "/x.model",
                "--model-type", "wordpiece"});
    QCOMPARE(r.code, 2);
    // Without the bridge, SentencePiece fails with a message that says what to do.
    r = kanana({"tokenizer", "info", model_}, {}, {"KANANA_SPM_BRIDGE=/nonexistent/libkanana_spm_bridge.so"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("SentencePiece bridge not found"), r.err.constData());
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestTokenizeCli)
#include "test_tokenize_cli.moc"
