#!/usr/bin/env bash
# Build-time profile: a clean build (ccache off) of the project in a scratch folder, then the
# total CPU-seconds of its Ninja steps, the wall time and the slowest steps from .ninja_log.
#
#   bench/build/build_profile.sh [--top N] [--jobs J] [--dir DIR] [--keep] [-- extra cmake args]
#   bench/build/build_profile.sh --log BUILD_DIR [--top N]     # only read an existing .ninja_log
#
# A step's time is its wall time inside Ninja; with J jobs on J free cores that is its CPU time.
# "build CPU-seconds" is the user + system time of every process the build ran (the shell's
# `times` for its children), which other load on the machine barely changes: the figure to
# compare when the machine is shared. The step times and the wall time need a quiet machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
top=20; jobs=$(nproc); dir=""; keep=0; log_only=""; extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --top) top="$2"; shift ;;
    --jobs) jobs="$2"; shift ;;
    --dir) dir="$2"; shift ;;
    --keep) keep=1 ;;
    --log) log_only="$2"; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "build_profile.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

report() {  # report BUILD_DIR [WALL_SECONDS [CPU_SECONDS]]
  local log="$1/.ninja_log"
  [ -r "$log" ] || { echo "build_profile.sh: no $log" >&2; exit 1; }
  # .ninja_log v5: start_ms end_ms mtime output hash; keep the last record of each output.
  awk -v top="$top" -v wall="${2:-}" -v cpu="${3:-}" '
    NR > 1 { d[$4] = ($2 - $1) / 1000.0 }
    END {
      n = 0; total = 0
      for (o in d) { n++; total += d[o] }
      printf "steps: %d\nstep CPU-seconds: %.0f\n", n, total
      if (wall != "") printf "wall seconds: %d\n", wall
      if (cpu != "") printf "build CPU-seconds (user + sys): %.0f\n", cpu
      printf "slowest %d steps:\n", top
      cmd = "sort -rn | head -" top
      for (o in d) printf "%8.1f  %s\n", d[o], o | cmd
      close(cmd)
    }' "$log"
}

if [ -n "$log_only" ]; then report "$log_only"; exit 0; fi

[ -n "$dir" ] || dir="$(mktemp -d /tmp/kanana-build-profile.XXXXXX)"
[ $keep -eq 1 ] || trap 'rm -rf "$dir"' EXIT
cmake -S "$root" -B "$dir" -G Ninja -DKANANA_USE_CCACHE=OFF "${extra[@]}" >/dev/null
# `times` prints the shell's own times, then its children's: "XmY.YYYs XmY.YYYs". It runs in
# this shell, redirected: in a pipeline or $(...) it would run in a subshell without children.
times > "$dir/.times0"
start=$(date +%s)
cmake --build "$dir" -j "$jobs" >/dev/null
wall=$(( $(date +%s) - start ))
times > "$dir/.times1"
cpu=$(awk 'FNR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /m|s/); t += a[1] * 60 + a[2] }
                      s += (FILENAME ~ /times1$/ ? t : -t) } END { print s }' "$dir/.times0" "$dir/.times1")
report "$dir" "$wall" "$cpu"
