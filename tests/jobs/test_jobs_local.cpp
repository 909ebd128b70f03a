// LocalLauncher against real processes: a detached worker outlives the process that launched
// it, states move queued/running → finished, SIGKILL of a worker reads as failed with signal 9,
// cancel (with SIGKILL escalation), one failed rank stops the others, torchrun variables per
// rank, and argv passes through the supervisor shell byte for byte.
#include <QtTest>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "base/files.h"
#include "base/strings.h"
#include "jobs/events.h"
#include "jobs/local_launcher.h"
#include "launcher_wait.h"

using namespace kanana;
using namespace kanana::jobs;
using kanana::test::wait_final;
namespace fs = std::filesystem;

namespace {

JobSpec sh_job(const fs::path& run_dir, const std::string& script, int ranks = 1) {
  JobSpec s;
  s.name = run_dir.filename().string();
  s.kind = "test";
  s.command = {"/bin/sh", "-c", script, "worker"};
  s.run_dir = run_dir.string();
  s.resources.nproc_per_node = ranks;
  return s;
}


bool wait_for_file(const fs::path& p, double timeout_s) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(p)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::vector<int64_t> rank_pids(const fs::path& dir) {
  std::vector<int64_t> pids;
  if (!wait_for_file(dir / kPidsFileName, 5)) return pids;
  for (const auto& p : split(std::string(trim(*read_file(dir / kPidsFileName))), ' ')) {
    if (!p.empty()) pids.push_back(std::stoll(p));
  }
  return pids;
}

const char* kEventScript =
    "echo '{\"type\":\"state\",\"state\":\"running\"}' >> events.jsonl; "
    "i=0; while [ $i -lt 3 ]; do i=$((i+1)); "
    "echo \"{\\\"type\\\":\\\"metric\\\",\\\"step\\\":$i,\\\"metrics\\\":{\\\"loss\\\":$((10-i))}}\" >> events.jsonl; "
    "sleep 0.3; done; "
    "echo '{\"type\":\"state\",\"state\":\"finished\"}' >> events.jsonl";

}  // namespace

class TestJobsLocal : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void detachedWorkerOutlivesTheLaunchingProcess() {
    QTemporaryDir tmp;
    const fs::path run = fs::path(tmp.path().toStdString()) / "run-detached";
    // "The GUI closes": a child process launches the job, destroys its launcher and exits.
    const pid_t gui = ::fork();
    if (gui == 0) {
      {
        LocalLauncher launcher;
        auto h = launcher.launch(sh_job(run, kEventScript));
        if (!h.is_ok()) ::_exit(3);
      }
      ::_exit(0);
    }
    int status = 0;
    ::waitpid(gui, &status, 0);
    QCOMPARE(WEXITSTATUS(status), 0);

    auto h = attach(run);  // a new process re-attaches from the run folder alone
    QVERIFY2(h.is_ok(), h.status().to_string().c_str());
    QVERIFY(h->pid > 0);
    QVERIFY(h->pid_start_time > 0);
    LocalLauncher launcher;
    auto st = launcher.poll(*h);
    QVERIFY(st.is_ok());
    QCOMPARE(st->state, JobState::kRunning);
    QVERIFY(st->process_alive);
    // The supervisor is not our child: it was re-parented when the "GUI" exited.
    QVERIFY(::waitpid(static_cast<pid_t>(h->pid), nullptr, WNOHANG) < 0);

