#!/usr/bin/env bash
# A real single-node Slurm cluster (munged + slurmctld + slurmd) in a folder, for tests.
#
#   scripts/slurm-cluster.sh start DIR    start (or find already running) a cluster in DIR
#   scripts/slurm-cluster.sh stop DIR     cancel its jobs, stop every process it started
#   scripts/slurm-cluster.sh env DIR      print `export` lines that point the Slurm commands
#                                          (sbatch, squeue, srun, scontrol, sacct, scancel, sinfo)
#                                          at this cluster: eval "$(scripts/slurm-cluster.sh env DIR)"
#   scripts/slurm-cluster.sh status DIR   exit 0 if all three daemons of DIR are running
#
# Needs root (slurmd runs the jobs' steps) and Debian's packages:
#   apt-get install --no-install-recommends slurmctld slurmd slurm-client munge
# Everything lives in DIR: the munge key, socket, pid and log (munged never touches
# /run/munge or /etc/munge, so a system munge is left alone), slurm.conf, state, spool, logs
# and pid files. slurmctld/slurmd listen on two free TCP ports picked at start (on
# 127.0.0.1 addresses), so two clusters, or a system Slurm, don't clash.
# Measured behaviour of this cluster: docs/slurm-test-cluster.md.
#
# Settings: SLURM_CLUSTER_EXTRA_CONF (lines appended to slurm.conf at the first start),
# SLURM_CLUSTER_START_TIMEOUT (seconds to wait for the node to be idle, default 30).
set -u

die() { echo "slurm-cluster: $*" >&2; exit 1; }
log() { echo "slurm-cluster: $*" >&2; }

usage() {
  echo "usage: $0 start|stop|env|status DIR" >&2
  exit 2
}

[ $# -eq 2 ] || usage
CMD=$1
[ -n "$2" ] || usage
if [ ! -d "$2" ]; then
  case "$CMD" in
    start) mkdir -p -- "$2" 2>/dev/null || die "cannot create $2" ;;
    stop) exit 0 ;;  # nothing was started there
    *) die "no cluster in $2 (no such folder)" ;;
  esac
fi
DIR=$(cd -- "$2" && pwd -P) || die "cannot enter $2"

CONF=$DIR/etc/slurm.conf
MUNGE_DIR=$DIR/munge
MUNGE_SOCK=$MUNGE_DIR/munge.sock
MUNGE_PID=$MUNGE_DIR/munged.pid
CTLD_PID=$DIR/run/slurmctld.pid
SLURMD_PID=$DIR/run/slurmd.pid
CTLD_LOG=$DIR/log/slurmctld.log
SLURMD_LOG=$DIR/log/slurmd.log
MUNGE_LOG=$MUNGE_DIR/munged.log

# ---------------------------------------------------------------- processes

# alive PID: the process exists and is not a zombie.
alive() {
  local pid=$1 st
  [ -n "$pid" ] || return 1
  read -r st 2>/dev/null <"/proc/$pid/stat" || return 1
  st=${st##*) }
  st=${st%% *}
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# cmdline PID: its argv joined by spaces.
cmdline() { { tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null; }

# ours PIDFILE WORD: prints the pid from PIDFILE if that process is alive, its command line
# names WORD (the program) and DIR (its config, socket or key path), so a recycled pid or
# another cluster's daemon is never taken for ours.
ours() {
  local f=$1 word=$2 pid cl
  [ -s "$f" ] || return 1
  pid=$(tr -dc '0-9' <"$f")
  alive "$pid" || return 1
  cl=$(cmdline "$pid")
  case "$cl" in *"$word"*"$DIR/"*) echo "$pid" ;; *) return 1 ;; esac
}

# steps: pids of slurmstepd processes started by this cluster's slurmd. slurmstepd is exec'd
# by slurmd and keeps its environment, which has SLURM_CONF=$CONF (set when we start slurmd).
steps() {
  local p
  for p in $(pgrep -f '^slurmstepd:'); do
    if { tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -qxF "SLURM_CONF=$CONF"; then echo "$p"; fi
  done
}

# orphans: processes of this cluster's jobs, found by their environment (SLURM_CONF=$CONF
# and a SLURM_JOB_ID), never this script or its callers.
orphans() {
  local f p q skip=" $$ " out=()
  p=$$
  while [ "$p" -gt 1 ] 2>/dev/null; do
    read -r q 2>/dev/null <"/proc/$p/stat" || break
    q=${q##*) }   # "pid (comm) state ppid ...": comm may hold spaces
    q=${q#* }
    p=${q%% *}
    skip+="$p "
  done
  # shellcheck disable=SC2013
  for f in $(grep -lzxF "SLURM_CONF=$CONF" /proc/[0-9]*/environ 2>/dev/null); do
    q=${f#/proc/}
    q=${q%/environ}
    case "$skip" in *" $q "*) continue ;; esac
    grep -qz '^SLURM_JOB_ID=' "$f" 2>/dev/null && alive "$q" && out+=("$q")
  done
  echo "${out[@]}"
}

# descendants PID...: the given pids and all their descendants (by parent pid).
descendants() {
  [ $# -gt 0 ] || return 0
  ps -e -o pid=,ppid= | awk -v roots="$*" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      n = split(roots, q, " ")
      for (i = 1; i <= n; i++) {
        p = q[i]; out = out " " p
        m = split(kids[p], k, " ")
        for (j = 1; j <= m; j++) q[++n] = k[j]
      }
      print out
    }'
}

# wait_gone SECONDS PID...: waits until none of the pids is alive; 1 if some still are.
wait_gone() {
  local t=$1 p left
  shift
  local end=$((SECONDS + t))
  while :; do
    left=0
    for p in "$@"; do alive "$p" && left=1; done
    [ $left -eq 0 ] && return 0
    [ $SECONDS -ge $end ] && return 1
    sleep 0.2
  done
}

# ---------------------------------------------------------------- checks

need_tools() {
  local missing=() pkgs=() t
  for t in munged mungekey slurmctld slurmd sinfo sbatch squeue scontrol scancel; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  for t in "${missing[@]}"; do
    case $t in
      munged | mungekey) pkgs+=(munge) ;;
      slurmctld) pkgs+=(slurmctld) ;;
      slurmd) pkgs+=(slurmd) ;;
      *) pkgs+=(slurm-client) ;;
    esac
  done
  die "missing ${missing[*]}: run  apt-get install --no-install-recommends $(printf '%s\n' "${pkgs[@]}" | sort -u | tr '\n' ' ')"
}

