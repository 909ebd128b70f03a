#!/usr/bin/env bash
# Post-training demo on a tiny model, CPU only (not a CI test): Kanana's pipeline in miniature
# (kanana-facts.md §6) on a synthetic preference — chosen answers in Korean, rejected in
# English — built from the aligned ko/en LibreOffice help paragraphs in the data cache.
#
#   1. data: SFT chat JSONL (every prompt answered once in Korean, once in English) and TRL
#      preference pairs (train; held-out from unseen help pages)
#   2. a 4k-piece SentencePiece tokenizer with the ChatML markers
#   3. SFT        (resources/recipes/train/sft-tiny.json)
#   4. reward model (reward-tiny.json), held-out accuracy
#   5. offline DPO (dpo-tiny.json): held-out preference accuracy before/after, greedy replies
#   6. online DPO  (dpo-online-tiny.json, ONLINE=1): sample, reward-model label, train; reference
#      fixed to the offline-DPO model
#
#   bench/posttrain/dpo_demo.sh [WORK_DIR]     (env: KANANA_BUILD_DIR, KANANA_DATA_CACHE, ONLINE=0|1)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
kanana="${KANANA_BUILD_DIR:-$root/build}/bin/kanana"
cache="${KANANA_DATA_CACHE:-$HOME/.cache/kanana-workbench}"
work="${1:-/tmp/kanana-dpo-demo}"
threads="${THREADS:-$(nproc)}"
here="$root/bench/posttrain"
recipes="$root/resources/recipes/train"
step() { printf '\n== %s\n' "$*"; }
last_ckpt() { ls -d "$1"/checkpoints/step-* | sort | tail -n1; }
# A run's last checkpoint as a model folder with its tokenizer (for generate / init_from).
keep_model() {
  rm -rf "$2"
  cp -r "$(last_ckpt "$1")" "$2"
  cp "$1"/tokenizer/* "$2"/
}

[ -x "$kanana" ] || { echo "dpo_demo.sh: $kanana not built" >&2; exit 1; }
corpus="$cache/corpora/ko_en_libreoffice_aligned.jsonl"
[ -f "$corpus" ] || { echo "dpo_demo.sh: $corpus missing; run scripts/fetch-demo-data.sh" >&2; exit 1; }
mkdir -p "$work/models"
cd "$work"
rm -rf runs

step "1. synthetic preference data"
python3 "$here/make_synthetic_prefs.py" --corpus "$corpus" --out "$work"

step "2. tokenizer (SentencePiece BPE, 4000 pieces, ChatML markers)"
"$kanana" tokenizer train --input tokenizer_text.txt --out tokenizer.model --vocab-size 4000 \
  --model-type bpe --chat-template chatml --byte-fallback
cp "$recipes"/{tiny-chat-model,sft-tiny,reward-tiny,dpo-tiny,dpo-online-tiny}.json .

step "3. SFT"
time "$kanana" train --recipe sft-tiny.json --run-dir runs/sft --threads "$threads" --quiet
keep_model runs/sft models/sft

step "4. reward model (Bradley-Terry, Llama + score head)"
time "$kanana" train --recipe reward-tiny.json --run-dir runs/rm --threads "$threads" --quiet
"$kanana" posttrain export-reward --checkpoint "$(last_ckpt runs/rm)" --out models/rm
"$kanana" posttrain score --reward-model models/rm --data prefs_heldout.jsonl --threads "$threads"
"$kanana" posttrain score --reward-model models/rm --prompt "LibreOffice help: Choose Format - Cells ..." \
  --candidate "서식 - 셀을 선택합니다." --candidate "Choose Format - Cells." --threads "$threads"

step "5. offline DPO (reference = the SFT model, log-probs cached in runs/dpo/reference_logps.json)"
time "$kanana" train --recipe dpo-tiny.json --run-dir runs/dpo --threads "$threads" --quiet
keep_model runs/dpo models/dpo
echo "-- held-out preference accuracy BEFORE DPO (SFT model):"
"$kanana" posttrain eval-prefs --model models/sft --data prefs_heldout.jsonl --reference models/sft \
  --json eval-sft.json --threads "$threads"
echo "-- held-out preference accuracy AFTER DPO:"
"$kanana" posttrain eval-prefs --model models/dpo --data prefs_heldout.jsonl --reference models/sft \
  --json eval-dpo.json --threads "$threads"
models=(--model sft=models/sft --model dpo=models/dpo)

if [ "${ONLINE:-1}" = 1 ]; then
  step "6. online DPO (reference fixed to the offline-DPO model)"
  time "$kanana" train --recipe dpo-online-tiny.json --run-dir runs/online --threads "$threads" --quiet
  keep_model runs/online models/online
  python3 - runs/online <<'PY'
import json, sys
for line in open(sys.argv[1] + "/events.jsonl"):
    e = json.loads(line)
    m = e.get("metrics", {})
    if e.get("type") == "metric" and "online_reward_mean" in m and e["step"] % 8 == 1:
        print(f"round {int(m['online_round'])}: mean reward of policy samples {m['online_reward_mean']:+.3f}, "
              f"mean reply {m['online_reply_tokens']:.1f} tokens, {int(m['online_pairs'])} pairs")
PY
  "$kanana" posttrain eval-prefs --model models/online --data prefs_heldout.jsonl --reference models/sft \
    --json eval-online.json --threads "$threads"
  models+=(--model online=models/online)
fi

step "7. greedy replies on held-out prompts"
python3 "$here/greedy_compare.py" --kanana "$kanana" --prompts prefs_heldout.jsonl "${models[@]}" -n 40 --json greedy.json
