#!/usr/bin/env python3
"""Data-parallel scaling of the C++ trainer: 1 rank vs 2 Gloo ranks with the same global batch,
1 thread per rank, alternating runs (1 rank, 2 ranks reducing after backward, 2 ranks with the
overlapped bucketed reduction, 2 ranks with ZeRO-1), repeated; medians are reported.

  efficiency      = tok/s(2 ranks) / (2 * tok/s(1 rank))
  exposed reduce  = median all-reduce time after backward in the after-backward runs
  hidden reduce   = step time(after-backward) - step time(overlapped), i.e. how much of that
                    all-reduce time the overlap took off the step (clamped to [0, exposed])
  optimizer state = AdamW moments on rank 0 (1 rank, 2 ranks unsharded, 2 ranks ZeRO-1)

usage: scaling.py BUILD_DIR PRESET SEQ_LEN GLOBAL_BATCH STEPS REPEATS
Prints one JSON line per run and a final line starting with "SCALING".
"""
import json
import statistics
import subprocess
import sys


def run(build, preset, seq, batch, steps, extra):
    cmd = [f"{build}/bin/bench_train", preset, str(seq), str(batch), str(steps), "1"] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    print(out, flush=True)
    return json.loads(out)


def main():
    build, preset, seq, batch, steps, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    kinds = {
        "one": [],
        "before": ["--ranks", "2", "--overlap", "0"],
        "after": ["--ranks", "2", "--overlap", "1"],
        "zero1": ["--ranks", "2", "--overlap", "1", "--zero", "1"],
    }
    res = {k: [] for k in kinds}
    for _ in range(reps):
        for k, extra in kinds.items():  # alternating: one of each per round
            res[k].append(run(build, preset, seq, batch, steps, extra))
    med = lambda k, f: statistics.median(r[f] for r in res[k])
    tps1 = med("one", "tokens_per_s")
    eff_before = med("before", "tokens_per_s") / (2 * tps1)
    eff_after = med("after", "tokens_per_s") / (2 * tps1)
    exposed = med("before", "exposed_reduce_s")
    hidden = max(0.0, min(exposed, med("before", "median_step_s") - med("after", "median_step_s")))
    mib = lambda k: med(k, "optimizer_bytes") / 2**20
    print(f"SCALING {preset}: seq {seq} x global batch {batch}, {reps} alternating rounds of {steps} steps, 1 thread/rank; "
          f"1 rank {tps1:.0f} tok/s; 2 ranks efficiency before overlap {eff_before:.2f}, after {eff_after:.2f} "
          f"(ZeRO-1 {med('zero1', 'tokens_per_s') / (2 * tps1):.2f}); all-reduce exposed {exposed * 1e3:.1f} ms/step "
          f"before, hidden by overlap {hidden * 1e3:.1f} ms ({(hidden / exposed * 100) if exposed > 0 else 0:.0f}%); "
          f"optimizer state rank 0: 1 rank {mib('one'):.1f} MiB, 2 ranks {mib('after'):.1f} MiB, "
          f"2 ranks ZeRO-1 {mib('zero1'):.1f} MiB", flush=True)


if __name__ == "__main__":
    main()