# free_port AVOID...: a TCP port nobody listens on (from /proc/net/tcp{,6}), not in AVOID.
free_port() {
  local used p
  used=" $(awk 'FNR > 1 && $4 == "0A" { split($2, a, ":"); printf "%d ", strtonum("0x" a[2]) }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null) $* "
  for _ in $(seq 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    case "$used" in *" $p "*) continue ;; esac
    echo "$p"
    return 0
  done
  return 1
}

tail_log() {
  local f=$1
  if [ -s "$f" ]; then
    echo "---- last lines of $f ----" >&2
    tail -n 25 "$f" >&2
    echo "----" >&2
  else
    echo "(no log at $f)" >&2
  fi
}

# ---------------------------------------------------------------- config

write_config() {
  local host cpu_line ctld_port slurmd_port
  host=$(hostname -s) || die "hostname -s failed"
  getent hosts "$host" >/dev/null 2>&1 || log "warning: '$host' does not resolve (getent hosts); jobs that look up node names may fail"
  # slurmd -C: "NodeName=vm CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
  cpu_line=$(slurmd -C 2>/dev/null | head -n1)
  case "$cpu_line" in NodeName=*" CPUs="*) ;; *) die "slurmd -C printed no node line (got: $cpu_line)" ;; esac
  cpu_line=${cpu_line#NodeName=* }
  ctld_port=$(free_port) || die "no free TCP port found"
  slurmd_port=$(free_port "$ctld_port") || die "no free TCP port found"
  mkdir -p "$DIR/etc" || die "cannot create $DIR/etc"
  cat >"$CONF.tmp" <<EOF
# Generated by scripts/slurm-cluster.sh for a test cluster in $DIR
ClusterName=kanana-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job waits cred_expire+1 s (default 120+1) before it may run again.
AuthInfo=socket=$MUNGE_SOCK,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$CTLD_LOG
SlurmdLogFile=$SLURMD_LOG
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: processes are tracked by parent pid, tasks are not bound.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
# Retry pending jobs every 2 s (default 60/30 s): a requeued job starts soon after its BeginTime.
SchedulerParameters=sched_interval=2,bf_interval=2
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# A job bigger than the node fails at sbatch ("More processors requested than permitted")
# instead of pending forever with Reason=PartitionConfig.
EnforcePartLimits=ALL
# Short timeouts for tests (seconds).
MinJobAge=30
KillWait=5
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
Waittime=0
BatchStartTimeout=10
# Accounting off: sacct cannot report jobs (see docs/slurm-test-cluster.md).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=$host NodeAddr=127.0.0.1 $cpu_line State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  if [ -n "${SLURM_CLUSTER_EXTRA_CONF:-}" ]; then
    # A key given there replaces the generated line (NodeName/PartitionName lines add).
    local keys
    keys=$(printf '%s\n' "$SLURM_CLUSTER_EXTRA_CONF" | sed -n 's/^[[:space:]]*\([A-Za-z]*\)=.*/\1/p' |
      grep -vixE 'NodeName|PartitionName|NodeSet|DownNodes|FrontendName|SwitchName' | paste -sd'|')
    if [ -n "$keys" ]; then
      grep -viE "^($keys)=" "$CONF.tmp" >"$CONF.tmp2"
      mv -f "$CONF.tmp2" "$CONF.tmp"
    fi
    printf '# SLURM_CLUSTER_EXTRA_CONF\n%s\n' "$SLURM_CLUSTER_EXTRA_CONF" >>"$CONF.tmp"
  fi
  mv -f "$CONF.tmp" "$CONF"
}

