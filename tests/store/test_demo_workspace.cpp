// The first-start demo workspace: registers what the data cache holds (corpora, HF and
// SentencePiece tokenizers, checkpoints with weights), idempotently, and nothing invented.
#include <QtTest>

#include "base/json.h"
#include "store/demo_workspace.h"
#include "store/workspace.h"
#include "test_support.h"
#include "test_support_store.h"

using namespace kanana;
using namespace kanana::store;
using kanana::test::to_path;
using kanana::test::write_bytes;
namespace fs = std::filesystem;

namespace {

// A SentencePiece ModelProto with `n` pieces: field 1 = SentencePiece{piece, score, type},
// then a trainer_spec (field 2) so the walker must skip other fields too.
QByteArray spm_model(int n) {
  QByteArray out;
  for (int i = 0; i < n; ++i) {
    QByteArray piece;
    const QByteArray text = QByteArray("▁p") + QByteArray::number(i);
    piece.append(char(0x0A)).append(char(text.size())).append(text);
    piece.append(char(0x15)).append(QByteArray(4, '\0'));  // score (fixed32)
    piece.append(char(0x18)).append(char(1));               // type NORMAL (varint)
    out.append(char(0x0A)).append(char(piece.size())).append(piece);
  }
  out.append(char(0x12)).append(char(2)).append(char(0x28)).append(char(n));  // trainer_spec.vocab_size
  return out;
}

const char* kTinyHfTokenizer = R"({"version": "1.0", "added_tokens": [{"id": 5, "content": "<|end|>", "special": true}],
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "한": 3, "국": 4}, "merges": ["a b"]}})";

}  // namespace

