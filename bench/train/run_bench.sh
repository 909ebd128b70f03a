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
for i in 1 2 3; do
  one=$("$BUILD/bin/bench_train" 10m 128 8 6 1 | tail -1)
  two=$("$BUILD/bin/bench_train" 10m 128 8 6 1 --ranks 2 | tail -1)
  /usr/bin/python3 -c "
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f\"scaling: 1 rank {a['tokens_per_s']:.1f} tok/s, 2 ranks {b['tokens_per_s']:.1f} tok/s, \"
      f\"efficiency {b['tokens_per_s'] / (2 * a['tokens_per_s']):.2f}; same final loss: {a['final_loss'] == b['final_loss']}\")" "$one" "$two"
done