# ---------------------------------------------------------------- commands

print_env() {
  echo "export SLURM_CONF='$CONF'"
  # A job's own variables must not steer commands aimed at this cluster.
  echo "unset SLURM_JOB_ID SLURM_JOBID SLURM_CLUSTERS SLURM_PARTITION SBATCH_PARTITION SQUEUE_FORMAT SACCT_FORMAT"
}

start_munge() {
  if ours "$MUNGE_PID" munged >/dev/null; then return 0; fi
  mkdir -p "$MUNGE_DIR" || die "cannot create $MUNGE_DIR"
  # munged wants the socket's folder and every folder above it searchable by all (a+x),
  # and the key's folder not writable by others.
  chmod 0711 "$DIR" "$MUNGE_DIR" || die "cannot chmod $DIR"
  # A folder above that is not (e.g. DIR inside a mktemp -d folder, mode 0700) makes munged
  # refuse to start unless forced; forced, it works for root, the only user here (a job
  # submitted as another user could not reach the socket).
  local d=$DIR force=()
  while [ "$d" != / ]; do
    d=$(dirname "$d")
    case "$(stat -c %A "$d")" in
      ?????????[xt]) ;;
      *) force=(--force) ;;
    esac
  done
  if [ ! -s "$MUNGE_DIR/munge.key" ]; then
    mungekey --create --keyfile="$MUNGE_DIR/munge.key" || die "mungekey failed"
  fi
  chmod 0600 "$MUNGE_DIR/munge.key"
  rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock" "$MUNGE_PID"
  # munged forks into the background itself and writes its pid file.
  if ! munged "${force[@]}" --socket="$MUNGE_SOCK" --key-file="$MUNGE_DIR/munge.key" --pid-file="$MUNGE_PID" \
    --log-file="$MUNGE_LOG" --seed-file="$MUNGE_DIR/munged.seed" </dev/null >>"$MUNGE_LOG" 2>&1; then
    tail_log "$MUNGE_LOG"
    die "munged failed to start"
  fi
  local end=$((SECONDS + 10))
  until [ -S "$MUNGE_SOCK" ] && munge -n -S "$MUNGE_SOCK" </dev/null 2>/dev/null | unmunge -S "$MUNGE_SOCK" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then
      tail_log "$MUNGE_LOG"
      cmd_stop
      die "munged did not answer on $MUNGE_SOCK within 10 s"
    fi
    sleep 0.1
  done
}

# start_daemon NAME PIDFILE LOG ARGS...: runs NAME in the foreground (-D) under setsid, in
# the background, with SLURM_CONF set; waits for its own pid file.
start_daemon() {
  local name=$1 pidfile=$2 logf=$3
  shift 3
  if ours "$pidfile" "$name" >/dev/null; then return 0; fi
  rm -f "$pidfile"
  SLURM_CONF=$CONF setsid "$name" -D -f "$CONF" "$@" </dev/null >>"$logf.stdout" 2>&1 &
  local pid=$! end=$((SECONDS + 15))
  until ours "$pidfile" "$name" >/dev/null; do
    if ! alive "$pid" || [ $SECONDS -ge $end ]; then
      kill -KILL "$pid" 2>/dev/null
      tail_log "$logf"
      tail_log "$logf.stdout"
      cmd_stop
      die "$name failed to start (log: $logf)"
    fi
    sleep 0.1
  done
}

node_state() { SLURM_CONF=$CONF sinfo -h -o %T 2>/dev/null | head -n1; }

