#!/usr/bin/env bash
# Kanana's central pruning claim at toy scale (kanana-facts.md §5: the pruned-and-distilled
# 2.1B beats the same architecture trained from scratch on far more tokens), CPU only, not a
# CI test. Every step is a `kanana` command:
#
#   1. teacher: a small Llama (custom config, vocab of the demo tokenizer) pre-trained on the
#      demo packs (en/ko 80/20) for TEACHER_TOKENS
#   2. student: the teacher pruned in 2 iterative steps (importance recomputed) — hidden
#      128 -> 96, ffn 384 -> 192, 2 -> 1 query heads per kv group (all kv heads kept)
#   3. distill: student <- teacher, forward KL on logits (T = 1), STUDENT_TOKENS
#   4. scratch: the same student architecture from random init, same tokens, same schedule,
#      at two peak LRs (the distillation LR and the teacher's from-scratch LR)
#   5. pruned+CE: the pruned student trained on the LM loss alone (no teacher), same tokens —
#      separates the value of the pruned initialisation from that of the teacher's logits
#
# Outputs in WORK_DIR: curves.csv (tokens, validation loss of every student run; all runs
# validate on the same held-out windows of the en and ko packs), summary.txt.
#
#   bench/surgery/distill_vs_scratch.sh [WORK_DIR]
#   env: KANANA_BUILD_DIR, KANANA_BENCH_PACKS (folder with en/ and ko/ packs of one tokenizer;
#        default: the demo workspace's, made by scripts/demo-headless.sh), TEACHER_TOKENS,
#        STUDENT_TOKENS, THREADS
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kanana="${KANANA_BUILD_DIR:-$root/build}/bin/kanana"
packs="${KANANA_BENCH_PACKS:-$HOME/.local/share/kanana-workbench/demo/data/demo-pipeline/packs}"
work="${1:-/tmp/kanana-surgery-bench}"
teacher_tokens="${TEACHER_TOKENS:-409600}"
student_tokens="${STUDENT_TOKENS:-204800}"
threads="${THREADS:-$(nproc)}"
step() { printf '\n== %s\n' "$*"; }
last_ckpt() { ls -d "$1"/checkpoints/step-* | sort | tail -n1; }

[ -x "$kanana" ] || { echo "distill_vs_scratch.sh: $kanana not built" >&2; exit 1; }
for p in en ko; do
  [ -f "$packs/$p/manifest.json" ] || { echo "distill_vs_scratch.sh: no pack $packs/$p (run scripts/demo-headless.sh)" >&2; exit 1; }
done
vocab=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tokenizer"]["vocab_size"])' "$packs/en/manifest.json")
tokenizer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tokenizer"]["path"])' "$packs/en/manifest.json")
mkdir -p "$work/models"
cd "$work"

# A recipe: name, type, model JSON, token budget, peak LR, extra top-level JSON (teacher ...).
recipe() {
  cat > "$1.json" <<EOF
{"type": "$2", "name": "$1", "model": $3, "seq_len": 128, "micro_batch_size": 16, "grad_accum": 1, "seed": 7,
 "optimizer": {"beta1": 0.9, "beta2": 0.95, "weight_decay": 1e-4, "weight_decay_mode": "independent"},
 "grad_clip": 1.0, "z_loss": 5e-6, $6
 "stages": [{"name": "main", "token_budget": $4,
             "sources": [{"name": "en", "path": "$packs/en", "weight": 0.8}, {"name": "ko", "path": "$packs/ko", "weight": 0.2}],
             "schedule": {"kind": "cosine", "peak_lr": $5, "warmup_steps": 10, "min_lr_ratio": 0.1}}],
 "validation": {"paths": ["$packs/en", "$packs/ko"], "interval": 10, "batches": 4},
 "checkpoint": {"interval": 0, "keep_last": 1},
 "runtime": {"dtype": "float32", "log_interval": 10}}
EOF
}
train() { rm -rf "runs/$1"; "$kanana" train --recipe "$1.json" --run-dir "runs/$1" --threads "$threads" --quiet; }

