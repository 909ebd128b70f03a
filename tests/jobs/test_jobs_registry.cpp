// RunRegistry in a temporary workspace: launch records a run with dataset → run lineage;
// refresh moves the state along and records checkpoint events as checkpoints with
// run → checkpoint lineage; a "restarted GUI" (new Workspace + registry objects) re-attaches;
// SIGKILL → failed; cancel → cancelled; an unreachable ssh host leaves the state alone.
#include <QtTest>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "../shards/shard_test_util.h"
#include "base/files.h"
#include "base/strings.h"
#include "jobs/run_registry.h"

using namespace kanana;
using namespace kanana::jobs;
namespace fs = std::filesystem;

namespace {

RunRefresh refresh_until_final(RunRegistry& registry, int64_t id, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  RunRefresh last;
  while (std::chrono::steady_clock::now() < end) {
    auto r = registry.refresh(id);
    if (r.is_ok()) {
      last = *r;
      if (is_final(last.state)) return last;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

const char* kTrainerLike =
    "echo '{\"type\":\"state\",\"state\":\"running\"}' >> events.jsonl; "
    "echo '{\"type\":\"metric\",\"step\":1,\"metrics\":{\"loss\":4.5,\"lr\":0.001}}' >> events.jsonl; "
    "mkdir -p checkpoints/step-1; "
    "echo '{\"type\":\"checkpoint\",\"step\":1,\"path\":\"checkpoints/step-1\",\"tokens\":4096}' >> events.jsonl; "
    "sleep 0.5; mkdir -p checkpoints/step-2; "
    "echo '{\"type\":\"metric\",\"step\":2,\"metrics\":{\"loss\":3.25}}' >> events.jsonl; "
    "echo '{\"type\":\"checkpoint\",\"step\":2,\"path\":\"checkpoints/step-2\",\"tokens\":8192}' >> events.jsonl; "
    "rm -r checkpoints/step-1; "  // keep_last: 1
    "echo 'not json at all' >> events.jsonl; "
    "echo '{\"type\":\"state\",\"state\":\"finished\"}' >> events.jsonl";

}  // namespace

class TestJobsRegistry : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void launchRefreshLineageAndReattach() {
    QTemporaryDir tmp;
    const fs::path root = fs::path(tmp.path().toStdString()) / "ws";
    int64_t run_id = 0, dataset_id = 0;
    {
      auto ws = store::Workspace::create(root, "jobs-test");
      QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
      store::DatasetRecord d;
      d.name = "ko-en shards";
      d.kind = "shards";
      d.path = "data/shards/ko-en";
      auto did = (*ws)->add_dataset(d);
      QVERIFY(did.is_ok());
      dataset_id = *did;
      RunRegistry registry(**ws);
      JobSpec spec;
      spec.name = "tiny-pretrain";
      spec.kind = "pretrain";
      spec.command = {"/bin/sh", "-c", kTrainerLike, "trainer"};
      spec.recipe = Json{{"model", "tiny"}, {"steps", 2}};
      spec.inputs = {"data/shards/ko-en", "data/new-corpus.jsonl"};  // the second is not registered yet
      auto id = registry.launch(spec);
      QVERIFY2(id.is_ok(), id.status().to_string().c_str());
      run_id = *id;
      auto run = (*ws)->get_run(run_id);
      QCOMPARE(run->state, store::RunState::kRunning);
      QCOMPARE(run->target, std::string("local"));
      QVERIFY(run->pid.has_value());
      QVERIFY(starts_with(run->run_dir, (root / "runs" / "tiny-pretrain-").string()));
      QCOMPARE(Json::parse(run->recipe_json)["steps"].get<int>(), 2);
      QCOMPARE(*registry.find(run->run_dir), run_id);
      QCOMPARE(*registry.find(std::to_string(run_id)), run_id);
      QVERIFY(!registry.find("/no/such/run").is_ok());
    }  // the GUI closes while the run goes on

    auto ws = store::Workspace::open(root);  // ... and starts again
    QVERIFY(ws.is_ok());
    RunRegistry registry(**ws);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    bool final_seen = false;
    std::vector<CorruptLine> corrupt;
    while (!final_seen && std::chrono::steady_clock::now() < end) {
      auto all = registry.refresh_active();
      QVERIFY(all.is_ok());
      for (const auto& r : *all) {
        for (const auto& c : r.corrupt) corrupt.push_back(c);
      }
      final_seen = (*ws)->get_run(run_id)->state == store::RunState::kFinished;
      if (!final_seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    QVERIFY(final_seen);
    auto run = (*ws)->get_run(run_id);
    QVERIFY(run->started_at.has_value());
    QVERIFY(run->finished_at.has_value());
    QCOMPARE(corrupt.size(), size_t(1));
    QCOMPARE(corrupt[0].line, int64_t(6));
    Json meta = Json::parse(run->meta_json);
    QCOMPARE(meta["last_metrics"]["loss"].get<double>(), 3.25);
    QCOMPARE(meta["last_metrics"]["lr"].get<double>(), 0.001);
    QCOMPARE(meta["last_step"].get<int>(), 2);

    auto cps = (*ws)->list_checkpoints(run_id);
    QCOMPARE(cps->size(), size_t(1));
    QCOMPARE((*cps)[0].step, int64_t(2));
    QCOMPARE((*cps)[0].tokens, int64_t(8192));
    QCOMPARE((*cps)[0].path, (fs::path(run->run_dir) / "checkpoints" / "step-2").string());
    // dataset --trained--> run --produced--> checkpoint
    auto down = (*ws)->lineage_downstream({"dataset", dataset_id});
    QVERIFY(down.is_ok());
    bool run_seen = false, cp_seen = false;
    for (const auto& n : *down) {
      run_seen = run_seen || (n.node == store::NodeRef{"run", run_id} && n.relation == "trained");
      cp_seen = cp_seen || (n.node == store::NodeRef{"checkpoint", (*cps)[0].id} && n.relation == "produced");
    }
    QVERIFY(run_seen && cp_seen);
    auto auto_registered = (*ws)->find_dataset_by_path("data/new-corpus.jsonl");
    QVERIFY(auto_registered.is_ok() && auto_registered->has_value());
    auto up = (*ws)->lineage_upstream({"run", run_id});
    QCOMPARE(up->size(), size_t(2));

    // Refreshing again records nothing twice.
    auto again = registry.refresh(run_id);
    QVERIFY(again.is_ok());
    QCOMPARE(again->new_events, int64_t(0));
    QCOMPARE((*ws)->list_checkpoints(run_id)->size(), size_t(1));

    // step-1 was deleted by keep_last before anything used it: forgotten, not listed. step-2
    // gets an eval result and is then deleted by hand: it stays, as missing, never offered.
    store::EvalResultRecord e;
    e.checkpoint_id = (*cps)[0].id;
    e.task = "demo";
    e.metric = "acc";
    e.value = 0.5;
    QVERIFY((*ws)->add_eval_result(e).is_ok());
    fs::remove_all((*cps)[0].path);
    QVERIFY(registry.refresh(run_id).is_ok());
    QCOMPARE((*ws)->list_checkpoints(run_id)->size(), size_t(1));
    QVERIFY(!(*ws)->checkpoint_on_disk((*ws)->list_checkpoints(run_id)->front()));
    QCOMPARE((*ws)->list_present_checkpoints(run_id)->size(), size_t(0));
  }

  void unregisteredTokenPackInputIsDescribed() {
    // A run's input that the workspace does not know yet is recorded from what it is: a token
    // pack's manifest gives its documents and tokens, its files the size.
    QTemporaryDir tmp;
    const fs::path root = fs::path(tmp.path().toStdString()) / "ws";
    auto ws = store::Workspace::create(root, "pack-input-test");
    QVERIFY2(ws.is_ok(), ws.status().to_string().c_str());
    auto pack = shards::test::write_synthetic_pack(root / "data" / "packs" / "ko", shards::test::synthetic_docs(40, 3, 64, 5, 12),
                                                   "ko", 1 << 20, 5);
    QVERIFY2(pack.is_ok(), pack.status().to_string().c_str());
    std::ofstream(root / "data" / "notes.jsonl") << "{\"text\": \"hello\"}\n";
    RunRegistry registry(**ws);
    JobSpec spec;
    spec.name = "pack-input";
    spec.command = {"/bin/true"};
    spec.inputs = {"data/packs/ko", "data/notes.jsonl"};
    QVERIFY(registry.launch(spec).is_ok());
    auto d = (*ws)->find_dataset_by_path("data/packs/ko");
    QVERIFY(d.is_ok() && d->has_value());
    QCOMPARE((*d)->kind, std::string("shards"));
    QCOMPARE((*d)->format, std::string("kanana-shards"));
    QCOMPARE((*d)->doc_count, int64_t(pack->train_docs + pack->val_docs));
    QCOMPARE((*d)->doc_count, int64_t(40));
    QVERIFY((*d)->byte_count >= int64_t((pack->train_tokens + pack->val_tokens) * 2));  // uint16 tokens at least
    QCOMPARE(Json::parse((*d)->meta_json).value("train_tokens", int64_t(0)), int64_t(pack->train_tokens));
    auto notes = (*ws)->find_dataset_by_path("data/notes.jsonl");
    QVERIFY(notes.is_ok() && notes->has_value());
    QCOMPARE((*notes)->kind, std::string("corpus"));
    QCOMPARE((*notes)->byte_count, int64_t(18));
  }

  void sigkillAndCancelReachTheWorkspace() {
    QTemporaryDir tmp;
    auto ws = store::Workspace::create(fs::path(tmp.path().toStdString()) / "ws", "jobs-test");
    QVERIFY(ws.is_ok());
    RunRegistry registry(**ws, LauncherOptions{.cancel_grace_s = 2});
    JobSpec spec;
    spec.name = "killed";
    spec.command = {"/bin/sh", "-c", "echo '{\"type\":\"state\",\"state\":\"running\"}' >> events.jsonl; exec sleep 30", "w"};
    auto killed = registry.launch(spec);
    spec.name = "cancelled";
    auto cancelled = registry.launch(spec);
    QVERIFY(killed.is_ok() && cancelled.is_ok());

    auto h = registry.handle(*killed);
    const fs::path pids = fs::path(h->local_dir) / kPidsFileName;
    for (int i = 0; i < 100 && !fs::exists(pids); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    QCOMPARE(::kill(std::stoi(std::string(trim(*read_file(pids)))), SIGKILL), 0);
    auto r = refresh_until_final(registry, *killed, 10);
    QCOMPARE(r.state, JobState::kFailed);
    QVERIFY2(r.reason.find("signal 9") != std::string::npos, r.reason.c_str());
    auto run = (*ws)->get_run(*killed);
    QCOMPARE(run->state, store::RunState::kFailed);
    QCOMPARE(Json::parse(run->meta_json)["signal"].get<int>(), 9);

    QVERIFY(registry.cancel(*cancelled).is_ok());
    QCOMPARE(refresh_until_final(registry, *cancelled, 10).state, JobState::kCancelled);
    QCOMPARE((*ws)->get_run(*cancelled)->state, store::RunState::kCancelled);
  }

  void resumeRelaunchesInTheSameFolder() {
    QTemporaryDir tmp;
    auto ws = store::Workspace::create(fs::path(tmp.path().toStdString()) / "ws", "jobs-test");
    QVERIFY(ws.is_ok());
    RunRegistry registry(**ws);
    JobSpec spec;
    spec.name = "resumable";
    // First attempt: one checkpoint, then it hangs and gets SIGKILLed. With --resume: finishes.
    spec.command = {"/bin/sh", "-c",
                    "if [ \"$1\" = --resume ]; then "
                    "mkdir -p checkpoints/step-4; echo '{\"type\":\"checkpoint\",\"step\":4,\"path\":\"checkpoints/step-4\"}' >> events.jsonl; "
                    "echo '{\"type\":\"state\",\"state\":\"finished\"}' >> events.jsonl; exit 0; fi; "
                    "mkdir -p checkpoints/step-2; "
                    "echo '{\"type\":\"checkpoint\",\"step\":2,\"path\":\"checkpoints/step-2\"}' >> events.jsonl; "
                    "exec sleep 30",
                    "w"};
    auto first = registry.launch(spec);
    QVERIFY(first.is_ok());
    auto h = registry.handle(*first);
    const fs::path pids = fs::path(h->local_dir) / kPidsFileName;
    for (int i = 0; i < 100 && !fs::exists(pids); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    QCOMPARE(::kill(std::stoi(std::string(trim(*read_file(pids)))), SIGKILL), 0);
    QCOMPARE(refresh_until_final(registry, *first, 10).state, JobState::kFailed);
    QCOMPARE((*ws)->list_checkpoints(*first)->size(), size_t(1));
    QVERIFY(!registry.resume(*first + 100).is_ok());

    auto second = registry.resume(*first);
    QVERIFY2(second.is_ok(), second.status().to_string().c_str());
    QVERIFY(*second != *first);
    QCOMPARE(registry.handle(*second)->local_dir, h->local_dir);
    QCOMPARE(registry.handle(*second)->command.back(), std::string("--resume"));
    QCOMPARE(refresh_until_final(registry, *second, 10).state, JobState::kFinished);
    auto cps = (*ws)->list_checkpoints(*second);
    QCOMPARE(cps->size(), size_t(1));  // only the new one; step 2 stays with the first run
    QCOMPARE((*cps)[0].step, int64_t(4));
    auto edges = (*ws)->lineage_edges({"run", *second});
    bool resumed = false;
    for (const auto& e : *edges) resumed = resumed || (e.relation == "resumed" && e.src == store::NodeRef{"run", *first});
    QVERIFY(resumed);
  }

  void unreachableHostIsNotAFailure() {
    QTemporaryDir tmp;
    auto ws = store::Workspace::create(fs::path(tmp.path().toStdString()) / "ws", "jobs-test");
    QVERIFY(ws.is_ok());
    RunRegistry registry(**ws, LauncherOptions{.command_timeout_s = 10});
    JobSpec spec;
    spec.name = "remote";
    spec.command = {"sleep", "1"};
    spec.run_dir = "/remote/run";
    spec.local_dir = (fs::path(tmp.path().toStdString()) / "mirror").string();
    spec.target.kind = TargetKind::kSsh;
    spec.target.host = "127.0.0.1";
    spec.target.port = 1;  // nothing listens there
    spec.target.ssh_options = {"-F", "/dev/null", "-o", "ConnectTimeout=3"};
    JobHandle h;
    h.target = TargetKind::kSsh;
    h.name = "remote";
    h.run_dir = spec.run_dir;
    h.local_dir = spec.local_dir;
    h.pid = 4242;
    h.host = "127.0.0.1";
    h.target_info = spec.target;
    fs::create_directories(h.local_dir);
    QVERIFY(write_job_file(h).is_ok());
    auto id = registry.record(spec, h);
    QVERIFY2(id.is_ok(), id.status().to_string().c_str());
    auto r = registry.refresh(*id);
    QVERIFY(r.is_ok());
    QVERIFY(!r->error.empty());
    QCOMPARE(r->state, JobState::kRunning);
    QCOMPARE((*ws)->get_run(*id)->state, store::RunState::kRunning);
    QCOMPARE(*registry.find(spec.local_dir), *id);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestJobsRegistry)
#include "test_jobs_registry.moc"