cmd_start() {
  [ "$(id -u)" = 0 ] || die "must run as root (slurmd starts the jobs' steps as their user)"
  need_tools
  local t0=$SECONDS
  if ours "$CTLD_PID" slurmctld >/dev/null && ours "$SLURMD_PID" slurmd >/dev/null &&
    ours "$MUNGE_PID" munged >/dev/null; then
    log "already running in $DIR"
    return 0
  fi
  # Half a cluster (a daemon died): stop what's left, start anew with the same files.
  if ours "$CTLD_PID" slurmctld >/dev/null || ours "$SLURMD_PID" slurmd >/dev/null; then
    log "some daemons of $DIR are not running: restarting them all"
    cmd_stop
  fi
  mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/run" || die "cannot create folders in $DIR"
  [ -s "$CONF" ] || write_config
  start_munge
  # -c: clear saved jobs of an earlier run in this folder (a fresh cluster each start).
  start_daemon slurmctld "$CTLD_PID" "$CTLD_LOG" -c
  start_daemon slurmd "$SLURMD_PID" "$SLURMD_LOG"
  local limit=${SLURM_CLUSTER_START_TIMEOUT:-30} end st=
  end=$((SECONDS + limit))
  while :; do
    st=$(node_state)
    case "$st" in idle*) break ;; esac
    for d in "slurmctld:$CTLD_PID:$CTLD_LOG" "slurmd:$SLURMD_PID:$SLURMD_LOG"; do
      IFS=: read -r n p l <<<"$d"
      if ! ours "$p" "$n" >/dev/null; then
        tail_log "$l"
        cmd_stop
        die "$n exited during start"
      fi
    done
    if [ $SECONDS -ge $end ]; then
      tail_log "$CTLD_LOG"
      tail_log "$SLURMD_LOG"
      cmd_stop
      die "node not idle after ${limit} s (sinfo says '${st:-nothing}')"
    fi
    sleep 0.2
  done
  log "cluster up in $DIR after $((SECONDS - t0)) s (node $(hostname -s) idle)"
}

cmd_stop() {
  local ctld slurmd munge s pids=() all=()
  ctld=$(ours "$CTLD_PID" slurmctld) || ctld=
  slurmd=$(ours "$SLURMD_PID" slurmd) || slurmd=
  munge=$(ours "$MUNGE_PID" munged) || munge=
  # Let Slurm end the jobs the normal way first (TERM, KillWait, KILL) so they leave no
  # processes behind; bounded by KillWait (5 s) plus a margin.
  local jobs=
  if [ -n "$ctld" ] && [ -n "$slurmd" ] && [ -n "$munge" ]; then
    jobs=$(SLURM_CONF=$CONF squeue -h -o %i 2>/dev/null | tr '\n' ' ')
  fi
  if [ -n "${jobs// /}" ]; then
    # shellcheck disable=SC2086
    SLURM_CONF=$CONF scancel $jobs >/dev/null 2>&1
    local end=$((SECONDS + 10))
    while [ $SECONDS -lt $end ] && [ -n "$(steps)" ]; do sleep 0.2; done
  fi
  # The daemons, their children (slurmctld's slurmscriptd), whatever slurmstepd is left and
  # every process under those (the jobs' tasks): linuxproc tracks a job by parent pid only.
  local st
  st=$(steps)
  # shellcheck disable=SC2086
  read -r -a pids <<<"$(descendants $ctld $slurmd $st)"
  for s in $ctld $slurmd; do kill -TERM "$s" 2>/dev/null; done
  if [ -n "$st" ]; then
    # shellcheck disable=SC2086
    read -r -a all <<<"$(descendants $st)"
    kill -KILL "${all[@]}" 2>/dev/null
  fi
  if [ ${#pids[@]} -gt 0 ] && ! wait_gone 10 "${pids[@]}"; then
    for s in "${pids[@]}"; do kill -KILL "$s" 2>/dev/null; done
    wait_gone 5 "${pids[@]}" || log "warning: processes still alive after SIGKILL: ${pids[*]}"
  fi
  # Job processes that left the process tree (a task's children whose parent was killed are
  # re-parented to init, and proctrack/linuxproc loses them): they still carry the job's
  # environment, SLURM_JOB_ID and this cluster's SLURM_CONF.
  read -r -a all <<<"$(orphans)"
  if [ ${#all[@]} -gt 0 ]; then
    log "killing ${#all[@]} job process(es) that escaped slurmstepd: ${all[*]}"
    kill -KILL "${all[@]}" 2>/dev/null
    wait_gone 5 "${all[@]}"
  fi
  if [ -n "$munge" ]; then
    kill -TERM "$munge" 2>/dev/null
    wait_gone 5 "$munge" || { kill -KILL "$munge" 2>/dev/null; wait_gone 5 "$munge"; }
  fi
  rm -f "$CTLD_PID" "$SLURMD_PID" "$MUNGE_PID"
  return 0
}

cmd_status() {
  local ok=0 n p
  for n in munged:"$MUNGE_PID" slurmctld:"$CTLD_PID" slurmd:"$SLURMD_PID"; do
    if p=$(ours "${n#*:}" "${n%%:*}"); then echo "${n%%:*} running (pid $p)"; else
      echo "${n%%:*} not running"
      ok=1
    fi
  done
  [ $ok -eq 0 ] && echo "node: $(node_state)"
  return $ok
}

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env)
    [ -s "$CONF" ] || die "no cluster in $DIR (run: $0 start $DIR)"
    print_env
    ;;
  status) cmd_status ;;
  *) usage ;;
esac
