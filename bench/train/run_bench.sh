#!/bin/sh
# Trainer benchmark: C++ trainer vs the same model/batch/optimizer as a plain PyTorch loop
# (Debian python3-torch: same LibTorch, threads and BLAS), alternating runs (paired.py), on
# the 10m and small-100m presets; then 2-rank Gloo scaling on 10m: 2 ranks x 1 thread
# against 1 rank x 1 thread with the same global batch (efficiency = tok/s(2) / (2 tok/s(1))).
# usage: bench/train/run_bench.sh BUILD_DIR [THREADS] [REPEATS]
set -e
BUILD=${1:?build dir}
T=${2:-1}
R=${3:-5}
HERE=$(dirname "$0")
echo "# BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3); load: $(cat /proc/loadavg)"
/usr/bin/python3 "$HERE/paired.py" "$BUILD" 10m "$R" "$T"
/usr/bin/python3 "$HERE/paired.py" "$BUILD" small-100m "$(( R > 3 ? 3 : R ))" "$T"
# Data-parallel scaling (1 vs 2 ranks, before/after the overlapped reduction, ZeRO-1 memory):
# one SCALING line per preset. Noisy on a shared machine: compare figures from one run.
/usr/bin/python3 "$HERE/scaling.py" "$BUILD" 10m 128 8 8 "$R"
/usr/bin/python3 "$HERE/scaling.py" "$BUILD" small-100m 128 4 4 "$(( R > 3 ? 3 : R ))"
