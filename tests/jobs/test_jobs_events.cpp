// Event stream and job spec: writer/reader round trip, a line being written, corrupt lines,
// concurrent writers, a torn line left by a killed writer; job spec JSON and its errors.
#include <QtTest>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "base/files.h"
#include "jobs/events.h"
#include "jobs/job_spec.h"
#include "jobs/job_status.h"
#include "jobs/shell_quote.h"

using namespace kanana;
using namespace kanana::jobs;
namespace fs = std::filesystem;

namespace {
void append_raw(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::app | std::ios::binary);
  out << bytes;
}
}  // namespace

class TestJobsEvents : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void writeThenReadAllTypes() {
    QTemporaryDir tmp;
    const fs::path path = fs::path(tmp.path().toStdString()) / kEventsFileName;
    auto w = EventWriter::open(path);
    QVERIFY(w.is_ok());
    QVERIFY((*w)->state("running").is_ok());
    QVERIFY((*w)->stage("stage1", 0, 100).is_ok());
    QVERIFY((*w)->metric(1, Json{{"loss", 3.5}, {"lr", 1e-3}, {"grad_norm", 0.7}}, 4096).is_ok());
    QVERIFY((*w)->log("info", "한국어 로그 message").is_ok());
    QVERIFY((*w)->checkpoint(1, "checkpoints/step-1").is_ok());
    QVERIFY((*w)->summary(Json{{"best_val_loss", 3.1}}).is_ok());
    QVERIFY((*w)->state("finished").is_ok());
    QVERIFY(!(*w)->write(Json{{"no_type", 1}}).is_ok());

    auto batch = read_events(path);
    QVERIFY(batch.is_ok());
    QCOMPARE(batch->events.size(), size_t(7));
    QVERIFY(batch->corrupt.empty());
    QCOMPARE(batch->events[2].type, std::string("metric"));
    QCOMPARE(*batch->events[2].step, int64_t(1));
    QCOMPARE(batch->events[2].json["metrics"]["loss"].get<double>(), 3.5);
    QCOMPARE(batch->events[3].json["message"].get<std::string>(), std::string("한국어 로그 message"));
    QVERIFY(batch->events[0].t > 1.7e9);
    QCOMPARE(batch->events[6].line, int64_t(7));
    QCOMPARE(batch->next_offset, uint64_t(fs::file_size(path)));