step "1. teacher ($teacher_tokens tokens)"
cat > teacher-model.json <<EOF
{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 128, "intermediate_size": 384,
 "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32, "vocab_size": $vocab,
 "max_position_embeddings": 512, "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "initializer_range": 0.02,
 "tie_word_embeddings": true, "hidden_act": "silu", "torch_dtype": "float32"}
EOF
if [ ! -f models/teacher/config.json ]; then
  recipe teacher pretrain '{"config": "teacher-model.json"}' "$teacher_tokens" 2e-3 ""
  train teacher
  rm -rf models/teacher && cp -r "$(last_ckpt runs/teacher)" models/teacher
  cp "$tokenizer" models/teacher/tokenizer.model
fi

step "2. prune the teacher (2 steps, importance on 256 calibration windows)"
rm -rf models/student
"$kanana" surgery prune models/teacher --out models/student --hidden 96 --intermediate 192 --heads-per-group 1 \
  --steps 2 --pack "$packs/en" --samples 256 --seq-len 128 --batch-size 16 --threads "$threads" --quiet
"$kanana" surgery info models/teacher --hidden 96 --intermediate 192 --heads-per-group 1 --context 128

step "3-5. students ($student_tokens tokens each)"
recipe distill distill '{"init_from": "models/student"}' "$student_tokens" 1e-3 \
  '"teacher": "models/teacher", "distill": {"temperature": 1.0, "alpha": 0.0},'
recipe scratch-lr1e-3 pretrain '{"config": "models/student/config.json"}' "$student_tokens" 1e-3 ""
recipe scratch-lr2e-3 pretrain '{"config": "models/student/config.json"}' "$student_tokens" 2e-3 ""
recipe pruned-ce pretrain '{"init_from": "models/student"}' "$student_tokens" 1e-3 ""
for r in distill scratch-lr1e-3 scratch-lr2e-3 pruned-ce; do
  start=$(date +%s)
  train "$r"
  echo "   ($r: $(( $(date +%s) - start )) s)"
done

step "curves"
python3 - "$student_tokens" <<'EOF' | tee summary.txt
import json, sys
runs = ["distill", "scratch-lr1e-3", "scratch-lr2e-3", "pruned-ce"]
curves, teacher_val = {}, None
for r in list(runs):
    pts = {}
    try:
        lines = open(f"runs/{r}/events.jsonl").read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        e = json.loads(line)
        m = e.get("metrics", {})
        if e.get("type") == "metric" and "val_loss" in m:
            pts[e["tokens"]] = m["val_loss"]
            if "val_loss_teacher" in m:
                teacher_val = m["val_loss_teacher"]
    if pts:
        curves[r] = pts
    else:
        runs.remove(r)
tokens = sorted(set().union(*[set(p) for p in curves.values()]))
with open("curves.csv", "w") as f:
    f.write("tokens," + ",".join(runs) + "\n")
    for t in tokens:
        f.write(str(t) + "," + ",".join(f"{curves[r][t]:.4f}" if t in curves[r] else "" for r in runs) + "\n")
final = {r: curves[r][max(curves[r])] for r in runs}
print(f"student tokens {sys.argv[1]}; final validation loss (same held-out en+ko windows):")
print(f"  teacher (before pruning)        {teacher_val:.4f}")
for r in runs:
    print(f"  {r:30s}  {final[r]:.4f}")
scratch = [r for r in runs if r.startswith("scratch")]
if "distill" not in final or not scratch:
    sys.exit("distill or scratch runs missing")
best = min(scratch, key=lambda r: final[r])
print(f"distill - best scratch ({best}) = {final['distill'] - final[best]:+.4f} nats "
      f"(perplexity ratio {2.718281828 ** (final['distill'] - final[best]):.3f})")
# Tokens the best scratch run needed to reach the distilled student's first validation loss.
first = curves["distill"][min(curves["distill"])]
reach = [t for t in sorted(curves[best]) if curves[best][t] <= first]
print(f"distill after {min(curves['distill'])} tokens: {first:.4f}; {best} reaches that "
      + (f"after {reach[0]} tokens" if reach else "never within the budget"))
EOF
echo "wrote $work/curves.csv and $work/summary.txt"
