// Runs under a real single-node Slurm (munged + slurmctld + slurmd started in a temp folder by
// scripts/slurm-cluster.sh, which waits until sinfo shows the node idle; the fixture stops
// every process it started when the suite ends, also after a failed check). Everything goes
// through `kanana runs launch/list/show/cancel` and the workspace's run registry, as the GUI
// uses them; each `kanana` call is a new process that re-attaches to the job from the
// workspace, as a GUI started after submission does.
//   - a 2-rank Gloo pre-training run (sbatch + srun) finishes with exactly the loss
//     trajectory of the same run launched locally with 2 ranks, and the registry reports
//     queued (PENDING, held behind a job filling the node) → running → finished from the real
//     squeue/scontrol (accounting is off in this cluster, so sacct answers nothing);
//   - cancel (scancel): the ranks agree to stop, rank 0 writes a checkpoint, the run is cancelled;
//   - killing one srun task fails the job, naming the rank and its last log lines, within a
//     bounded time, with no process of the job left;
//   - a model server (`kanana serve --config`, kind "serve") answers at the URL in its log until
//     it is cancelled;
//   - bad input: an unknown partition, a job bigger than the node, no slurm.conf, no sbatch:
//     clear errors carrying Slurm's words, and nothing registered or left in runs/.
// The preemption check (time limit → SIGUSR1 → checkpoint → requeue → resume, final weights
// bit-identical to an uninterrupted run) takes minutes: it runs only with KANANA_SLURM_LONG=1
// (scripts/slurm-long-tests.sh; CTest test_slurm_preempt when configured with
// -DKANANA_LONG_TESTS=ON).
#include <httplib.h>

#include <QElapsedTimer>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <set>

#include "../shards/shard_test_util.h"
#include "base/files.h"
#include "base/json.h"
#include "jobs/events.h"
#include "test_support.h"

using namespace kanana;
namespace fs = std::filesystem;

namespace {

QString source_path(const QString& rel) { return kanana::test::source_dir() + "/" + rel; }

struct Ran {
  int code = -1;
  QString out, err;
};

Ran run(const QString& program, const QStringList& args, const QProcessEnvironment& env, int timeout_ms = 120000) {
  QProcess p;
  p.setProcessEnvironment(env);
  p.start(program, args);
  Ran r;
  if (!p.waitForStarted(10000)) {
    r.err = "could not start " + program;
    return r;
  }
  if (!p.waitForFinished(timeout_ms)) {
    p.kill();
    p.waitForFinished(5000);
    r.err = program + " timed out";
  }
  r.code = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
  r.out = QString::fromUtf8(p.readAllStandardOutput());
  r.err += QString::fromUtf8(p.readAllStandardError());
  return r;
}

// pids of processes whose environment has SLURM_JOB_ID=job and SLURM_CONF=conf (the job's
// tasks and their children), optionally only SLURM_PROCID=rank.
std::vector<pid_t> job_processes(const std::string& job, const std::string& conf, int rank = -1) {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto env = read_file(entry.path() / "environ");
    if (!env.is_ok()) continue;
    std::set<std::string> vars;
    size_t at = 0;
    while (at < env->size()) {
      const size_t end = env->find('\0', at);
      vars.insert(env->substr(at, end == std::string::npos ? std::string::npos : end - at));
      if (end == std::string::npos) break;
      at = end + 1;
    }
    if (!vars.count("SLURM_JOB_ID=" + job) || !vars.count("SLURM_CONF=" + conf)) continue;
    if (rank >= 0 && !vars.count("SLURM_PROCID=" + std::to_string(rank))) continue;
    auto stat = read_file(entry.path() / "stat");
    if (stat.is_ok() && stat->find(") Z") != std::string::npos) continue;  // zombie
    out.push_back(pid_t(std::stoi(name)));
  }
  return out;
}

