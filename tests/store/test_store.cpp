// Workspace store: create/reopen, migrations (v0, v1 → latest, with backup), refusal of newer
// schemas and corrupt files without touching them, read-only opens, foreign keys, run state
// transitions, lineage walks, WAL with concurrent readers, annotation records.
#include <QtTest>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "store/database.h"
#include "store/migrations.h"
#include "store/workspace.h"
#include "test_support_store.h"

using namespace kanana;
using namespace kanana::store;
using kanana::test::file_sha256;
using kanana::test::folder_listing;
using kanana::test::to_path;
using kanana::test::write_bytes;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

#define EXPECT_OK(expr)                                        \
  do {                                                         \
    const auto& s_ = (expr);                                   \
    QVERIFY2(s_.is_ok(), s_.status().to_string().c_str());     \
  } while (0)
#define EXPECT_STATUS_OK(expr)                                 \
  do {                                                         \
    const ::kanana::Status s_ = (expr);                        \
    QVERIFY2(s_.is_ok(), s_.to_string().c_str());              \
  } while (0)

DatasetRecord dataset(const std::string& name, const std::string& meta = "{}") {
  DatasetRecord d;
  d.name = name;
  d.path = "data/" + name + ".jsonl";
  d.format = "jsonl";
  d.doc_count = 3;
  d.byte_count = 120;
  d.meta_json = meta;
  return d;
}

}  // namespace

