#!/usr/bin/env python3
"""Fault injection: SIGKILL at random moments of a training run that checkpoints every step.

Each trial starts the same small pre-training run (tiny model, a SentencePiece tokenizer and
a token pack made here, a checkpoint after every optimizer step, keep_last 2), kills it with
SIGKILL at a random moment (uniform over the reference run's wall time, so many kills land
inside a checkpoint save), then runs `kanana train --resume` to the end. A trial is lost when
  - the resume did not start from the newest complete checkpoint left by the kill (a torn
    `.tmp-step-*` folder must never be used, a complete `step-*` must never be skipped), or
  - the final weights differ by one bit from an uninterrupted run's (the checksums.json of the
    last checkpoint), or the resumed run failed.
Prints the trials, how many kills landed during a save (a staging folder was left), and the
losses. Exit 1 when any trial was lost.

  tests/fault/checkpoint_kill.py --kanana build/bin/kanana [--trials 50] [--steps 12] [--preset tiny] [--seed 1]
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def final_weights(run_dir):
    steps = sorted((run_dir / "checkpoints").glob("step-*"))
    if not steps:
        return None, None
    sums = json.loads((steps[-1] / "checksums.json").read_text())
    return steps[-1].name, sums["files"]["model.safetensors"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kanana", required=True)
    ap.add_argument("--trials", type=int, default=50)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--preset", default="tiny", help="model preset (tiny: 7M parameters, ~85 MB per checkpoint)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", help="work folder to keep (default: a temporary one, removed)")
    a = ap.parse_args()
    kanana = Path(a.kanana).resolve()
    rng = random.Random(a.seed)
    work = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="kanana-fault-"))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, KANANA_LOG_LEVEL="info")

    # Data: a corpus, a 400-piece tokenizer, a pack of 16-token rows.
    words = "the of and to in is that for it as with was on be by this are from at or an model data token".split()
    with open(work / "corpus.jsonl", "w") as f:
        for i in range(600):
            f.write(json.dumps({"text": " ".join(rng.choice(words) for _ in range(40)) + f" {i}"}) + "\n")
    for cmd in ([kanana, "tokenizer", "train", "--input", work / "corpus.jsonl", "--out", work / "tok.model",
                 "--vocab-size", "400", "--model-type", "bpe"],
                [kanana, "data", "pack", "--tokenizer", work / "tok.model", "--out", work / "pack", "--seq-len", "16",
                 "--val-fraction", "0.05", "--overwrite", work / "corpus.jsonl"]):
        r = run(cmd, env=env)
        if r.returncode != 0:
            sys.exit(f"setup failed: {' '.join(map(str, cmd))}\n{r.stderr}")
    recipe = {"type": "pretrain", "name": "fault", "model": {"preset": a.preset}, "seq_len": 16, "micro_batch_size": 2,
              "seed": 7,
              "stages": [{"name": "s1", "token_budget": a.steps * 32,
                          "sources": [{"name": "src", "path": str(work / "pack"), "weight": 1.0}],
                          "schedule": {"kind": "cosine", "peak_lr": 2e-3, "warmup_steps": 2}}],
              "checkpoint": {"interval": 1, "keep_last": 2},
              "runtime": {"peak_tflops": 1.0, "log_interval": 1}}
    (work / "recipe.json").write_text(json.dumps(recipe, indent=2))
    train = [kanana, "train", "--recipe", work / "recipe.json", "--threads", "1"]

    t0 = time.monotonic()
    ref = run(train + ["--run-dir", work / "reference"], env=env)
    wall = time.monotonic() - t0
    if ref.returncode != 0:
        sys.exit("the uninterrupted run failed:\n" + ref.stderr)
    ref_step, ref_hash = final_weights(work / "reference")
    print(f"reference: {a.preset} model, {a.steps} steps, checkpoint every step, {wall:.1f} s; final {ref_step} model {ref_hash}")

    torn_left = resumed_ok = identical = fresh = 0
    losses = []
    for k in range(a.trials):
        run_dir = work / f"trial-{k:03d}"
        shutil.rmtree(run_dir, ignore_errors=True)
        p = subprocess.Popen([str(c) for c in train + ["--run-dir", run_dir]], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.05, wall))
        p.send_signal(signal.SIGKILL)
        p.wait()
        ckdir = run_dir / "checkpoints"
        staging = sorted(ckdir.glob(".tmp-*")) if ckdir.exists() else []
        complete = sorted(ckdir.glob("step-*")) if ckdir.exists() else []
        torn_left += bool(staging)
        want = complete[-1].name if complete else None
        r = run(train + ["--run-dir", run_dir, "--resume"], env=env)
        m = re.search(r"resumed from (step-\d+)", r.stderr)
        got = m.group(1) if m else None
        if got is None and "starting fresh" in r.stderr:
            fresh += 1
        step, h = final_weights(run_dir)
        problems = []
        if r.returncode != 0:
            problems.append(f"the resumed run failed ({r.returncode}): {r.stderr.strip().splitlines()[-1:]}")
        if got != want:
            said = [l for l in r.stderr.splitlines() if "resum" in l or "checkpoint" in l][:3]
            problems.append(f"resumed from {got}, the newest complete checkpoint was {want} (it said: {said})")
        else:
            resumed_ok += 1
        if h == ref_hash and step == ref_step:
            identical += 1
        else:
            problems.append(f"final {step} {h} != reference {ref_step} {ref_hash}")
        if problems:
            losses.append((k, problems))
        if not a.keep and not problems:
            shutil.rmtree(run_dir, ignore_errors=True)
    print(f"trials: {a.trials}; kills during a save (staging folder left): {torn_left}; killed before the first "
          f"checkpoint: {fresh}")
    print(f"resumed from the newest complete checkpoint: {resumed_ok}/{a.trials}; final weights bit-identical: "
          f"{identical}/{a.trials}; lost: {len(losses)}")
    for k, problems in losses:
        print(f"  trial {k}: " + "; ".join(problems))
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if losses else 0


if __name__ == "__main__":
    sys.exit(main())
