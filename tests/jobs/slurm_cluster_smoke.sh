#!/usr/bin/env bash
# Smoke check of the real single-node Slurm test cluster (scripts/slurm-cluster.sh): starts one
# in a temporary folder, runs a 2-task srun job to COMPLETED and checks what squeue and scontrol
# report, cancels a sleeping job and sees CANCELLED, and stops every process it started, also
# when a check fails or the run is interrupted. Needs root and the Debian packages slurmctld,
# slurmd, slurm-client and munge. Bounded: gives up after 90 s. Prints one summary line and
# exits 0 (pass) or 1 (fail).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER=$ROOT/scripts/slurm-cluster.sh
LIMIT=${SLURM_SMOKE_LIMIT:-90}
# The whole check is bounded: timeout TERMs this shell, whose EXIT trap stops the cluster
# (its daemons run in sessions of their own, so timeout's signal does not reach them).
if [ -z "${SLURM_SMOKE_INNER:-}" ]; then
  SLURM_SMOKE_INNER=1 timeout --kill-after=30 "$LIMIT" bash "${BASH_SOURCE[0]}" "$@"
  rc=$?
  [ $rc -eq 137 ] && echo "slurm_cluster_smoke: FAIL: killed, still running 30 s after the ${LIMIT} s limit"
  [ $rc -eq 0 ] && exit 0
  exit 1
fi
T0=$SECONDS
TMP=
DETAILS=()

note() { DETAILS+=("$*"); }
fail() {
  echo "slurm_cluster_smoke: FAIL: $* ($((SECONDS - T0)) s)"
  exit 1
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  if [ -n "$TMP" ] && [ -d "$TMP" ]; then
    bash "$CLUSTER" stop "$TMP/cluster" >/dev/null 2>&1
    # Anything of ours still running is a bug of the fixture: say so, then remove it.
    local left
    left=$(pgrep -f -- "$TMP/" | grep -vx "$$" | tr '\n' ' ')
    if [ -n "$left" ]; then
      echo "slurm_cluster_smoke: FAIL: processes left after stop: $left"
      # shellcheck disable=SC2086
      kill -KILL $left 2>/dev/null
      rc=1
    fi
    [ $rc -ne 0 ] && [ -d "$TMP/cluster/log" ] && tail -n 15 "$TMP"/cluster/log/slurmctld.log "$TMP"/cluster/log/slurmd.log >&2
    rm -rf "$TMP"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'fail "interrupted or over the ${LIMIT} s limit"' INT TERM HUP

[ "$(id -u)" = 0 ] || fail "needs root (slurmd runs the job steps)"
TMP=$(mktemp -d /tmp/kanana-slurm-smoke.XXXXXX) || fail "mktemp failed"

# 1. The cluster.
t=$SECONDS
out=$(SLURM_CLUSTER_START_TIMEOUT=40 bash "$CLUSTER" start "$TMP/cluster" 2>&1) || fail "cluster did not start: $out"
note "cluster up in $((SECONDS - t)) s"
# shellcheck disable=SC1090
eval "$(bash "$CLUSTER" env "$TMP/cluster")" || fail "slurm-cluster.sh env failed"
[ "$(sinfo -h -o %T 2>&1)" = idle ] || fail "sinfo does not say idle: $(sinfo -h -o %T 2>&1)"

# state ID: the job's state from squeue (-t all: terminal states too, until MinJobAge).
state() { squeue -h -j "$1" -t all -o %T 2>/dev/null | head -n1; }
# field ID NAME: a field of scontrol show job (JobState, ExitCode, ...).
field() { scontrol show job "$1" 2>/dev/null | tr -s ' \n' '\n' | sed -n "s/^$2=//p" | head -n1; }
# wait_state ID STATE SECONDS: waits for the state, noting every state seen on the way.
SEEN=
wait_state() {
  local id=$1 want=$2 end=$((SECONDS + $3)) s
  SEEN=
  while :; do
    s=$(state "$id")
    case " $SEEN " in *" ${s:-none} "*) ;; *) SEEN="${SEEN:+$SEEN }${s:-none}" ;; esac
    [ "$s" = "$want" ] && return 0
    [ $SECONDS -ge $end ] && return 1
    sleep 0.2
  done
}
JOB=
submit() { # submit SBATCH-ARGS...: sbatch in $TMP/run; sets JOB to the job id
  local out
  out=$(cd "$TMP/run" && sbatch --parsable "$@" 2>&1) || fail "sbatch $* failed: $out"
  out=$(printf '%s\n' "$out" | tail -n1)
  JOB=${out%%;*}
  case "$JOB" in '' | *[!0-9]*) fail "sbatch printed no job id: $out" ;; esac
}
# job_procs ID: pids of processes of job ID of this cluster (by their environment).
job_procs() {
  local f
  # shellcheck disable=SC2013
  for f in $(grep -lzx "SLURM_JOB_ID=$1" /proc/[0-9]*/environ 2>/dev/null); do
    grep -qzxF "SLURM_CONF=$SLURM_CONF" "$f" 2>/dev/null && { f=${f#/proc/}; echo "${f%/environ}"; }
  done
}

# 2. A 2-task srun job to COMPLETED.
mkdir -p "$TMP/run"
cat >"$TMP/run/job.sbatch" <<'EOF'
#!/bin/bash
#SBATCH --job-name=smoke2
#SBATCH --ntasks=2
#SBATCH --output=slurm-%j.out
srun --kill-on-bad-exit=1 sh -c 'echo "rank $SLURM_PROCID of $SLURM_NTASKS"; sleep 2'
EOF
t=$SECONDS
submit job.sbatch
id=$JOB
wait_state "$id" COMPLETED 40 || fail "job $id not COMPLETED within 40 s (states seen: $SEEN; scontrol: $(field "$id" JobState) $(field "$id" Reason))"
case " $SEEN " in *" RUNNING "*) ;; *) fail "job $id: squeue never showed RUNNING (states seen: $SEEN)" ;; esac
[ "$(field "$id" JobState)" = COMPLETED ] || fail "scontrol: job $id JobState=$(field "$id" JobState)"
[ "$(field "$id" ExitCode)" = 0:0 ] || fail "scontrol: job $id ExitCode=$(field "$id" ExitCode)"
[ "$(field "$id" NumTasks)" = 2 ] || fail "scontrol: job $id NumTasks=$(field "$id" NumTasks)"
[ -n "$(squeue -h -j "$id" -o %T 2>/dev/null)" ] && fail "plain squeue still lists finished job $id"
ranks=$(grep -c '^rank [01] of 2$' "$TMP/run/slurm-$id.out" 2>/dev/null)
[ "$ranks" = 2 ] || fail "job $id output has $ranks of 2 rank lines: $(head -c 300 "$TMP/run/slurm-$id.out" 2>/dev/null)"
note "job $id ${SEEN// /→} in $((SECONDS - t)) s"

