#!/bin/sh
# Trainer benchmark: C++ trainer vs plain PyTorch (Debian python3-torch, same threads and BLAS)
# on the 10m and small-100m presets, then 2-rank Gloo scaling on 10m.
# usage: bench/train/run_bench.sh BUILD_DIR [THREADS]
set -e
BIN=${1:?build dir}/bin/bench_train
T=${2:-2}
HERE=$(dirname "$0")
echo "# BLAS: $(/usr/bin/python3 -c 'import torch; print(torch.__config__.show())' | grep -io 'blas_info=[a-z]*\|openblas' | head -1); load: $(cat /proc/loadavg)"
# preset: hidden ffn layers heads kv head_dim vocab (model/presets.cpp)
$BIN 10m 128 8 6 "$T"
/usr/bin/python3 "$HERE/bench_train_py.py" 320 864 7 8 4 40 8000 128 8 6 "$T"
$BIN small-100m 128 4 3 "$T"
/usr/bin/python3 "$HERE/bench_train_py.py" 768 2048 12 12 4 64 32000 128 4 3 "$T"
# scaling: 2 ranks × T/2 threads vs 1 rank × T threads, same global batch
$BIN 10m 128 8 6 $(( T > 1 ? T / 2 : 1 )) --ranks 2
