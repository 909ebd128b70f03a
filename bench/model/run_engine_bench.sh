#!/usr/bin/env bash
# The Torch-free CPU engine per weight format and thread count on random checkpoints of the
# kanana-nano-2.1b and small-100m presets (bf16 files, made once with `kanana model init`).
#   bench/model/run_engine_bench.sh [BUILD_DIR] [PRESETS] [THREADS] [FORMATS]
# e.g. bench/model/run_engine_bench.sh build "small-100m kanana-nano-2.1b" "1 2" "f32 bf16 int8 q4"
# Checkpoints go to $KANANA_BENCH_DIR (default ~/.cache/kanana-workbench/bench-models).
set -euo pipefail
build=${1:-build}
presets=${2:-"small-100m kanana-nano-2.1b"}
threads=${3:-"1 2"}
formats=${4:-"f32 bf16 int8 q4"}
dir=${KANANA_BENCH_DIR:-$HOME/.cache/kanana-workbench/bench-models}
mkdir -p "$dir"
for preset in $presets; do
  model="$dir/$preset-bf16"
  if [ ! -f "$model/config.json" ]; then
    echo "# making $model (random weights)"
    "$build/bin/kanana" model init --preset "$preset" --dtype bf16 --out "$model" >/dev/null
  fi
  echo "# $preset ($(du -sh "$model" | cut -f1) on disk), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  for t in $threads; do
    for f in $formats; do
      "$build/bin/bench_engine" "$model" --weights "$f" --threads "$t" --prompt 64 --tokens 32 --reps 3
    done
  done
done
