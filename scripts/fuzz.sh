#!/usr/bin/env bash
# Coverage-guided fuzzing of every user-facing parser (tests/fuzz/) under AddressSanitizer and
# UndefinedBehaviorSanitizer with libFuzzer (Debian's clang).
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]
#
# Configures build-fuzz/ (clang, -DKANANA_FUZZ=ON: the LibTorch-free core libraries and the
# harnesses only), builds the harnesses, and runs each for SECONDS (default 60) on one core,
# starting from tests/fuzz/seeds/<harness>/ plus the corpus it grew before (build-fuzz/corpus/).
# A crash, leak, timeout (> 1 s per input) or sanitizer report stops that harness; its input is
# copied to tests/fuzz/regressions/<harness>/ — fix the bug and commit the input, and the normal
# build's CTest (fuzz_replay_<harness>) replays it from then on.
# Prints one line per harness: executions, coverage (edges), corpus size, findings.
# Environment: JOBS (build parallelism, default 2), FUZZ_BUILD (default build-fuzz), FUZZ_NO_BUILD=1
# (run the harnesses already built).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build=${FUZZ_BUILD:-build-fuzz}
jobs=${JOBS:-2}

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKANANA_FUZZ=ON >/dev/null || exit 1
fi
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  mapfile -t harnesses < <(sed -n '/^set(KANANA_FUZZ_HARNESSES/,/)/p' tests/fuzz/CMakeLists.txt |
                           tr ' ()' '\n\n\n' | grep -E '^[a-z_0-9]+$' | grep -v '^set$')
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
if [ -z "${FUZZ_NO_BUILD:-}" ]; then nice ninja -C "$build" -j"$jobs" "${targets[@]}" || exit 1; fi

status=0
printf '%-18s %10s %8s %8s %s\n' harness execs cov corpus findings
for h in "${harnesses[@]}"; do
  corpus="$build/corpus/$h"
  artifacts="$build/artifacts/$h/"
  mkdir -p "$corpus" "$artifacts"
  log="$build/logs/$h.log"
  mkdir -p "$(dirname "$log")"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    nice "$build/bin/fuzz_$h" -max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" "tests/fuzz/seeds/$h" >"$log" 2>&1 &
  pid=$!
  wait $pid
  rc=$?
  rm -rf "/dev/shm/kanana-fuzz-$pid" "${TMPDIR:-/tmp}/kanana-fuzz-$pid"  # the harness's input files
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  found=$(find "$artifacts" -type f | wc -l)
  if [ "$found" -gt 0 ]; then
    mkdir -p "tests/fuzz/regressions/$h"
    cp "$artifacts"* "tests/fuzz/regressions/$h/"
    status=1
  fi
  printf '%-18s %10s %8s %8s %s\n' "$h" "${execs:-?}" "${cov:-?}" "$(ls "$corpus" | wc -l)" \
    "$([ "$found" -gt 0 ] && echo "$found (see $log)" || echo "none (rc $rc)")"
done
exit $status