// The "loss" of every metric event, by step.
std::map<int64_t, double> loss_by_step(const fs::path& run_dir) {
  std::map<int64_t, double> out;
  auto batch = jobs::read_events(run_dir / jobs::kEventsFileName);
  if (!batch.is_ok()) return out;
  for (const auto& e : batch->events)
    if (e.type == "metric" && e.json.contains("metrics") && e.json["metrics"].contains("loss"))
      out[e.json.value("step", int64_t(-1))] = e.json["metrics"]["loss"].get<double>();
  return out;
}

}  // namespace

class TestSlurmLive : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path root_;
  QString cluster_, ws_, kanana_;
  QProcessEnvironment env_;
  std::string conf_;
  bool started_ = false;

  QString path(const std::string& rel) const { return QString::fromStdString((root_ / rel).string()); }

  // `kanana ARGS --workspace WS` with the cluster's environment (or `env`).
  Ran kanana(QStringList args, const QProcessEnvironment* env = nullptr, int timeout_ms = 120000) {
    args << "--workspace" << ws_;
    return run(kanana_, args, env ? *env : env_, timeout_ms);
  }
  Ran slurm(const QString& program, const QStringList& args) { return run(program, args, env_, 30000); }

  // A pre-training recipe on the debug model: `steps` steps of 2 rows × 16 tokens per rank.
  QString write_recipe(const std::string& name, int64_t steps, int64_t checkpoint_interval) {
    Json src = Json::array({Json{{"name", "src"}, {"path", (root_ / "pack").string()}, {"weight", 1.0}}});
    Json r = {{"type", "pretrain"}, {"name", name}, {"model", {{"preset", "debug"}}}, {"seq_len", 16},
              {"micro_batch_size", 2}, {"seed", 7},
              {"stages", Json::array({Json{{"name", "s1"}, {"token_budget", steps * 64}, {"sources", src},
                                           {"schedule", {{"kind", "cosine"}, {"peak_lr", 2e-3}, {"warmup_steps", 2}}}}})},
              {"checkpoint", {{"interval", checkpoint_interval}, {"keep_last", 2}}},
              {"runtime", {{"peak_tflops", 1.0}, {"log_interval", 1}}}};
    std::ofstream(root_ / (name + ".json")) << r.dump(2);
    return path(name + ".json");
  }

  // A job spec running `kanana train` on `recipe` with 2 ranks.
  QString write_spec(const std::string& name, const QString& recipe, const std::string& target, Json resources = {}) {
    Json res = {{"nproc_per_node", 2}};
    if (resources.is_object()) res.merge_patch(resources);
    Json spec = {{"name", name},
                 {"kind", "pretrain"},
                 {"command", {kanana_.toStdString(), "train", "--recipe", recipe.toStdString(), "--run-dir", "{run_dir}",
                              "--threads", "1", "--quiet"}},
                 {"resources", res},
                 {"target", {{"kind", target}}}};
    std::ofstream(root_ / (name + ".spec.json")) << spec.dump(2);
    return path(name + ".spec.json");
  }

  // "run 3 launched: /path" → 3 (0 if not launched).
  static int launched_id(const Ran& r) {
    const auto m = QRegularExpression(QStringLiteral("run (\\d+) launched: ")).match(r.out);
    return m.hasMatch() ? m.captured(1).toInt() : 0;
  }

  // The recorded state word of run `id` from `kanana runs list --all` (which refreshes it).
  QString state_of(int id) {
    Ran r = kanana({"runs", "list", "--all"});
    for (const QString& line : r.out.split('\n')) {
      const QStringList f = line.simplified().split(' ');
      if (f.size() >= 2 && f[0] == QString::number(id)) return f[1];
    }
    return "?";
  }
  QString show(int id) { return kanana({"runs", "show", QString::number(id), "--lines", "3"}).out; }
  std::string field(const QString& text, const QString& name) {
    const auto m = QRegularExpression("^" + name + ":\\s*(.*)$", QRegularExpression::MultilineOption).match(text);
    return m.hasMatch() ? m.captured(1).trimmed().toStdString() : std::string();
  }

  // Polls run `id` until its state is `want` (or a final one), recording every state seen.
  QString wait_state(int id, const QString& want, int timeout_ms, QStringList* seen = nullptr) {
    QElapsedTimer t;
    t.start();
    QString s;
    while (t.elapsed() < timeout_ms) {
      s = state_of(id);
      if (seen && (seen->isEmpty() || seen->back() != s)) seen->append(s);
      if (s == want || s == "finished" || s == "failed" || s == "cancelled") return s;
      QThread::msleep(300);
    }
    return s;
  }

  bool wait_metric(const fs::path& run_dir, int timeout_ms) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < timeout_ms) {
      if (!loss_by_step(run_dir).empty()) return true;
      QThread::msleep(200);
    }
    return false;
  }

  // Launches `spec` and returns (run id, run folder).
  std::pair<int, fs::path> launch(const QString& spec) {
    Ran r = kanana({"runs", "launch", "--spec", spec});
    const int id = launched_id(r);
    if (!id) qWarning("runs launch failed (%d): %s%s", r.code, qPrintable(r.out), qPrintable(r.err));
    const auto m = QRegularExpression(QStringLiteral("launched: (.*)$"), QRegularExpression::MultilineOption).match(r.out);
    return {id, fs::path(m.captured(1).trimmed().toStdString())};
  }

  int runs_registered() {
    Ran r = kanana({"runs", "list", "--all", "--no-refresh"});
    int n = 0;
    for (const QString& line : r.out.split('\n'))
      if (QRegularExpression("^\\d+ ").match(line).hasMatch()) ++n;
    return n;
  }

  void stop_cluster() {
    if (!started_) return;
    started_ = false;
    run("bash", {cluster_, "stop", path("cluster")}, QProcessEnvironment::systemEnvironment(), 60000);
  }

 public:
  ~TestSlurmLive() override { stop_cluster(); }

 private Q_SLOTS:
  void initTestCase() {
    kanana_ = kanana::test::bin_path("kanana");
    QVERIFY2(QFile::exists(kanana_), "the kanana executable is not built");
    QVERIFY2(::geteuid() == 0, "needs root: slurmd runs the job steps (see docs/slurm-test-cluster.md)");
    root_ = tmp_.path().toStdString();
    cluster_ = source_path("scripts/slurm-cluster.sh");
    auto base = QProcessEnvironment::systemEnvironment();
    base.insert("SLURM_CLUSTER_START_TIMEOUT", "40");
    started_ = true;  // stop even a half-started cluster
    Ran up = run("bash", {cluster_, "start", path("cluster")}, base, 90000);
    QVERIFY2(up.code == 0, qPrintable("the test cluster did not start: " + up.err));
    conf_ = (root_ / "cluster" / "etc" / "slurm.conf").string();
    env_ = QProcessEnvironment::systemEnvironment();
    env_.insert("SLURM_CONF", QString::fromStdString(conf_));
    for (const char* v : {"SLURM_JOB_ID", "SLURM_JOBID", "SLURM_CLUSTERS", "SLURM_PARTITION", "SBATCH_PARTITION",
                          "SQUEUE_FORMAT", "SACCT_FORMAT"})
      env_.remove(v);
    Ran idle = slurm("sinfo", {"-h", "-o", "%T"});
    QCOMPARE(idle.out.trimmed(), QString("idle"));

    auto m = shards::test::write_synthetic_pack(root_ / "pack", shards::test::synthetic_docs(300, 3, 512, 5, 60), "src",
                                                1 << 20, 10, "fp-test", 512);
    QVERIFY2(m.is_ok(), m.status().message().c_str());
    ws_ = path("ws");
    Ran init = run(kanana_, {"workspace", "init", ws_}, env_);
    QVERIFY2(init.code == 0, qPrintable(init.err));
  }

  void cleanupTestCase() {
    stop_cluster();
    // Nothing of the cluster or its jobs is left.
    QProcess p;
    p.start("pgrep", {"-f", QString::fromStdString(root_.string()) + "/"});
    p.waitForFinished(10000);
    const QString left = QString::fromUtf8(p.readAllStandardOutput()).trimmed();
    QVERIFY2(left.isEmpty(), qPrintable("processes left after stop: " + left));
  }

  void twoRankRunMatchesLocalRun() {
    const QString recipe = write_recipe("match", 8, 4);
    // Local, 2 ranks: the reference trajectory.
    auto [local_id, local_dir] = launch(write_spec("match-local", recipe, "local"));
    QVERIFY(local_id > 0);
    QCOMPARE(wait_state(local_id, "finished", 120000), QString("finished"));

    // Fill the node (2 CPUs) so the run waits in the queue: PENDING is then really seen.
    Ran blocker = slurm("sbatch", {"--parsable", "--ntasks=2", "--output=/dev/null", "--wrap", "sleep 120"});
    QVERIFY2(blocker.code == 0, qPrintable(blocker.err));
    const QString blocker_id = blocker.out.trimmed().section(';', 0, 0);
    auto [id, dir] = launch(write_spec("match-slurm", recipe, "slurm"));
    QVERIFY(id > 0);
    const std::string job = field(show(id), "slurm job");
    QVERIFY(!job.empty());
    QStringList seen;
    QCOMPARE(wait_state(id, "queued", 10000, &seen), QString("queued"));
    QCOMPARE(slurm("squeue", {"-h", "-j", QString::fromStdString(job), "-o", "%T"}).out.trimmed(), QString("PENDING"));
    QVERIFY(slurm("scancel", {blocker_id}).code == 0);
    QCOMPARE(wait_state(id, "finished", 120000, &seen), QString("finished"));
    // queued → running → finished, as the registry recorded them on the way.
    QVERIFY2(seen.join(" ").contains(QRegularExpression("queued( queued)*.*running.*finished")), qPrintable(seen.join(" ")));
    QCOMPARE(QString::fromStdString(field(show(id), "state")), QString("finished"));

    const auto want = loss_by_step(local_dir), got = loss_by_step(dir);
    QCOMPARE(want.size(), size_t(8));
    QCOMPARE(got.size(), want.size());
    for (const auto& [step, loss] : want) QVERIFY2(got.at(step) == loss, std::to_string(step).c_str());  // exact
    QVERIFY(fs::exists(dir / "rank-1.log") && fs::exists(dir / "exit_status.json"));
  }

  void cancelWritesCheckpoint() {
    auto [id, dir] = launch(write_spec("cancel", write_recipe("cancel", 20000, 0), "slurm"));
    QVERIFY(id > 0);
    QCOMPARE(wait_state(id, "running", 30000), QString("running"));
    QVERIFY(wait_metric(dir, 60000));
    Ran c = kanana({"runs", "cancel", QString::number(id)});
    QVERIFY2(c.code == 0, qPrintable(c.err));
    QCOMPARE(wait_state(id, "cancelled", 30000), QString("cancelled"));
    // Rank 0 wrote a checkpoint before exiting (Slurm's KillWait gave it 5 s after SIGTERM).
    auto ev = jobs::summarize_events(dir / jobs::kEventsFileName);
    QVERIFY(ev.is_ok());
    QVERIFY2(!ev->checkpoints.empty(), "no checkpoint event after scancel");
    QCOMPARE(ev->last_state.value_or(""), std::string("cancelled"));
    QVERIFY(fs::exists(dir / "checkpoints"));
    QVERIFY(show(id).contains("checkpoint: step"));
  }

  void deadRankFailsTheJob() {
    auto [id, dir] = launch(write_spec("dead", write_recipe("dead", 20000, 0), "slurm"));
    QVERIFY(id > 0);
    QCOMPARE(wait_state(id, "running", 30000), QString("running"));
    QVERIFY(wait_metric(dir, 60000));
    const std::string job = field(show(id), "slurm job");
    std::vector<pid_t> rank1;
    for (pid_t p : job_processes(job, conf_, 1)) {
      auto comm = read_file("/proc/" + std::to_string(p) + "/comm");
      if (comm.is_ok() && comm->rfind("kanana", 0) == 0) rank1.push_back(p);
    }
    QCOMPARE(rank1.size(), size_t(1));
    QElapsedTimer t;
    t.start();
    ::kill(rank1.front(), SIGKILL);
    QCOMPARE(wait_state(id, "failed", 60000), QString("failed"));
    const QString text = show(id);
    QVERIFY2(text.contains("rank 1 killed by signal 9"), qPrintable(text));
    QVERIFY2(text.contains("last lines of rank-1.log"), qPrintable(text));
    // No process of the job is left (srun --kill-on-bad-exit ended rank 0 too).
    while (!job_processes(job, conf_).empty() && t.elapsed() < 30000) QThread::msleep(200);
    QVERIFY2(job_processes(job, conf_).empty(), "processes of the failed job are still running");
    qInfo("rank 1 killed → run failed and the job's processes gone in %.1f s", double(t.elapsed()) / 1000);
  }

  // A model server as a Slurm job (what the Jobs page's "Serve a model" submits): the run is
  // running, its rank-0.log says where it serves, it answers there, and a cancel stops it with
  // nothing of the job left.
  void serveJobAnswersUntilCancelled() {
    const QString tokenizer = kanana::test::data_cache() + "/tokenizers/llama3";
    if (!QFile::exists(tokenizer + "/tokenizer.json")) QSKIP("the Llama 3 tokenizer is not in the data cache");
    const QString model = path("serve-model");
    Ran init = run(kanana_, {"model", "init", "--preset", "debug", "--tokenizer", tokenizer, "--out", model}, env_);
    QVERIFY2(init.code == 0, qPrintable(init.err));
    std::ofstream(root_ / "serve.json") << Json{{"model", Json::array({model.toStdString()})}, {"port", 0},
                                                {"weights", "f32"}, {"threads", 1}, {"parallel", 1}}.dump(2);
    Json spec = {{"name", "serve"}, {"kind", "serve"},
                 {"command", {kanana_.toStdString(), "serve", "--config", (root_ / "serve.json").string()}},
                 {"resources", {{"nproc_per_node", 1}}}, {"target", {{"kind", "slurm"}}}};
    std::ofstream(root_ / "serve.spec.json") << spec.dump(2);
    auto [id, dir] = launch(path("serve.spec.json"));
    QVERIFY(id > 0);
    QCOMPARE(wait_state(id, "running", 30000), QString("running"));
    QRegularExpressionMatch m;
    QElapsedTimer t;
    t.start();
    while (!m.hasMatch() && t.elapsed() < 60000) {
      QThread::msleep(200);
      m = QRegularExpression(QStringLiteral("serving on http://([^:]+):(\\d+)/v1"))
              .match(QString::fromStdString(read_file(dir / "rank-0.log").value_or(std::string())));
    }
    QVERIFY2(m.hasMatch(), read_file(dir / "rank-0.log").value_or(std::string("(no rank-0.log)")).c_str());
    httplib::Client client(m.captured(1).toStdString(), m.captured(2).toInt());
    client.set_read_timeout(30, 0);
    auto health = client.Get("/health");
    QVERIFY(health);
    QCOMPARE(health->status, 200);
    const std::string job = field(show(id), "slurm job");
    Ran c = kanana({"runs", "cancel", QString::number(id)});
    QVERIFY2(c.code == 0, qPrintable(c.err));
    QCOMPARE(wait_state(id, "cancelled", 30000), QString("cancelled"));
    while (!job_processes(job, conf_).empty() && t.elapsed() < 90000) QThread::msleep(200);
    QVERIFY2(job_processes(job, conf_).empty(), "processes of the cancelled server are still running");
    QVERIFY(!client.Get("/health"));
  }

  void badInputIsNamedAndLeavesNothing() {
    const QString recipe = write_recipe("bad", 4, 0);
    const int before = runs_registered();
    auto runs_folders = [&] {
      int n = 0;
      for (const auto& e : fs::directory_iterator(fs::path(ws_.toStdString()) / "runs"))
        if (e.path().filename().string().rfind("bad-", 0) == 0) ++n;
      return n;
    };
    Ran r = kanana({"runs", "launch", "--spec", write_spec("bad-partition", recipe, "slurm", {{"partition", "nosuch"}})});
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("Invalid partition name specified") && r.err.contains("Slurm refused the job"), qPrintable(r.err));

    r = kanana({"runs", "launch", "--spec", write_spec("bad-size", recipe, "slurm", {{"nproc_per_node", 64}})});
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("sbatch: error"), qPrintable(r.err));

    QProcessEnvironment no_conf = env_;
    no_conf.insert("SLURM_CONF", path("nowhere/slurm.conf"));
    r = kanana({"runs", "launch", "--spec", write_spec("bad-conf", recipe, "slurm")}, &no_conf);
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("slurm.conf"), qPrintable(r.err));

    QProcessEnvironment no_sbatch = env_;
    no_sbatch.insert("PATH", path("empty-bin"));
    r = kanana({"runs", "launch", "--spec", write_spec("bad-nosbatch", recipe, "slurm")}, &no_sbatch);
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("cannot run 'sbatch'") && r.err.contains("slurm-client"), qPrintable(r.err));

    QCOMPARE(runs_registered(), before);
    QCOMPARE(runs_folders(), 0);
  }

  // Time limit 2 min, SIGUSR1 45 s before it: the ranks checkpoint, the job requeues itself
  // and the requeued job resumes; its final weights equal an uninterrupted local run's.
  void preemptionRequeuesAndResumes() {
    if (qgetenv("KANANA_SLURM_LONG") != "1") QSKIP("takes minutes: run scripts/slurm-long-tests.sh (KANANA_SLURM_LONG=1)");
    const int64_t steps = qEnvironmentVariableIntValue("KANANA_SLURM_PREEMPT_STEPS") > 0
                              ? qEnvironmentVariableIntValue("KANANA_SLURM_PREEMPT_STEPS")
                              : 12000;  // ~75 s before the warning, then one requeue (290 s in all here)
    const QString recipe = write_recipe("preempt", steps, 0);
    auto [id, dir] = launch(write_spec("preempt", recipe, "slurm", {{"time_limit", "2"}, {"requeue_warning_s", 45}}));
    QVERIFY(id > 0);
    auto [local_id, local_dir] = launch(write_spec("preempt-local", recipe, "local"));
    QVERIFY(local_id > 0);
    QStringList seen;
    const QString state = wait_state(id, "finished", 900000, &seen);
    if (state != "finished") {  // say why: the run, the batch log, the ranks' last lines
      QString why = show(id);
      for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".out" || e.path().extension() == ".log")
          why += "\n--- " + QString::fromStdString(e.path().filename().string()) + "\n" +
                 QString::fromStdString(read_file(e.path()).value_or("")).right(1500);
      QFAIL(qPrintable("states " + seen.join(" ") + "\n" + why));
    }
    QCOMPARE(wait_state(local_id, "finished", 900000), QString("finished"));
    // The run was preempted (state "queued" with the reason in events) and resumed.
    bool preempted = false, resumed = false;
    const auto batch1 = jobs::read_events(dir / jobs::kEventsFileName);
    if (batch1.is_ok())
      for (const auto& e : batch1->events) {
        std::string msg;
        for (const char* key : {"message", "reason"})
          if (e.json.contains(key) && e.json[key].is_string()) msg += e.json[key].get<std::string>();
        preempted |= msg.find("preempted at step") != std::string::npos;
        resumed |= msg.find("resumed from") != std::string::npos;
      }
    QVERIFY2(preempted && resumed, qPrintable(seen.join(" ")));
    auto ck = [](const fs::path& run) {
      auto all = [&] {
        std::vector<fs::path> v;
        for (const auto& e : fs::directory_iterator(run / "checkpoints"))
          if (e.path().filename().string().rfind("step-", 0) == 0) v.push_back(e.path());
        std::sort(v.begin(), v.end());
        return v;
      }();
      auto sums = read_json_file(all.back() / "checksums.json");
      return sums.is_ok() ? (*sums)["files"]["model.safetensors"].get<std::string>() : std::string("none");
    };
    QCOMPARE(ck(dir), ck(local_dir));  // bit-identical final weights
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestSlurmLive)
#include "test_slurm_live.moc"
