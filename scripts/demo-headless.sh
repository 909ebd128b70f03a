#!/usr/bin/env bash
# The demo pipeline without a display, on the demo workspace, with the `kanana` CLI only:
# corpus -> filter -> tokenizer -> token shards -> two-stage pre-training -> generation.
# Outputs go into the demo workspace: data/demo-pipeline (made afresh on every run) and a new
# recorded run runs/tiny-cpu-demo-<time> (kept, like every run of the workspace).
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
rm -rf "$demo"
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
# Launched as a workspace run (detached, recorded with lineage from its packs), exactly as the
# Jobs page launches it, so the GUI lists it with its loss curves afterwards.
threads="$(nproc)"
cat > "$demo/tiny-cpu-demo.job.json" <<JOB
{"name": "tiny-cpu-demo", "kind": "pretrain",
 "command": ["kanana", "train", "--recipe", "$demo/tiny-cpu-demo.json", "--run-dir", "{run_dir}",
             "--threads", "$threads", "--quiet"],
 "recipe_path": "$demo/tiny-cpu-demo.json",
 "env": {"OMP_NUM_THREADS": "$threads"},
 "inputs": ["$demo/packs/en", "$demo/packs/ko"],
 "target": {"kind": "local", "kanana_binary": "$kanana"}}
JOB
launched=$("$kanana" runs launch --spec "$demo/tiny-cpu-demo.job.json" --workspace "$ws")
echo "$launched"
run_id=$(sed -nE 's/^run ([0-9]+) launched: .*/\1/p' <<<"$launched")
run_dir=$(sed -nE 's/^run [0-9]+ launched: (.*)/\1/p' <<<"$launched")
echo "(Ctrl-C only stops following; the run goes on: kanana runs cancel $run_id --workspace $ws)"
"$kanana" runs tail "$run_id" --follow --workspace "$ws"

step "6. generate from the last checkpoint"
ckpt=$(ls -d "$run_dir/checkpoints"/step-* | sort | tail -n1)
cp "$demo/demo-8k.model" "$ckpt/tokenizer.model"
"$kanana" model info "$ckpt"
"$kanana" generate --model "$ckpt" --prompt "한국어 설치 안내" --max-new-tokens 32 --temperature 0.8 --seed 1
echo
step "done: open the workspace in the GUI with  $build_dir/bin/kanana-workbench --workspace $ws"
