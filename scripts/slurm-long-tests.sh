#!/usr/bin/env bash
# The Slurm checks too long for CI: a run with a 2-minute time limit gets SIGUSR1 45 s before
# it, checkpoints, requeues itself and resumes; its final weights must equal an uninterrupted
# run's (tests/jobs/test_slurm_live.cpp, preemptionRequeuesAndResumes). Needs root and a build.
#   scripts/slurm-long-tests.sh [build dir]      (KANANA_SLURM_PREEMPT_STEPS=N to size the run)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${KANANA_BUILD_DIR:-$root/build}}
exe=$build/tests/tests_jobs
[ -x "$exe" ] || { echo "slurm-long-tests: $exe is not built (ninja -C $build tests_jobs kanana)" >&2; exit 1; }
QTEST_FUNCTION_TIMEOUT=${QTEST_FUNCTION_TIMEOUT:-1200000} KANANA_SLURM_LONG=1 KANANA_SOURCE_DIR=$root KANANA_BUILD_DIR=$build QT_QPA_PLATFORM=offscreen \
  exec "$exe" TestSlurmLive preemptionRequeuesAndResumes
