// SshLauncher against a real sshd on 127.0.0.1, started by the test with a temporary host key
// and an authorized key (no password anywhere): quoting of nasty arguments through the remote
// shell, BatchMode failing instead of prompting, a job that keeps running when the ssh client
// is killed and is re-attached from its local folder, cancel, SIGKILL, ranks, a model server.
#include <httplib.h>

#include <QProcess>
#include <QtTest>

#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "base/files.h"
#include "base/strings.h"
#include "jobs/events.h"
#include "jobs/local_launcher.h"
#include "jobs/shell_quote.h"
#include "jobs/ssh_launcher.h"
#include "jobs/subprocess.h"
#include "launcher_wait.h"
#include "test_support.h"

using namespace kanana;
using namespace kanana::jobs;
namespace fs = std::filesystem;

using kanana::test::wait_final;

namespace {

constexpr std::chrono::milliseconds kSshPoll{150};  // ssh round trips are slower than local polls

const std::vector<std::string> kNasty = {
    "plain",
    "with space",
    "it's",
    "\"double\" and 'single'",
    "$(touch /tmp/kanana-pwned) `touch /tmp/kanana-pwned2` $HOME ${PATH}",
    "a; rm -rf /; echo b | cat && true || false &",
    "line1\nline2\n",
    "한국어 텍스트 – 유니코드 ✓",
    "back\\slash \\' \\\" *?[a]~ # %",
    "",
    "-n",
    "'",
};

bool port_open(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

Status run_tool(const std::vector<std::string>& argv) {
  auto r = run_process(argv);
  if (!r.is_ok()) return r.status();
  if (!r->ok()) return unavailable(r->describe(argv[0]));
  return Status::ok();
}


}  // namespace

class TestJobsSsh : public QObject {
  Q_OBJECT
  QTemporaryDir tmp_;
  fs::path dir_;
  QProcess sshd_;
  Target target_;
  std::string skip_;  // why the sshd tests are skipped ("" = sshd runs)