class TestStore : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  int counter_ = 0;
  fs::path fresh_dir() { return to_path(tmp_.path()) / ("ws" + std::to_string(++counter_)); }

 private Q_SLOTS:
  void createThenReopen() {
    const fs::path dir = fresh_dir();
    {
      auto ws = Workspace::create(dir, "alpha");
      EXPECT_OK(ws);
      QCOMPARE((*ws)->name(), std::string("alpha"));
      for (const fs::path& p : {(*ws)->data_dir(), (*ws)->runs_dir(), (*ws)->models_dir(), (*ws)->cache_dir()})
        QVERIFY2(fs::is_directory(p), p.c_str());
      auto id = (*ws)->add_dataset(dataset("wiki-ko"));
      EXPECT_OK(id);
      QCOMPARE(*id, int64_t(1));
    }
    auto again = Workspace::create(dir, "alpha");
    QCOMPARE(again.status().code(), StatusCode::kAlreadyExists);
    auto ws = Workspace::open(dir);
    EXPECT_OK(ws);
    QCOMPARE((*ws)->name(), std::string("alpha"));
    auto list = (*ws)->list_datasets();
    EXPECT_OK(list);
    QCOMPARE(list->size(), size_t(1));
    QCOMPARE(list->front().name, std::string("wiki-ko"));
    QCOMPARE(list->front().doc_count, int64_t(3));
    QVERIFY(!list->front().created_at.empty());
    QCOMPARE((*ws)->resolve(list->front().path), dir / "data/wiki-ko.jsonl");
    auto info = (*ws)->info();
    EXPECT_OK(info);
    QCOMPARE(info->schema_version, latest_schema_version());
    QCOMPARE(info->table_counts.at("datasets"), int64_t(1));
    QVERIFY(info->table_counts.count("lineage") == 1);
    QCOMPARE(Workspace::open(fresh_dir()).status().code(), StatusCode::kNotFound);
    // Bad enumerations are refused with the field and the allowed values named.
    DatasetRecord bad = dataset("x");
    bad.kind = "novel";
    auto refused = (*ws)->add_dataset(bad);
    QCOMPARE(refused.status().code(), StatusCode::kInvalidArgument);
    QVERIFY(contains(refused.status().message(), "dataset kind 'novel'"));
    auto bad_json = (*ws)->add_dataset(dataset("y", "{not json"));
    QCOMPARE(bad_json.status().code(), StatusCode::kInvalidArgument);
    QVERIFY2(contains(bad_json.status().message(), "json_valid"), bad_json.status().message().c_str());
  }

  void walModeAndForeignKeysAreOn() {
    auto ws = Workspace::create(fresh_dir(), "wal");
    EXPECT_OK(ws);
    auto mode = (*ws)->db().journal_mode();
    EXPECT_OK(mode);
    QCOMPARE(*mode, std::string("wal"));
    EXPECT_OK((*ws)->add_dataset(dataset("a")));
    QVERIFY(fs::exists((*ws)->root() / "workspace.db-wal"));
    QCOMPARE(*(*ws)->db().query_int("PRAGMA foreign_keys"), int64_t(1));
    QCOMPARE(*(*ws)->db().query_int("PRAGMA synchronous"), int64_t(1));  // NORMAL
    auto check = (*ws)->db().integrity_check(true);
    EXPECT_OK(check);
    QCOMPARE(*check, std::string("ok"));
  }

  void migratesFromVersionZero() {
    const fs::path dir = fresh_dir();
    fs::create_directories(dir);
    {
      auto db = Database::open(dir / "workspace.db", {.create = true});
      EXPECT_OK(db);
      QCOMPARE(*(*db)->user_version(), int64_t(0));
    }
    auto ws = Workspace::open(dir);
    EXPECT_OK(ws);
    QCOMPARE(*(*ws)->db().user_version(), latest_schema_version());
    QVERIFY(!fs::exists(dir / "workspace.db.bak-v0"));  // nothing to back up in an empty database
    EXPECT_OK((*ws)->add_prompt_set({.name = "ko-chat"}));
    QVERIFY(fs::is_directory(dir / "runs"));
  }

  void migratesFromVersionOneWithBackup() {
    QVERIFY(latest_schema_version() >= 2);
    const fs::path dir = fresh_dir();
    fs::create_directories(dir);
    const fs::path db_path = dir / "workspace.db";
    {
      auto db = Database::open(db_path, {.create = true});
      EXPECT_OK(db);
      auto report = migrate(**db, 1);
      EXPECT_OK(report);
      QCOMPARE(report->to_version, int64_t(1));
      EXPECT_STATUS_OK((*db)->exec("INSERT INTO datasets (name, kind, path) VALUES ('old', 'corpus', 'data/old.jsonl')"));
      // v1 has no annotation tables yet.
      QVERIFY(!(*db)->exec("SELECT * FROM prompt_sets").is_ok());
    }
    auto ws = Workspace::open(dir);
    EXPECT_OK(ws);
    QCOMPARE(*(*ws)->db().user_version(), latest_schema_version());
    auto list = (*ws)->list_datasets();
    EXPECT_OK(list);
    QCOMPARE(list->size(), size_t(1));
    QCOMPARE(list->front().name, std::string("old"));
    EXPECT_OK((*ws)->add_prompt_set({.name = "after-migration"}));
    // The backup is the database as it was before migrating.
    const fs::path backup = dir / "workspace.db.bak-v1";
    QVERIFY(fs::exists(backup));
    auto old = Database::open(backup, {.read_only = true});
    EXPECT_OK(old);
    QCOMPARE(*(*old)->user_version(), int64_t(1));
    QCOMPARE(*(*old)->query_int("SELECT count(*) FROM datasets"), int64_t(1));
  }

  void newerSchemaIsRefusedAndLeftUntouched() {
    const fs::path dir = fresh_dir();
    {
      auto ws = Workspace::create(dir, "future");
      EXPECT_OK(ws);
      EXPECT_OK((*ws)->add_dataset(dataset("keep-me")));
      EXPECT_STATUS_OK((*ws)->db().set_user_version(latest_schema_version() + 7));
    }
    const fs::path db_path = dir / "workspace.db";
    const QByteArray before = file_sha256(db_path);
    const QStringList files_before = folder_listing(dir);
    QVERIFY(!before.isEmpty());
    for (bool read_only : {false, true}) {
      auto ws = Workspace::open(dir, {.read_only = read_only});
      QCOMPARE(ws.status().code(), StatusCode::kFailedPrecondition);
      const std::string& m = ws.status().message();
      QVERIFY2(contains(m, "schema version " + std::to_string(latest_schema_version() + 7)), m.c_str());
      QVERIFY2(contains(m, "knows up to " + std::to_string(latest_schema_version())), m.c_str());
      QVERIFY2(contains(m, "upgrade Kanana Workbench"), m.c_str());
    }
    QCOMPARE(file_sha256(db_path), before);
    QCOMPARE(folder_listing(dir), files_before);  // no -wal/-shm or backup left behind
    // migrate() on a connection refuses too.
    auto db = Database::open(db_path, {.read_only = true});
    EXPECT_OK(db);
    QCOMPARE(check_schema_version(*(*db)->user_version(), db_path).code(), StatusCode::kFailedPrecondition);
  }

  void corruptFilesAreRefusedAndLeftUntouched() {
    // 1. Random bytes where the database should be.
    const fs::path dir = fresh_dir();
    { EXPECT_OK(Workspace::create(dir, "corrupt")); }
    const fs::path db_path = dir / "workspace.db";
    QByteArray noise(8192, '\0');
    for (int i = 0; i < noise.size(); ++i) noise[i] = char((i * 7919 + 13) & 0xff);
    write_bytes(db_path, noise);
    const QByteArray before = file_sha256(db_path);
    for (bool read_only : {false, true}) {
      auto ws = Workspace::open(dir, {.read_only = read_only});
      QCOMPARE(ws.status().code(), StatusCode::kDataLoss);
      QVERIFY2(contains(ws.status().message(), "workspace.db is not a valid SQLite database (file is not a database)"),
               ws.status().message().c_str());
    }
    QCOMPARE(file_sha256(db_path), before);

    // 2. A real database truncated in the middle.
    const fs::path dir2 = fresh_dir();
    {
      auto ws = Workspace::create(dir2, "truncated");
      EXPECT_OK(ws);
      const std::string meta = "{\"pad\": \"" + std::string(3000, 'x') + "\"}";
      for (int i = 0; i < 60; ++i) EXPECT_OK((*ws)->add_dataset(dataset("d" + std::to_string(i), meta)));
    }
    const fs::path db2 = dir2 / "workspace.db";
    const auto full_size = fs::file_size(db2);
    QVERIFY(full_size > 64 * 1024);
    fs::resize_file(db2, full_size / 2 + 100);  // mid-page too
    const QByteArray before2 = file_sha256(db2);
    auto truncated = Workspace::open(dir2);
    QCOMPARE(truncated.status().code(), StatusCode::kDataLoss);
    QVERIFY2(contains(truncated.status().message(), "workspace.db"), truncated.status().message().c_str());
    QCOMPARE(file_sha256(db2), before2);

    // 3. A valid header over garbage pages.
    const fs::path dir3 = fresh_dir();
    {
      auto ws = Workspace::create(dir3, "garbage");
      EXPECT_OK(ws);
      for (int i = 0; i < 60; ++i) EXPECT_OK((*ws)->add_dataset(dataset("d" + std::to_string(i), "{\"pad\": \"" + std::string(3000, 'y') + "\"}")));
    }
    const fs::path db3 = dir3 / "workspace.db";
    QFile f(QString::fromStdString(db3.string()));
    QVERIFY(f.open(QIODevice::ReadWrite));
    f.seek(4096 * 3);
    f.write(QByteArray(4096 * 4, char(0x5a)));
    f.close();
    const QByteArray before3 = file_sha256(db3);
    auto garbage = Workspace::open(dir3);
    QCOMPARE(garbage.status().code(), StatusCode::kDataLoss);
    QCOMPARE(file_sha256(db3), before3);

    // 4. A corrupt manifest is named.
    const fs::path dir4 = fresh_dir();
    { EXPECT_OK(Workspace::create(dir4, "manifest")); }
    write_bytes(dir4 / "workspace.json", "{\"name\": ");
    auto bad_manifest = Workspace::open(dir4);
    QCOMPARE(bad_manifest.status().code(), StatusCode::kDataLoss);
    QVERIFY2(contains(bad_manifest.status().message(), "workspace.json"), bad_manifest.status().message().c_str());
  }

  void readOnlyOpenRejectsWrites() {
    const fs::path dir = fresh_dir();
    { 
      auto ws = Workspace::create(dir, "ro");
      EXPECT_OK(ws);
      EXPECT_OK((*ws)->add_dataset(dataset("a")));
    }
    const QByteArray before = file_sha256(dir / "workspace.db");
    auto ws = Workspace::open(dir, {.read_only = true});
    EXPECT_OK(ws);
    QVERIFY((*ws)->read_only());
    QCOMPARE((*ws)->list_datasets()->size(), size_t(1));
    auto refused = (*ws)->add_dataset(dataset("b"));
    QCOMPARE(refused.status().code(), StatusCode::kPermissionDenied);
    QVERIFY2(contains(refused.status().message(), "read-only"), refused.status().message().c_str());
    // Past the Workspace's own check, SQLite itself refuses: the connection is read-only.
    Status raw = (*ws)->db().exec("INSERT INTO datasets (name, kind, path) VALUES ('c', 'corpus', 'p')");
    QCOMPARE(raw.code(), StatusCode::kPermissionDenied);
    QVERIFY2(contains(raw.message(), "readonly") && contains(raw.message(), "workspace.db"), raw.message().c_str());
    QCOMPARE((*ws)->update_run_state(1, RunState::kRunning).code(), StatusCode::kPermissionDenied);
    ws->reset();
    QCOMPARE(file_sha256(dir / "workspace.db"), before);
  }

  void createInUnwritableFolderFails() {
    // A file where the folder should be.
    const fs::path file = fresh_dir();
    write_bytes(file, "not a folder");
    auto on_file = Workspace::create(file, "x");
    QCOMPARE(on_file.status().code(), StatusCode::kFailedPrecondition);
    QVERIFY(contains(on_file.status().message(), file.string()));
    auto under_file = Workspace::create(file / "sub", "x");
    QVERIFY(!under_file.is_ok());
    QVERIFY(contains(under_file.status().message(), (file / "sub").string()));

    // A folder the kernel refuses to write. As root, permission bits do not stop writes, so
    // use /sys, whose root directory rejects mkdir even for root (EPERM).
    fs::path parent;
    if (::geteuid() != 0) {
      parent = fresh_dir();
      fs::create_directories(parent);
      ::chmod(parent.c_str(), 0555);
    } else {
      if (::mkdir("/sys/kanana-probe", 0755) == 0 || (errno != EPERM && errno != EACCES && errno != EROFS)) {
        ::rmdir("/sys/kanana-probe");
        QSKIP("running as root and /sys accepts mkdir here: no folder that refuses writes to test with");
      }
      parent = "/sys";
    }
    const fs::path target = parent / "kanana-ws";
    auto denied = Workspace::create(target, "x");
    if (::geteuid() != 0) ::chmod(parent.c_str(), 0755);
    QCOMPARE(denied.status().code(), StatusCode::kPermissionDenied);
    QVERIFY2(contains(denied.status().message(), target.string()), denied.status().message().c_str());
  }

  void openInReadOnlyFolder() {
    if (::geteuid() == 0)
      QSKIP("running as root: chmod 0555 does not stop root from writing, so a read-only workspace folder cannot be "
            "made here (the read-only connection itself is tested in readOnlyOpenRejectsWrites)");
    const fs::path dir = fresh_dir();
    {
      auto ws = Workspace::create(dir, "ro-folder");
      EXPECT_OK(ws);
      EXPECT_OK((*ws)->add_dataset(dataset("a")));
    }
    ::chmod(dir.c_str(), 0555);
    auto rw = Workspace::open(dir);
    QCOMPARE(rw.status().code(), StatusCode::kPermissionDenied);
    QVERIFY2(contains(rw.status().message(), dir.string()) && contains(rw.status().message(), "read-only"),
             rw.status().message().c_str());
    auto ro = Workspace::open(dir, {.read_only = true});
    ::chmod(dir.c_str(), 0755);
    EXPECT_OK(ro);
    QCOMPARE((*ro)->list_datasets()->size(), size_t(1));
  }

  void foreignKeysAreEnforced() {
    auto ws = Workspace::create(fresh_dir(), "fk");
    EXPECT_OK(ws);
    Workspace& w = **ws;
    Status raw = w.db().exec("INSERT INTO checkpoints (run_id, name, path) VALUES (999, 'c', 'models/c')");
    QCOMPARE(raw.code(), StatusCode::kFailedPrecondition);
    QVERIFY2(contains(raw.message(), "FOREIGN KEY constraint failed"), raw.message().c_str());
    auto missing = w.add_checkpoint({.run_id = 999, .name = "c", .path = "models/c"});
    QCOMPARE(missing.status().code(), StatusCode::kNotFound);
    QVERIFY(contains(missing.status().message(), "run 999"));

    auto run = w.add_run({.name = "pt", .kind = "pretrain"});
    EXPECT_OK(run);
    auto ckpt = w.add_checkpoint({.run_id = *run, .name = "step-100", .path = "runs/pt/step-100", .step = 100});
    EXPECT_OK(ckpt);
    // Deleting a run keeps its checkpoints (ON DELETE SET NULL).
    EXPECT_STATUS_OK(w.db().exec("DELETE FROM runs WHERE id = " + std::to_string(*run)));
    auto kept = w.get_checkpoint(*ckpt);
    EXPECT_OK(kept);
    QVERIFY(!kept->run_id.has_value());
    // Deleting a prompt set removes its prompts and their candidates (ON DELETE CASCADE).
    auto set = w.add_prompt_set({.name = "s"});
    auto prompt = w.add_prompt({.prompt_set_id = *set, .text = "안녕?"});
    EXPECT_OK(prompt);
    EXPECT_OK(w.add_candidate({.prompt_id = *prompt, .checkpoint_id = *ckpt, .text = "안녕하세요"}));
    EXPECT_STATUS_OK(w.db().exec("DELETE FROM prompt_sets"));
    QCOMPARE(*w.db().query_int("SELECT count(*) FROM candidates"), int64_t(0));
  }

  void runStateTransitions() {
    auto ws = Workspace::create(fresh_dir(), "runs");
    EXPECT_OK(ws);
    Workspace& w = **ws;
    auto id = w.add_run({.name = "sft-1", .kind = "sft", .recipe_json = "{\"lr\": 2e-5}"});
    EXPECT_OK(id);
    QCOMPARE(w.get_run(*id)->state, RunState::kQueued);
    QVERIFY(!w.get_run(*id)->started_at.has_value());
    Status skip = w.update_run_state(*id, RunState::kFinished);
    QCOMPARE(skip.code(), StatusCode::kFailedPrecondition);
    QVERIFY2(contains(skip.message(), "cannot go from queued to finished"), skip.message().c_str());
    EXPECT_STATUS_OK(w.update_run_state(*id, RunState::kRunning));
    QVERIFY(w.get_run(*id)->started_at.has_value());
    EXPECT_STATUS_OK(w.set_run_process(*id, 4242, ""));
    QCOMPARE(*w.get_run(*id)->pid, int64_t(4242));
    EXPECT_STATUS_OK(w.update_run_state(*id, RunState::kFinished));
    auto done = w.get_run(*id);
    QCOMPARE(done->state, RunState::kFinished);
    QVERIFY(done->finished_at.has_value());
    QCOMPARE(w.update_run_state(*id, RunState::kRunning).code(), StatusCode::kFailedPrecondition);
    QCOMPARE(w.update_run_state(*id, RunState::kCancelled).code(), StatusCode::kFailedPrecondition);
    QCOMPARE(w.update_run_state(777, RunState::kRunning).code(), StatusCode::kNotFound);
    QCOMPARE(w.add_run({.name = "x", .kind = "sft", .state = RunState::kFinished}).status().code(), StatusCode::kInvalidArgument);
    QCOMPARE(w.add_run({.name = "x", .kind = "sft", .target = "cloud"}).status().code(), StatusCode::kInvalidArgument);
    // The schema itself refuses unknown states.
    Status raw = w.db().exec("UPDATE runs SET state = 'paused'");
    QCOMPARE(raw.code(), StatusCode::kInvalidArgument);
    auto queued = w.add_run({.name = "q", .kind = "dpo"});
    EXPECT_STATUS_OK(w.update_run_state(*queued, RunState::kCancelled));
    QCOMPARE(w.list_runs(RunState::kCancelled)->size(), size_t(1));
    QCOMPARE(w.list_runs()->size(), size_t(2));
    QVERIFY(run_state_transition_allowed(RunState::kRunning, RunState::kFailed));
    QVERIFY(!run_state_transition_allowed(RunState::kFailed, RunState::kQueued));
    QCOMPARE(parse_run_state("bogus").status().code(), StatusCode::kInvalidArgument);
  }

  void lineageWalksUpAndDown() {
    auto ws = Workspace::create(fresh_dir(), "lineage");
    EXPECT_OK(ws);
    Workspace& w = **ws;
    const int64_t d1 = *w.add_dataset(dataset("ko-web")), d2 = *w.add_dataset(dataset("en-web"));
    const int64_t r1 = *w.add_run({.name = "pretrain", .kind = "pretrain"});
    const int64_t c1 = *w.add_checkpoint({.run_id = r1, .name = "base", .path = "models/base"});
    const int64_t r2 = *w.add_run({.name = "sft", .kind = "sft"});
    const int64_t c2 = *w.add_checkpoint({.run_id = r2, .name = "chat", .path = "models/chat"});
    const int64_t ps = *w.add_prompt_set({.name = "p"});
    const int64_t p = *w.add_prompt({.prompt_set_id = ps, .text = "q"});
    const int64_t x = *w.add_candidate({.prompt_id = p, .checkpoint_id = c2, .text = "a"});
    auto e1 = w.add_lineage({"dataset", d1}, {"run", r1}, "trained");
    EXPECT_OK(e1);
    EXPECT_OK(w.add_lineage({"dataset", d2}, {"run", r1}, "trained"));
    EXPECT_OK(w.add_lineage({"run", r1}, {"checkpoint", c1}, "produced"));
    EXPECT_OK(w.add_lineage({"checkpoint", c1}, {"run", r2}, "initialized"));
    EXPECT_OK(w.add_lineage({"dataset", d2}, {"run", r2}, "trained"));  // a diamond: d2 reaches r2 twice
    EXPECT_OK(w.add_lineage({"run", r2}, {"checkpoint", c2}, "produced"));
    EXPECT_OK(w.add_lineage({"checkpoint", c2}, {"candidate", x}, "generated"));
    // Same edge twice: same id, no duplicate row.
    QCOMPARE(*w.add_lineage({"dataset", d1}, {"run", r1}, "trained"), *e1);
    QCOMPARE(*w.db().query_int("SELECT count(*) FROM lineage"), int64_t(7));

    auto up = w.lineage_upstream({"candidate", x});
    EXPECT_OK(up);
    QCOMPARE(up->size(), size_t(6));  // c2, r2, c1, d2, r1, d1
    QCOMPARE(up->at(0).node, (NodeRef{"checkpoint", c2}));
    QCOMPARE(up->at(0).relation, std::string("generated"));
    auto depth_of = [](const std::vector<LineageNode>& nodes, const NodeRef& n) {
      for (const auto& l : nodes) if (l.node == n) return l.depth;
      return -1;
    };
    QCOMPARE(depth_of(*up, {"run", r2}), 2);
    QCOMPARE(depth_of(*up, {"dataset", d2}), 3);  // shortest path, via r2
    QCOMPARE(depth_of(*up, {"dataset", d1}), 5);

    auto down = w.lineage_downstream({"dataset", d1});
    EXPECT_OK(down);
    QCOMPARE(down->size(), size_t(5));  // r1, c1, r2, c2, x
    QCOMPARE(depth_of(*down, {"candidate", x}), 5);
    auto near = w.lineage_downstream({"dataset", d1}, 1);
    QCOMPARE(near->size(), size_t(1));
    QCOMPARE(near->front().node, (NodeRef{"run", r1}));
    QCOMPARE(w.lineage_edges({"run", r1})->size(), size_t(3));

    // A cycle (a model judging its own ancestors' data) must not loop forever.
    EXPECT_OK(w.add_lineage({"candidate", x}, {"dataset", d1}, "distilled"));
    auto cyc = w.lineage_downstream({"dataset", d1});
    EXPECT_OK(cyc);
    QCOMPARE(cyc->size(), size_t(5));  // the start node is not listed

    QCOMPARE(w.add_lineage({"run", 999}, {"run", r1}, "x").status().code(), StatusCode::kNotFound);
    QCOMPARE(w.add_lineage({"run", r1}, {"run", r1}, "x").status().code(), StatusCode::kInvalidArgument);
    QCOMPARE(w.add_lineage({"spaceship", 1}, {"run", r1}, "x").status().code(), StatusCode::kInvalidArgument);
    EXPECT_STATUS_OK(w.delete_dataset(d1));
    QCOMPARE(*w.db().query_int("SELECT count(*) FROM lineage WHERE src_kind = 'dataset' AND src_id = " + std::to_string(d1)),
             int64_t(0));
  }

  void concurrentReadersWhileWriting() {
    const fs::path dir = fresh_dir();
    auto writer_ws = Workspace::create(dir, "concurrent");
    EXPECT_OK(writer_ws);
    auto reader_ws = Workspace::open(dir);
    EXPECT_OK(reader_ws);
    auto second_writer = Workspace::open(dir);
    EXPECT_OK(second_writer);
    constexpr int kRows = 150;
    std::atomic<bool> writing{true};
    std::atomic<int> writer_errors{0};
    std::string first_error;
    auto write_rows = [&](Workspace* w, const std::string& prefix) {
      for (int i = 0; i < kRows; ++i) {
        auto id = w->add_dataset(dataset(prefix + std::to_string(i)));
        if (!id.is_ok() && writer_errors.fetch_add(1) == 0) first_error = id.status().to_string();
      }
    };
    std::thread a([&] { write_rows(writer_ws->get(), "a"); });
    std::thread b([&] { write_rows(second_writer->get(), "b"); });
    std::thread done([&] { a.join(); b.join(); writing = false; });
    size_t last = 0;
    int reads = 0, read_errors = 0;
    while (writing) {
      auto list = (*reader_ws)->list_datasets();
      if (!list.is_ok()) { ++read_errors; continue; }
      QVERIFY(list->size() >= last);  // a reader sees committed rows only, never fewer later
      last = list->size();
      ++reads;
    }
    done.join();
    QVERIFY2(writer_errors == 0, first_error.c_str());
    QCOMPARE(read_errors, 0);
    QVERIFY(reads > 0);
    QCOMPARE((*reader_ws)->list_datasets()->size(), size_t(2 * kRows));
  }

  void transactionsRollBackAndErrorsNameTheDatabase() {
    auto ws = Workspace::create(fresh_dir(), "tx");
    EXPECT_OK(ws);
    Database& db = (*ws)->db();
    {
      auto tx = Transaction::begin(db);
      EXPECT_OK(tx);
      EXPECT_STATUS_OK(db.exec("INSERT INTO datasets (name, kind, path) VALUES ('gone', 'corpus', 'p')"));
    }  // no commit: rolled back
    QCOMPARE(*db.query_int("SELECT count(*) FROM datasets"), int64_t(0));
    {
      auto tx = Transaction::begin(db);
      EXPECT_STATUS_OK(db.exec("INSERT INTO datasets (name, kind, path) VALUES ('kept', 'corpus', 'p')"));
      EXPECT_STATUS_OK((*tx)->commit());
    }
    QCOMPARE(*db.query_int("SELECT count(*) FROM datasets"), int64_t(1));
    auto bad = db.prepare("SELECT nope FROM datasets");
    QCOMPARE(bad.status().code(), StatusCode::kInvalidArgument);
    QVERIFY2(contains(bad.status().message(), "workspace.db") && contains(bad.status().message(), "no such column: nope"),
             bad.status().message().c_str());
    auto st = db.prepare("SELECT ?1");
    EXPECT_OK(st);
    st->bind(5, int64_t(1));  // out of range: reported by step(), not a crash
    QCOMPARE(st->step().status().code(), StatusCode::kInvalidArgument);
    auto dup = db.exec("INSERT INTO lineage (src_kind, src_id, dst_kind, dst_id, relation) VALUES ('run', 1, 'run', 2, 'x');"
                       "INSERT INTO lineage (src_kind, src_id, dst_kind, dst_id, relation) VALUES ('run', 1, 'run', 2, 'x')");
    QCOMPARE(dup.code(), StatusCode::kAlreadyExists);
  }

  void annotationAndEvalRecords() {
    auto ws = Workspace::create(fresh_dir(), "annotate");
    EXPECT_OK(ws);
    Workspace& w = **ws;
    const int64_t ckpt = *w.add_checkpoint({.name = "kanana-2.1b", .path = "models/kanana"});
    const int64_t set = *w.add_prompt_set({.name = "ko-helpful", .description = "Korean helpfulness"});
    const int64_t p1 = *w.add_prompt({.prompt_set_id = set, .text = "서울의 인구는?", .lang = "ko"});
    const int64_t p2 = *w.add_prompt({.prompt_set_id = set, .text = "Capital of France?", .lang = "en"});
    const int64_t a = *w.add_candidate({.prompt_id = p1, .checkpoint_id = ckpt, .text = "약 940만 명", .sampling_json = "{\"temperature\": 0.7}", .seed = 1});
    const int64_t b = *w.add_candidate({.prompt_id = p1, .checkpoint_id = ckpt, .text = "모릅니다", .seed = 2});
    const int64_t c = *w.add_candidate({.prompt_id = p2, .text = "Paris"});
    EXPECT_OK(w.add_judgement({.prompt_id = p1, .kind = "pairwise", .chosen_id = a, .rejected_id = b, .annotator = "kim", .reason = "factual"}));
    auto cross = w.add_judgement({.prompt_id = p1, .kind = "pairwise", .chosen_id = a, .rejected_id = c});
    QCOMPARE(cross.status().code(), StatusCode::kInvalidArgument);
    QVERIFY2(contains(cross.status().message(), "answers prompt"), cross.status().message().c_str());
    QCOMPARE(w.add_judgement({.prompt_id = p1, .kind = "pairwise", .chosen_id = a, .rejected_id = a}).status().code(), StatusCode::kInvalidArgument);
    EXPECT_OK(w.add_judgement({.prompt_id = p1, .kind = "ranking", .ranking_json = "[" + std::to_string(b) + ", " + std::to_string(a) + "]"}));
    QCOMPARE(w.add_judgement({.prompt_id = p1, .kind = "ranking", .ranking_json = "[" + std::to_string(c) + ", " + std::to_string(a) + "]"}).status().code(), StatusCode::kInvalidArgument);
    EXPECT_OK(w.add_judgement({.prompt_id = p1, .kind = "edit", .chosen_id = b, .edited_text = "약 940만 명입니다."}));
    QCOMPARE(w.list_judgements(p1)->size(), size_t(3));
    QCOMPARE(w.list_candidates(p1)->at(0).sampling_json, std::string("{\"temperature\": 0.7}"));
    QCOMPARE(*w.list_candidates(p1)->at(1).seed, int64_t(2));
    QCOMPARE(w.list_prompts(set)->size(), size_t(2));

    auto conv = w.add_conversation({.title = "test", .checkpoint_id = ckpt});
    EXPECT_OK(conv);
    EXPECT_STATUS_OK(w.update_conversation_messages(*conv, "[{\"role\": \"user\", \"content\": \"hi\"}]"));
    QCOMPARE(w.update_conversation_messages(*conv, "[oops").code(), StatusCode::kInvalidArgument);
    QVERIFY(contains(w.list_conversations()->front().messages_json, "hi"));

    EXPECT_OK(w.add_eval_result({.checkpoint_id = ckpt, .task = "kmmlu", .metric = "acc", .value = 0.41, .stderr_value = 0.01, .n = 35000}));
    QCOMPARE(w.add_eval_result({.task = "kmmlu", .metric = "acc"}).status().code(), StatusCode::kInvalidArgument);
    auto evals = w.list_eval_results(std::nullopt, ckpt);
    QCOMPARE(evals->size(), size_t(1));
    QCOMPARE(*evals->front().stderr_value, 0.01);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestStore)
#include "test_store.moc"