# 3. A sleeping job, cancelled.
t=$SECONDS
submit --job-name=smoke-sleep --ntasks=1 --output=/dev/null --wrap 'srun sleep 300'
id=$JOB
wait_state "$id" RUNNING 30 || fail "job $id not RUNNING within 30 s (states seen: $SEEN)"
# Wait for the step (srun sleep) to run, so that the cancel really has processes to end.
end=$((SECONDS + 15))
until scontrol show step "$id.0" 2>/dev/null | grep -q 'State=RUNNING'; do
  [ $SECONDS -ge $end ] && fail "job $id: step $id.0 never ran"
  sleep 0.2
done
out=$(scancel "$id" 2>&1) || fail "scancel $id failed: $out"
wait_state "$id" CANCELLED 20 || fail "job $id not CANCELLED within 20 s of scancel (states seen: $SEEN)"
[ "$(field "$id" JobState)" = CANCELLED ] || fail "scontrol: job $id JobState=$(field "$id" JobState)"
end=$((SECONDS + 10))
while [ -n "$(job_procs "$id")" ]; do
  [ $SECONDS -ge $end ] && fail "job $id: processes $(job_procs "$id" | tr '\n' ' ')still run 10 s after CANCELLED"
  sleep 0.2
done
note "job $id RUNNING→CANCELLED in $((SECONDS - t)) s"

# 4. Stop, and nothing of ours is left.
t=$SECONDS
bash "$CLUSTER" stop "$TMP/cluster" >/dev/null 2>&1 || fail "slurm-cluster.sh stop failed"
left=$(pgrep -f -- "$TMP/" | grep -vx "$$" | tr '\n' ' ')
[ -z "$left" ] || fail "processes left after stop: $left"
note "stopped in $((SECONDS - t)) s"

summary=$(printf '%s; ' "${DETAILS[@]}")
echo "slurm_cluster_smoke: PASS (${summary}total $((SECONDS - T0)) s)"