 private Q_SLOTS:
  void initTestCase() {
    dir_ = tmp_.path().toStdString();
    if (!fs::exists("/usr/sbin/sshd") || ::access("/usr/bin/ssh-keygen", X_OK) != 0 || ::access("/usr/bin/ssh", X_OK) != 0) {
      skip_ = "OpenSSH (sshd, ssh, ssh-keygen) is not installed";
      return;
    }
    for (const char* key : {"host_key", "user_key", "wrong_key"}) {
      Status st = run_tool({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "kanana-test", "-f", (dir_ / key).string()});
      QVERIFY2(st.is_ok(), st.to_string().c_str());
    }
    QVERIFY(write_file_atomic(dir_ / "authorized_keys", *read_file(dir_ / "user_key.pub")).is_ok());
    fs::permissions(dir_ / "authorized_keys", fs::perms::owner_read | fs::perms::owner_write);
    std::error_code ec;
    fs::create_directories("/run/sshd", ec);  // privilege separation folder sshd insists on
    auto port = find_free_port();
    QVERIFY(port.is_ok());
    const std::string config =
        "Port " + std::to_string(*port) + "\nListenAddress 127.0.0.1\nHostKey " + (dir_ / "host_key").string() +
        "\nPidFile " + (dir_ / "sshd.pid").string() + "\nAuthorizedKeysFile " + (dir_ / "authorized_keys").string() +
        "\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nLogLevel ERROR\n";
    QVERIFY(write_file_atomic(dir_ / "sshd_config", config).is_ok());
    // sshd's own log (e.g. about the readiness probes below) is shown only if it fails to start.
    sshd_.setProcessChannelMode(QProcess::MergedChannels);
    sshd_.start("/usr/sbin/sshd", {"-D", "-e", "-f", QString::fromStdString((dir_ / "sshd_config").string())});
    QVERIFY(sshd_.waitForStarted(5000));
    for (int i = 0; i < 100 && !port_open(*port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // Installed but not working is a failure, not a skip.
    QVERIFY2(port_open(*port), ("sshd did not start listening: " + sshd_.readAll().toStdString()).c_str());
    const passwd* pw = ::getpwuid(::getuid());
    target_.kind = TargetKind::kSsh;
    target_.host = "127.0.0.1";
    target_.port = *port;
    target_.user = pw ? pw->pw_name : "root";
    target_.identity_file = (dir_ / "user_key").string();
    target_.ssh_options = {"-F", "/dev/null", "-o", "UserKnownHostsFile=" + (dir_ / "known_hosts").string(),
                           "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"};
    auto hello = run_remote(target_, "echo hello", LauncherOptions{});
    QVERIFY2(hello.is_ok(), hello.status().to_string().c_str());
    QCOMPARE(*hello, std::string("hello\n"));
  }

  void cleanupTestCase() {
    if (sshd_.state() != QProcess::NotRunning) {
      sshd_.terminate();
      sshd_.waitForFinished(3000);
    }
  }

  void shellQuoteIsSingleQuoted() {
    QCOMPARE(shell_quote("abc-1.2/x=y"), std::string("abc-1.2/x=y"));
    QCOMPARE(shell_quote(""), std::string("''"));
    QCOMPARE(shell_quote("it's"), std::string("'it'\\''s'"));
    QCOMPARE(shell_quote("a b"), std::string("'a b'"));
    QCOMPARE(shell_quote("$(x)"), std::string("'$(x)'"));
    QCOMPARE(shell_quote("~root"), std::string("'~root'"));
    QCOMPARE(shell_join({"echo", "a b", "c"}), std::string("echo 'a b' c"));
    // Locally through /bin/sh: every nasty argument arrives byte for byte.
    for (const auto& s : kNasty) {
      auto r = run_process({"/bin/sh", "-c", "printf '%s' " + shell_quote(s)});
      QVERIFY(r.is_ok() && r->ok());
      QCOMPARE(r->out, s);
    }
  }

  void sshCommandShape() {
    Target t;
    t.host = "gpu01";
    t.user = "kim";
    t.port = 2222;
    t.identity_file = "/home/kim/.ssh/id_ed25519";
    const auto argv = ssh_command(t, remote_sh("echo 'hi there'"));
    const std::vector<std::string> want = {"ssh", "-T", "-o", "BatchMode=yes", "-p", "2222", "-i",
                                           "/home/kim/.ssh/id_ed25519", "-o", "IdentitiesOnly=yes", "--",
                                           "kim@gpu01", "sh -c 'echo '\\''hi there'\\'''"};
    QCOMPARE(argv, want);
  }

  void nastyArgumentsRoundTripThroughRemoteShell() {
    if (!skip_.empty()) QSKIP(skip_.c_str());
    // Through ssh, the remote login shell and our `sh -c`: two levels of quoting.
    std::string script = "for a in";
    for (const auto& s : kNasty) script += " " + shell_quote(s);
    script += "; do printf '[%s]' \"$a\"; done";
    auto out = run_remote(target_, script, LauncherOptions{});
    QVERIFY2(out.is_ok(), out.status().to_string().c_str());
    std::string want;
    for (const auto& s : kNasty) want += "[" + s + "]";
    QCOMPARE(*out, want);
    QVERIFY(!fs::exists("/tmp/kanana-pwned") && !fs::exists("/tmp/kanana-pwned2"));
  }

  void batchModeFailsInsteadOfPrompting() {
    if (!skip_.empty()) QSKIP(skip_.c_str());
    Target wrong = target_;
    wrong.identity_file = (dir_ / "wrong_key").string();
    const auto t0 = std::chrono::steady_clock::now();
    auto out = run_remote(wrong, "echo should-not-run", LauncherOptions{.command_timeout_s = 20});
    QVERIFY(!out.is_ok());
    QCOMPARE(out.status().code(), StatusCode::kUnavailable);
    QVERIFY2(out.status().message().find("Permission denied") != std::string::npos, out.status().message().c_str());
    QVERIFY(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(15));
  }

  void jobSurvivesLostConnectionAndReattaches() {
    if (!skip_.empty()) QSKIP(skip_.c_str());
    JobSpec spec;
    spec.name = "ssh-run";
    spec.command = {"/bin/sh", "-c",
                    "echo '{\"type\":\"state\",\"state\":\"running\"}' >> events.jsonl; i=0; "
                    "while [ $i -lt 8 ]; do i=$((i+1)); "
                    "echo \"{\\\"type\\\":\\\"metric\\\",\\\"step\\\":$i,\\\"metrics\\\":{\\\"loss\\\":$((20-i))}}\" >> events.jsonl; "
                    "sleep 0.4; done; echo '{\"type\":\"state\",\"state\":\"finished\"}' >> events.jsonl",
                    "worker"};
    spec.run_dir = (dir_ / "remote" / "run 1 (원격)").string();
    spec.local_dir = (dir_ / "local" / "run-1").string();
    spec.target = target_;
    std::optional<JobHandle> handle;
    {
      SshLauncher launcher;
      auto h = launcher.launch(spec);
      QVERIFY2(h.is_ok(), h.status().to_string().c_str());
      handle = *h;
      QVERIFY(h->pid > 0);
      QVERIFY(h->pid_start_time > 0);
      // A live follower connection, as the GUI would hold; the connection then dies hard.
      const auto follow = launcher.follow_command(*h);
      QProcess follower;
      QStringList args;
      for (size_t i = 1; i < follow.size(); ++i) args << QString::fromStdString(follow[i]);
      follower.start(QString::fromStdString(follow[0]), args);
      QVERIFY(follower.waitForStarted(5000));
      QVERIFY(follower.waitForReadyRead(10000));
      QVERIFY(follower.readAll().contains("\"state\""));
      follower.kill();  // SIGKILL the ssh client: the connection is lost without goodbye
      follower.waitForFinished(3000);
    }  // the launching object is gone too

    // The remote job is unaffected: same machine here, so check its supervisor directly too.
    QVERIFY(process_alive(handle->pid, handle->pid_start_time));
    auto attached = attach(spec.local_dir);
    QVERIFY2(attached.is_ok(), attached.status().to_string().c_str());
    QCOMPARE(attached->pid, handle->pid);
    SshLauncher again;
    auto st = again.poll(*attached);
    QVERIFY2(st.is_ok(), st.status().to_string().c_str());
    QCOMPARE(st->state, JobState::kRunning);
    auto final_state = wait_final(again, *attached, 30, kSshPoll);
    QCOMPARE(final_state.state, JobState::kFinished);
    QVERIFY(again.sync_events(*attached).is_ok());
    // The mirror equals the remote file byte for byte.
    const std::string remote_events = *read_file(fs::path(spec.run_dir) / kEventsFileName);
    const std::string mirror = *read_file(fs::path(spec.local_dir) / kEventsFileName);
    QCOMPARE(mirror, remote_events);
    auto summary = summarize_events(fs::path(spec.local_dir) / kEventsFileName);
    QCOMPARE(*summary->last_metric_step, int64_t(8));
    QCOMPARE(summary->corrupt_lines, int64_t(0));
  }

  void cancelAndSigkillOverSsh() {
    if (!skip_.empty()) QSKIP(skip_.c_str());
    SshLauncher launcher(LauncherOptions{.cancel_grace_s = 2});
    JobSpec spec;
    spec.name = "ssh-cancel";
    spec.command = {"sleep", "30"};
    spec.run_dir = (dir_ / "remote" / "cancel").string();
    spec.local_dir = (dir_ / "local" / "cancel").string();
    spec.target = target_;
    auto h = launcher.launch(spec);
    QVERIFY2(h.is_ok(), h.status().to_string().c_str());
    QCOMPARE(launcher.poll(*h)->state, JobState::kRunning);
    QVERIFY(launcher.cancel(*h).is_ok());
    QCOMPARE(wait_final(launcher, *h, 15, kSshPoll).state, JobState::kCancelled);

    spec.name = "ssh-kill";
    spec.run_dir = (dir_ / "remote" / "kill").string();
    spec.local_dir = (dir_ / "local" / "kill").string();
    spec.resources.nproc_per_node = 2;
    spec.command = {"/bin/sh", "-c", "echo \"$RANK/$WORLD_SIZE $MASTER_ADDR:$MASTER_PORT\"; exec sleep 30", "worker"};
    auto k = launcher.launch(spec);
    QVERIFY2(k.is_ok(), k.status().to_string().c_str());
    const fs::path pids = fs::path(spec.run_dir) / kPidsFileName;
    for (int i = 0; i < 100 && !fs::exists(pids); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto ranks = split(std::string(trim(*read_file(pids))), ' ');
    QCOMPARE(ranks.size(), size_t(2));
    QCOMPARE(::kill(std::stoi(ranks[1]), SIGKILL), 0);
    auto st = wait_final(launcher, *k, 15);
    QCOMPARE(st.state, JobState::kFailed);
    QCOMPARE(*st.signal, 9);
    QCOMPARE(*st.failed_rank, 1);
    const std::string log0 = *read_file(fs::path(spec.run_dir) / rank_log_name(0));
    QVERIFY2(starts_with(log0, "0/2 127.0.0.1:") && log0.size() > 16, log0.c_str());
  }

  // A model server as a job over ssh (what the Jobs page's "Serve a model" starts on an SSH
  // target): it answers at the URL in its rank-0.log until the job is cancelled.
  void serveJobOverSsh() {
    if (!skip_.empty()) QSKIP(skip_.c_str());
    const std::string tokenizer = (test::data_cache() + "/tokenizers/llama3").toStdString();
    if (!fs::exists(fs::path(tokenizer) / "tokenizer.json")) QSKIP("the Llama 3 tokenizer is not in the data cache");
    const std::string kanana = test::bin_path("kanana").toStdString();
    const fs::path model = dir_ / "serve-model";
    auto init = run_process({kanana, "model", "init", "--preset", "debug", "--tokenizer", tokenizer, "--out", model.string()});
    QVERIFY(init.is_ok() && init->ok());
    SshLauncher launcher(LauncherOptions{.cancel_grace_s = 5});
    JobSpec spec;
    spec.name = "ssh-serve";
    spec.kind = kServeJobKind;
    spec.command = {kanana, "serve", "--model", model.string(), "--port", "0", "--weights", "f32", "--threads", "1"};
    spec.run_dir = (dir_ / "remote" / "serve").string();
    spec.local_dir = (dir_ / "local" / "serve").string();
    spec.target = target_;
    auto h = launcher.launch(spec);
    QVERIFY2(h.is_ok(), h.status().to_string().c_str());
    std::smatch m;
    std::string log;
    const std::regex serving("serving on http://([^:]+):(\\d+)/v1");
    for (int i = 0; i < 300 && !std::regex_search(log, m, serving); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      log = read_file(fs::path(spec.run_dir) / rank_log_name(0)).value_or("");
    }
    QVERIFY2(m.size() == 3, log.c_str());
    QCOMPARE(launcher.poll(*h)->state, JobState::kRunning);
    httplib::Client client(m[1].str(), std::stoi(m[2].str()));
    client.set_read_timeout(30, 0);
    auto health = client.Get("/health");
    QVERIFY(health);
    QCOMPARE(health->status, 200);
    QVERIFY(launcher.cancel(*h).is_ok());
    QCOMPARE(wait_final(launcher, *h, 20, kSshPoll).state, JobState::kCancelled);
    QVERIFY(!client.Get("/health"));
  }
};

#include "test_main.h"
KANANA_TEST_GUILESS_MAIN(TestJobsSsh)
#include "test_jobs_ssh.moc"
