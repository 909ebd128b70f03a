#!/usr/bin/env bash
# The demo pipeline without a display, on the demo workspace, with the `kanana` CLI only:
# corpus -> filter -> tokenizer -> token shards -> two-stage pre-training -> generation.
# Outputs go into the demo workspace (data/demo-pipeline, runs/tiny-cpu-demo) and are
# made afresh on every run.
#
#   scripts/demo-headless.sh            (env: KANANA_BUILD_DIR, KANANA_DATA_CACHE,
#                                        KANANA_DEMO_WORKSPACE)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${KANANA_BUILD_DIR:-$root/build}"
kanana="$build_dir/bin/kanana"
cache="${KANANA_DATA_CACHE:-$HOME/.cache/kanana-workbench}"
ws="${KANANA_DEMO_WORKSPACE:-$HOME/.local/share/kanana-workbench/demo}"
export KANANA_SOURCE_DIR="$root"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

[ -x "$kanana" ] || { echo "demo-headless.sh: $kanana not built; run scripts/setup.sh" >&2; exit 1; }
corpus="$cache/corpora/demo_bilingual.jsonl"
[ -f "$corpus" ] || { echo "demo-headless.sh: $corpus missing; run scripts/fetch-demo-data.sh" >&2; exit 1; }

step "1. demo workspace ($ws)"
"$kanana" workspace demo --dir "$ws" --data-cache "$cache"
demo="$ws/data/demo-pipeline"
rm -rf "$demo" "$ws/runs/tiny-cpu-demo"
mkdir -p "$demo"

step "2. filter the bilingual demo corpus with Kanana's web recipe (dedup -> heuristics -> PII)"
"$kanana" data dedup "$corpus" --out "$demo/dedup"
"$kanana" data filter "$demo/dedup/kept.jsonl" --out "$demo/filtered" \
  --recipe "$root/resources/recipes/filters/kanana-web.json" --lid-model "$cache/models/lid.176.ftz"
"$kanana" data pii "$demo/filtered/kept.jsonl" --out "$demo/pii"

step "3. train a bilingual SentencePiece tokenizer on the filtered text"
"$kanana" tokenizer train --input "$demo/pii/anonymized.jsonl" --out "$demo/demo-8k.model" \
  --vocab-size 8000 --model-type bpe --character-coverage 0.9995 --byte-fallback
"$kanana" data fertility --tokenizer "$demo/demo-8k.model" --json "$demo/fertility.json" "$demo/pii/anonymized.jsonl"

step "4. pack English and Korean token shards"
"$kanana" data pack --tokenizer "$demo/demo-8k.model" --out "$demo/packs/en" --source-name en \
  --val-fraction 0.05 "$cache/corpora/brown_en.jsonl" "$cache/corpora/sotu_en.jsonl"
"$kanana" data pack --tokenizer "$demo/demo-8k.model" --out "$demo/packs/ko" --source-name ko \
  --val-fraction 0.05 "$cache/corpora/debian_faq_ko.jsonl" "$cache/corpora/install_guide_ko.jsonl"

step "5. two-stage pre-training of a tiny Llama (stage 1 en/ko 50/50, stage 2 ko-heavy)"
sed -E 's/"vocab_size": *[0-9]+/"vocab_size": 8000/' "$root/resources/recipes/train/tiny-demo-model.json" \
  > "$demo/tiny-demo-model.json"
cp "$root/resources/recipes/train/tiny-cpu-demo.json" "$demo/tiny-cpu-demo.json"
"$kanana" mixture plan --recipe "$demo/tiny-cpu-demo.json"
"$kanana" train --recipe "$demo/tiny-cpu-demo.json" --run-dir "$ws/runs/tiny-cpu-demo" --threads "$(nproc)"

step "6. generate from the last checkpoint"
ckpt=$(ls -d "$ws/runs/tiny-cpu-demo/checkpoints"/step-* | sort | tail -n1)
cp "$demo/demo-8k.model" "$ckpt/tokenizer.model"
"$kanana" model info "$ckpt"
"$kanana" generate --model "$ckpt" --prompt "한국어 설치 안내" --max-new-tokens 32 --temperature 0.8 --seed 1
echo
step "done: open the workspace in the GUI with  $build_dir/bin/kanana-workbench --workspace $ws"
