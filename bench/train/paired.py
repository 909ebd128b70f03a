#!/usr/bin/python3
"""Alternates the C++ trainer bench and the plain PyTorch loop (A B A B ...) and prints the
tokens/s ratio pair by pair and its median, so a drifting, shared machine affects both sides
of each pair alike.

usage: paired.py BUILD_DIR PRESET REPEATS THREADS
presets: 10m, small-100m (their shapes are repeated here for the Python side)."""
import json, statistics, subprocess, sys, os

SHAPES = {  # hidden ffn layers heads kv head_dim vocab, seq, batch, steps (model/presets.cpp)
    "10m": ("320 864 7 8 4 40 8000", 128, 8, 6),
    "small-100m": ("768 2048 12 12 4 64 32000", 128, 4, 3),
}
build, preset, repeats, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
shape, seq, batch, steps = SHAPES[preset]
here = os.path.dirname(os.path.abspath(__file__))
cpp = [f"{build}/bin/bench_train", preset, str(seq), str(batch), str(steps), threads]
py = ["/usr/bin/python3", f"{here}/bench_train_py.py", *shape.split(), str(seq), str(batch), str(steps), threads]


def run(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


ratios, mfus = [], []
for i in range(repeats):
    a, b = run(cpp), run(py)
    ratios.append(a["tokens_per_s"] / b["tokens_per_s"])
    mfus.append(a["mfu"])
    print(f"pair {i + 1}: C++ {a['tokens_per_s']:.1f} tok/s (MFU {a['mfu']:.3f} of {a['gemm_gflops']:.1f} GFLOP/s GEMM), "
          f"Python {b['tokens_per_s']:.1f} tok/s -> {ratios[-1]:.3f}x", flush=True)
print(f"{preset}, {threads} thread(s): median C++/Python {statistics.median(ratios):.3f}x "
      f"(min {min(ratios):.3f}, max {max(ratios):.3f}); median MFU {statistics.median(mfus):.3f}; "
      f"load {open('/proc/loadavg').read().split()[:3]}")