    auto final_state = wait_final(launcher, *h, 15);
    QCOMPARE(final_state.state, JobState::kFinished);
    QCOMPARE(*final_state.exit_code, 0);
    auto summary = summarize_events(run / kEventsFileName);
    QCOMPARE(*summary->last_state, std::string("finished"));
    QCOMPARE(*summary->last_metric_step, int64_t(3));
    QVERIFY(fs::exists(run / "job_spec.json"));
    QVERIFY(fs::exists(run / rank_log_name(0)));
  }

  void sigkillOfWorkerIsFailedWithSignal9() {
    QTemporaryDir tmp;
    const fs::path run = fs::path(tmp.path().toStdString()) / "run-kill";
    LocalLauncher launcher;
    auto h = launcher.launch(sh_job(run, "echo '{\"type\":\"state\",\"state\":\"running\"}' >> events.jsonl; exec sleep 30"));
    QVERIFY2(h.is_ok(), h.status().to_string().c_str());
    auto pids = rank_pids(run);
    QCOMPARE(pids.size(), size_t(1));
    QVERIFY(wait_for_file(run / kEventsFileName, 5));
    QCOMPARE(launcher.poll(*h)->state, JobState::kRunning);
    QCOMPARE(::kill(static_cast<pid_t>(pids[0]), SIGKILL), 0);
    auto st = wait_final(launcher, *h, 10);
    QCOMPARE(st.state, JobState::kFailed);
    QVERIFY(st.signal.has_value());
    QCOMPARE(*st.signal, 9);
    QVERIFY2(st.reason.find("SIGKILL") != std::string::npos, st.reason.c_str());
  }

  void killingEverythingStillReadsAsFailed() {
    QTemporaryDir tmp;
    const fs::path run = fs::path(tmp.path().toStdString()) / "run-kill-all";
    LocalLauncher launcher;
    auto h = launcher.launch(sh_job(run, "echo '{\"type\":\"state\",\"state\":\"running\"}' >> events.jsonl; exec sleep 30"));
    QVERIFY(h.is_ok());
    auto pids = rank_pids(run);
    QCOMPARE(pids.size(), size_t(1));
    // Supervisor first (no exit_status.json will ever be written), then the worker.
    QCOMPARE(::kill(static_cast<pid_t>(h->pid), SIGKILL), 0);
    QVERIFY(wait_final(launcher, *h, 0.5).state == JobState::kRunning);  // the rank still runs
    QCOMPARE(::kill(static_cast<pid_t>(pids[0]), SIGKILL), 0);
    auto st = wait_final(launcher, *h, 10);
    QCOMPARE(st.state, JobState::kFailed);
    QVERIFY(!fs::exists(run / kExitStatusFileName));
    QVERIFY2(st.signal == 9 || st.reason.find("interrupted") != std::string::npos, st.reason.c_str());
  }

  void cancelIsCancelledAndEscalatesToSigkill() {
    QTemporaryDir tmp;
    LocalLauncher launcher(LauncherOptions{.cancel_grace_s = 1});
    const fs::path polite = fs::path(tmp.path().toStdString()) / "run-cancel";
    auto h1 = launcher.launch(sh_job(polite, "exec sleep 30"));
    // A worker that ignores SIGTERM must still stop (SIGKILL after the grace period).
    const fs::path stubborn = fs::path(tmp.path().toStdString()) / "run-stubborn";
    auto h2 = launcher.launch(sh_job(stubborn, "trap '' TERM; while :; do sleep 0.1; done"));
    QVERIFY(h1.is_ok() && h2.is_ok());
    auto p1 = rank_pids(polite);
    auto p2 = rank_pids(stubborn);
    QVERIFY(launcher.cancel(*h1).is_ok());
    QVERIFY(launcher.cancel(*h2).is_ok());
    auto s1 = wait_final(launcher, *h1, 5);
    QCOMPARE(s1.state, JobState::kCancelled);
    auto s2 = wait_final(launcher, *h2, 10);
    QCOMPARE(s2.state, JobState::kCancelled);
    QVERIFY(!process_alive(p1[0]));
    QVERIFY(!process_alive(p2[0]));
    auto x = read_json_file(stubborn / kExitStatusFileName);
    QVERIFY(x.is_ok());
    QCOMPARE((*x)["rank_exit_codes"][0].get<int>(), 137);  // needed the SIGKILL
    QVERIFY(launcher.cancel(*h1).is_ok());  // cancelling a finished job is a no-op
  }

  void twoRanksGetTorchrunEnvironment() {
    QTemporaryDir tmp;
    const fs::path run = fs::path(tmp.path().toStdString()) / "run-ranks";
    JobSpec spec = sh_job(run,
                          "echo \"RANK=$RANK LOCAL_RANK=$LOCAL_RANK WORLD_SIZE=$WORLD_SIZE "
                          "MASTER_ADDR=$MASTER_ADDR MASTER_PORT=$MASTER_PORT CUSTOM=$CUSTOM\"",
                          2);
    spec.env["CUSTOM"] = "it's a \"value\" $(not run)";
    LocalLauncher launcher;
    auto h = launcher.launch(spec);
    QVERIFY(h.is_ok());
    QCOMPARE(h->world_size, 2);
    QVERIFY(h->master_port > 0);
    auto st = wait_final(launcher, *h, 10);
    QCOMPARE(st.state, JobState::kFinished);
    for (int k = 0; k < 2; ++k) {
      const std::string log = *read_file(run / rank_log_name(k));
      const std::string want = "RANK=" + std::to_string(k) + " LOCAL_RANK=" + std::to_string(k) +
                               " WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(h->master_port) +
                               " CUSTOM=it's a \"value\" $(not run)\n";
      QCOMPARE(log, want);
    }
  }

  void oneFailedRankStopsTheOthers() {
    QTemporaryDir tmp;
    const fs::path run = fs::path(tmp.path().toStdString()) / "run-rank-fail";
    LocalLauncher launcher;
    auto h = launcher.launch(sh_job(run, "if [ \"$RANK\" = 1 ]; then exit 3; fi; exec sleep 30", 2));
    QVERIFY(h.is_ok());
    const auto t0 = std::chrono::steady_clock::now();
    auto st = wait_final(launcher, *h, 10);
    QVERIFY(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(8));
    QCOMPARE(st.state, JobState::kFailed);
    QCOMPARE(*st.failed_rank, 1);
    QCOMPARE(*st.exit_code, 3);
    QVERIFY2(st.reason.find("rank 1 exit code 3") != std::string::npos, st.reason.c_str());
  }

  void argvSurvivesTheSupervisorShell() {
    QTemporaryDir tmp;
    const fs::path run = fs::path(tmp.path().toStdString()) / "run argv '$(x)'";
    const std::string nasty = "it's \"quoted\" $(touch pwned) `id` ; rm -rf / | & \n 한국어 \\ *";
    JobSpec s;
    s.name = "argv";
    s.command = {"/bin/sh", "-c", "printf '%s' \"$1\" > arg.txt", "worker", nasty};
    s.run_dir = run.string();
    LocalLauncher launcher;
    auto h = launcher.launch(s);
    QVERIFY2(h.is_ok(), h.status().to_string().c_str());
    QCOMPARE(wait_final(launcher, *h, 10).state, JobState::kFinished);
    QCOMPARE(*read_file(run / "arg.txt"), nasty);
    QVERIFY(!fs::exists(run / "pwned"));
  }

  void supervisorEndsWhenItsRunFolderIsDeleted() {
    QTemporaryDir tmp;
    const fs::path run = fs::path(tmp.path().toStdString()) / "run-deleted";
    LocalLauncher launcher;
    auto h = launcher.launch(sh_job(run, "exec sleep 30"));
    QVERIFY(h.is_ok());
    auto pids = rank_pids(run);
    QCOMPARE(pids.size(), size_t(1));
    fs::remove_all(run);
    ::kill(static_cast<pid_t>(pids[0]), SIGKILL);
    bool ended = false;
    for (int i = 0; i < 100 && !ended; ++i) {
      ended = !process_alive(h->pid, h->pid_start_time);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    QVERIFY(ended);  // no supervisor left looping over a folder that is gone
  }

  // Deleted at once, maybe before any rank wrote its pid file: the supervisor still ends
  // (whichever of its loops it is in) and leaves no process behind.
  void supervisorEndsWhenItsRunFolderIsDeletedAtOnce() {
    for (int trial = 0; trial < 5; ++trial) {
      QTemporaryDir tmp;
      const fs::path run = fs::path(tmp.path().toStdString()) / "run-gone";
      LocalLauncher launcher;
      auto h = launcher.launch(sh_job(run, "exec sleep 2"));
      QVERIFY(h.is_ok());
      // The supervisor may be writing into the folder while it goes: remove until it is gone.
      std::error_code ec;
      for (int i = 0; i < 100 && fs::exists(run); ++i) fs::remove_all(run, ec);
      QVERIFY(!fs::exists(run));
      bool ended = false;
      for (int i = 0; i < 200 && !ended; ++i) {
        ended = !process_alive(h->pid, h->pid_start_time);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      QVERIFY2(ended, ("trial " + std::to_string(trial)).c_str());
    }
  }

  void refusesASecondJobInARunningFolder() {
    QTemporaryDir tmp;
    const fs::path run = fs::path(tmp.path().toStdString()) / "run-busy";
    LocalLauncher launcher;
    auto h = launcher.launch(sh_job(run, "exec sleep 30"));
    QVERIFY(h.is_ok());
    auto again = launcher.launch(sh_job(run, "true"));
    QVERIFY(!again.is_ok());
    QCOMPARE(again.status().code(), StatusCode::kAlreadyExists);
    QVERIFY(launcher.cancel(*h).is_ok());
    QCOMPARE(wait_final(launcher, *h, 5).state, JobState::kCancelled);
  }

  // A cancel right after launch() races the supervisor's start-up (its SIGTERM trap, its
  // clean-up of old evidence): whatever point the script has reached, the job reads as cancelled.
  void cancelRightAfterLaunchIsAlwaysCancelled() {
    QTemporaryDir tmp;
    LauncherOptions options;
    options.cancel_grace_s = 1;
    LocalLauncher launcher(options);
    for (int i = 0; i < 12; ++i) {
      const fs::path run = fs::path(tmp.path().toStdString()) / ("run-race-" + std::to_string(i));
      auto h = launcher.launch(sh_job(run, "exec sleep 30"));
      QVERIFY(h.is_ok());
      if (i % 3 == 1) std::this_thread::sleep_for(std::chrono::milliseconds(2 * i));
      QVERIFY(launcher.cancel(*h).is_ok());
      const JobStatus st = wait_final(launcher, *h, 10);
      QVERIFY2(st.state == JobState::kCancelled, ("try " + std::to_string(i) + ": " + std::string(job_state_name(st.state)) +
                                                   " (" + st.reason + ")").c_str());
    }
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestJobsLocal)
#include "test_jobs_local.moc"