class TestDemoWorkspace : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;

 private Q_SLOTS:
  void registersCacheContentsOnce() {
    const fs::path cache = to_path(tmp_.path()) / "cache";
    fs::create_directories(cache / "corpora");
    fs::create_directories(cache / "tokenizers/tiny");
    fs::create_directories(cache / "tokenizers/spm");
    fs::create_directories(cache / "models/tiny-llama");
    fs::create_directories(cache / "models/no-weights");
    write_bytes(cache / "corpora/ko-wiki.jsonl", "{\"text\": \"안녕\"}\n\n{\"text\": \"세계\"}\n{\"text\": \"끝\"}");
    write_bytes(cache / "corpora/notes.txt", "not a corpus");
    write_bytes(cache / "tokenizers/tiny/tokenizer.json", kTinyHfTokenizer);
    write_bytes(cache / "tokenizers/spm/tiny.model", spm_model(7));
    write_bytes(cache / "tokenizers/spm/broken.model", QByteArray("\x0a\x7f short", 8));
    write_bytes(cache / "models/tiny-llama/config.json", "{\"model_type\": \"llama\", \"hidden_size\": 64}");
    write_bytes(cache / "models/tiny-llama/model.safetensors", QByteArray(16, '\0'));
    write_bytes(cache / "models/tiny-llama/tokenizer.json", kTinyHfTokenizer);
    write_bytes(cache / "models/no-weights/config.json", "{}");

    const fs::path dir = to_path(tmp_.path()) / "demo";
    DemoScan scan;
    auto root = ensure_demo_workspace(dir, cache, &scan);
    QVERIFY2(root.is_ok(), root.status().to_string().c_str());
    QVERIFY(scan.created);
    QCOMPARE(scan.skipped.size(), size_t(1));
    QVERIFY2(scan.skipped[0].find("broken.model") != std::string::npos, scan.skipped[0].c_str());

    auto ws = Workspace::open(*root);
    QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
    auto datasets = (*ws)->list_datasets();
    QCOMPARE(datasets->size(), size_t(1));
    QCOMPARE(datasets->front().name, std::string("ko-wiki"));
    QCOMPARE(datasets->front().doc_count, int64_t(3));  // the blank line is not a document
    QCOMPARE(datasets->front().byte_count, int64_t(fs::file_size(cache / "corpora/ko-wiki.jsonl")));

    auto tokenizers = (*ws)->list_tokenizers();
    QCOMPARE(tokenizers->size(), size_t(2));
    QCOMPARE(tokenizers->at(0).name, std::string("tiny"));
    QCOMPARE(tokenizers->at(0).kind, std::string("hf-bpe"));
    QCOMPARE(tokenizers->at(0).vocab_size, int64_t(6));  // 5 vocab entries + 1 added token
    QCOMPARE(tokenizers->at(1).name, std::string("spm/tiny"));
    QCOMPARE(tokenizers->at(1).kind, std::string("sentencepiece"));
    QCOMPARE(tokenizers->at(1).vocab_size, int64_t(7));
    QCOMPARE(tokenizers->at(0).fingerprint.size(), size_t(16));

    auto checkpoints = (*ws)->list_checkpoints();
    QCOMPARE(checkpoints->size(), size_t(1));  // no-weights has no model.safetensors
    QCOMPARE(checkpoints->front().name, std::string("tiny-llama"));
    QVERIFY(!checkpoints->front().run_id.has_value());
    QCOMPARE((*ws)->list_runs()->size(), size_t(0));  // no invented runs
    auto up = (*ws)->lineage_upstream({"checkpoint", checkpoints->front().id});
    QCOMPARE(up->size(), size_t(1));
    QCOMPARE(up->front().node, (NodeRef{"tokenizer", tokenizers->at(0).id}));
    ws->reset();

    // Second start: nothing new, nothing duplicated; a new corpus is picked up.
    write_bytes(cache / "corpora/en-news.jsonl", "{\"text\": \"hello\"}\n");
    DemoScan again;
    auto root2 = ensure_demo_workspace(dir, cache, &again);
    QVERIFY2(root2.is_ok(), root2.status().to_string().c_str());
    QVERIFY(!again.created);
    QCOMPARE(again.added.size(), size_t(1));
    QCOMPARE(again.added.front(), std::string("dataset en-news"));
    auto reopened = Workspace::open(dir);
    QCOMPARE((*reopened)->list_tokenizers()->size(), size_t(2));
    QCOMPARE((*reopened)->list_checkpoints()->size(), size_t(1));
    QCOMPARE((*reopened)->list_datasets()->size(), size_t(2));
  }

  void registersTheRealDataCache() {
    const fs::path cache = to_path(kanana::test::data_cache());
    if (!fs::is_directory(cache / "tokenizers"))
      QSKIP("no demo data cache (run scripts/fetch-demo-data.sh or set KANANA_DATA_CACHE)");
    const fs::path dir = to_path(tmp_.path()) / "real-demo";
    DemoScan scan;
    auto root = ensure_demo_workspace(dir, cache, &scan);
    QVERIFY2(root.is_ok(), root.status().to_string().c_str());
    auto ws = Workspace::open(*root, {.read_only = true});
    QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
    auto tokenizers = (*ws)->list_tokenizers();
    QVERIFY(!tokenizers->empty());
    for (const auto& t : *tokenizers) {
      QVERIFY2(t.vocab_size > 0, t.name.c_str());
      QVERIFY(fs::exists(t.path));
      // Known vocabularies: Llama 3 has 128256 ids (128000 BPE + 256 special).
      if (t.name == "llama3") QCOMPARE(t.vocab_size, int64_t(128256));
    }
  }

  void defaultLocationsFollowTheEnvironment() {
    qputenv("KANANA_DEMO_WORKSPACE", "/tmp/kanana-demo-x");
    QCOMPARE(default_demo_workspace_dir(), fs::path("/tmp/kanana-demo-x"));
    qunsetenv("KANANA_DEMO_WORKSPACE");
    QVERIFY(default_demo_workspace_dir().string().find("kanana-workbench/demo") != std::string::npos);
    qputenv("KANANA_DATA_CACHE", "/tmp/kanana-cache-x");
    QCOMPARE(default_data_cache(), fs::path("/tmp/kanana-cache-x"));
    qunsetenv("KANANA_DATA_CACHE");
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestDemoWorkspace)
#include "test_demo_workspace.moc"