    auto summary = summarize_events(path);
    QVERIFY(summary.is_ok());
    QCOMPARE(*summary->last_state, std::string("finished"));
    QCOMPARE(summary->checkpoints.size(), size_t(1));
    QCOMPARE(summary->last_metrics["lr"].get<double>(), 1e-3);
  }

  void partialLastLineIsNotConsumedUntilComplete() {
    QTemporaryDir tmp;
    const fs::path path = fs::path(tmp.path().toStdString()) / kEventsFileName;
    append_raw(path, "{\"t\":1,\"type\":\"metric\",\"step\":1,\"metrics\":{\"loss\":2}}\n{\"t\":2,\"type\":\"met");
    EventTailer tailer(path);
    auto first = tailer.poll();
    QVERIFY(first.is_ok());
    QCOMPARE(first->events.size(), size_t(1));
    QVERIFY(first->partial_pending);
    QVERIFY(first->corrupt.empty());
    const uint64_t offset = tailer.offset();
    auto again = tailer.poll();
    QVERIFY(again->events.empty());
    QCOMPARE(tailer.offset(), offset);
    append_raw(path, "ric\",\"step\":2,\"metrics\":{\"loss\":1.5}}\n");
    auto second = tailer.poll();
    QCOMPARE(second->events.size(), size_t(1));
    QCOMPARE(*second->events[0].step, int64_t(2));
    QCOMPARE(second->events[0].line, int64_t(2));
    QVERIFY(!second->partial_pending);
  }

  void corruptLinesAreReportedWithLineNumberAndSkipped() {
    QTemporaryDir tmp;
    const fs::path path = fs::path(tmp.path().toStdString()) / kEventsFileName;
    append_raw(path,
               "{\"type\":\"log\",\"message\":\"ok\"}\n"
               "{not json\n"
               "\n"
               "[1,2,3]\n"
               "{\"message\":\"no type\"}\n"
               "\xff\xfe garbage\n"
               "{\"type\":\"state\",\"state\":\"running\"}\n");
    auto batch = read_events(path);
    QVERIFY(batch.is_ok());
    QCOMPARE(batch->events.size(), size_t(2));
    QCOMPARE(batch->events[1].line, int64_t(7));
    QCOMPARE(batch->corrupt.size(), size_t(4));
    QCOMPARE(batch->corrupt[0].line, int64_t(2));
    QVERIFY2(batch->corrupt[0].error.find("line 2") != std::string::npos, batch->corrupt[0].error.c_str());
    QCOMPARE(batch->corrupt[1].line, int64_t(4));
    QCOMPARE(batch->corrupt[2].line, int64_t(5));
    QVERIFY(batch->corrupt[2].error.find("'type'") != std::string::npos);
    QCOMPARE(batch->corrupt[3].line, int64_t(6));
  }

  void smallReadWindowsResumeAtLineStarts() {
    QTemporaryDir tmp;
    const fs::path path = fs::path(tmp.path().toStdString()) / kEventsFileName;
    auto w = EventWriter::open(path);
    for (int i = 0; i < 50; ++i) QVERIFY((*w)->metric(i, Json{{"loss", 10.0 - i * 0.1}}).is_ok());
    uint64_t offset = 0;
    int64_t line = 1;
    std::vector<int64_t> steps;
    for (int guard = 0; guard < 1000 && offset < fs::file_size(path); ++guard) {
      auto b = read_events(path, offset, line, /*max_bytes=*/150);
      QVERIFY(b.is_ok());
      QVERIFY(b->corrupt.empty());
      for (const auto& e : b->events) steps.push_back(*e.step);
      offset = b->next_offset;
      line = b->next_line;
    }
    QCOMPARE(steps.size(), size_t(50));
    for (int i = 0; i < 50; ++i) QCOMPARE(steps[i], int64_t(i));
  }

  void concurrentWritersNeverInterleave() {
    QTemporaryDir tmp;
    const fs::path path = fs::path(tmp.path().toStdString()) / kEventsFileName;
    auto w1 = EventWriter::open(path);
    auto w2 = EventWriter::open(path);  // a second rank/process appending to the same file
    (*w2)->set_rank(1);
    const std::string big(3000, 'x');
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      EventWriter* w = (t % 2 ? *w2 : *w1).get();
      threads.emplace_back([w, t, &big] {
        for (int i = 0; i < 200; ++i) (void)w->log("info", std::to_string(t) + big);
      });
    }
    for (auto& th : threads) th.join();
    auto batch = read_events(path);
    QVERIFY(batch->corrupt.empty());
    QCOMPARE(batch->events.size(), size_t(800));
    int rank1 = 0;
    for (const auto& e : batch->events) rank1 += e.json.value("rank", 0);
    QCOMPARE(rank1, 400);
  }

  void workerWriterStampsRankFromEnvironment() {
    QTemporaryDir tmp;
    const fs::path dir = tmp.path().toStdString();
    qputenv("RANK", "3");
    qputenv("WORLD_SIZE", "4");
    {
      auto w = EventWriter::open_for_worker(dir);
      QVERIFY(w.is_ok());
      QVERIFY((*w)->metric(1, Json{{"loss", 1.0}}).is_ok());
    }
    qputenv("WORLD_SIZE", "1");
    {
      auto w = EventWriter::open_for_worker(dir);
      QVERIFY((*w)->metric(2, Json{{"loss", 0.5}}).is_ok());
    }
    qunsetenv("RANK");
    qunsetenv("WORLD_SIZE");
    auto batch = read_events(dir / kEventsFileName);
    QCOMPARE(batch->events.size(), size_t(2));
    QCOMPARE(batch->events[0].json["rank"].get<int>(), 3);
    QVERIFY(!batch->events[1].json.contains("rank"));
  }

  void reopenAfterTornLineStartsFresh() {
    QTemporaryDir tmp;
    const fs::path path = fs::path(tmp.path().toStdString()) / kEventsFileName;
    append_raw(path, "{\"type\":\"state\",\"state\":\"running\"}\n{\"type\":\"metric\",\"st");  // SIGKILL mid-line
    auto w = EventWriter::open(path);  // --resume
    QVERIFY((*w)->state("running", "resumed").is_ok());
    auto batch = read_events(path);
    QCOMPARE(batch->events.size(), size_t(2));
    QCOMPARE(batch->corrupt.size(), size_t(1));
    QCOMPARE(batch->corrupt[0].line, int64_t(2));
    auto last = last_state_event(path.string());
    QVERIFY(last.is_ok() && last->has_value());
    QCOMPARE((*last)->second, std::string("resumed"));
  }

  void jobSpecRoundTripAndFieldErrors() {
    JobSpec s;
    s.name = "tiny";
    s.command = train_command("recipe.json", "{run_dir}");
    s.run_dir = "/tmp/runs/tiny";
    s.env = {{"OMP_NUM_THREADS", "2"}};
    s.resources.nproc_per_node = 2;
    s.resources.time_limit = "1-02:00:00";
    s.target.kind = TargetKind::kSsh;
    s.target.host = "gpu01";
    s.target.kanana_binary = "/opt/kanana/bin/kanana";
    QVERIFY(s.validate().is_ok());
    auto back = job_spec_from_json(job_spec_to_json(s), "spec.json");
    QVERIFY2(back.is_ok(), back.status().to_string().c_str());
    QCOMPARE(job_spec_to_json(*back), job_spec_to_json(s));
    const auto cmd = back->resolved_command("/remote/runs/tiny");
    QCOMPARE(cmd[0], std::string("/opt/kanana/bin/kanana"));
    QCOMPARE(cmd[5], std::string("/remote/runs/tiny"));

    Json bad = job_spec_to_json(s);
    bad["resources"]["nodes"] = 2;
    auto r = job_spec_from_json(bad, "spec.json");
    QVERIFY(!r.is_ok());
    QVERIFY2(r.status().message().find("spec.json: field 'resources.nodes'") != std::string::npos, r.status().message().c_str());
    bad = job_spec_to_json(s);
    bad["resources"]["time_limt"] = "1:00";
    r = job_spec_from_json(bad, "spec.json");
    QVERIFY2(!r.is_ok() && r.status().message().find("time_limt") != std::string::npos, r.status().message().c_str());
    bad = job_spec_to_json(s);
    bad["target"]["host"] = "-oProxyCommand=evil";
    r = job_spec_from_json(bad, "spec.json");
    QVERIFY(!r.is_ok() && r.status().message().find("target.host") != std::string::npos);
    bad = job_spec_to_json(s);
    bad["env"] = Json{{"BAD NAME", "x"}};
    r = job_spec_from_json(bad, "spec.json");
    QVERIFY(!r.is_ok() && r.status().message().find("env.BAD NAME") != std::string::npos);
    bad = job_spec_to_json(s);
    bad["resources"]["nproc_per_node"] = "two";
    r = job_spec_from_json(bad, "spec.json");
    QVERIFY(!r.is_ok() && r.status().message().find("resources.nproc_per_node") != std::string::npos);
  }

  void stateDerivation() {
    StateEvidence ev;
    ev.supervisor_alive = true;
    QCOMPARE(derive_job_status(ev).state, JobState::kRunning);
    ev.supervisor_alive = false;
    ev.exit_status = Json{{"exit_code", 137}, {"failed_rank", 1}, {"cancelled", false}};
    auto s = derive_job_status(ev);
    QCOMPARE(s.state, JobState::kFailed);
    QCOMPARE(*s.signal, 9);
    QVERIFY2(s.reason.find("rank 1 killed by signal 9 (SIGKILL)") != std::string::npos, s.reason.c_str());
    ev.exit_status = Json{{"exit_code", 0}, {"failed_rank", -1}, {"cancelled", false}};
    QCOMPARE(derive_job_status(ev).state, JobState::kFinished);
    ev.last_state_event = "failed";
    ev.last_state_reason = "loss is NaN";
    s = derive_job_status(ev);
    QCOMPARE(s.state, JobState::kFailed);
    QVERIFY(s.reason.find("NaN") != std::string::npos);
    // Everything gone, no record, last event "running": interrupted → failed.
    StateEvidence gone;
    gone.supervisor_alive = false;
    gone.rank_exit_codes = {std::nullopt};
    gone.last_state_event = "running";
    s = derive_job_status(gone);
    QCOMPARE(s.state, JobState::kFailed);
    QVERIFY(s.reason.find("interrupted") != std::string::npos);
    gone.cancel_requested = true;
    QCOMPARE(derive_job_status(gone).state, JobState::kCancelled);
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestJobsEvents)
#include "test_jobs_events.moc"
