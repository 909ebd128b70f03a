#!/usr/bin/env bash
# The whole Kanana loop at toy scale, without a display, with the `kanana` CLI only, into one
# workspace; every stage is a workspace run or record, so the Workspace page's lineage reaches
# from the corpus to the DPO model:
#
#   corpora (data cache) → dedup → heuristic filter → PII   kept/removed sets: workspace datasets
#   → SentencePiece tokenizer with ChatML markers            a workspace tokenizer record
#   → en/ko token packs                                      workspace datasets (from tokenizer + corpus)
#   → two-stage pre-training                                 a workspace run → checkpoints
#   → pruning + distillation (surgery pipeline)              a workspace run → student
#   → SFT on FAQ / help chats                                a workspace run (from the student)
#   → candidates for a prompt set → ko-over-en rule labels   prompt set, candidates, judgements
#   → DPO on those judgements                                a workspace run (from the SFT model)
#   → evaluation of every stage (ppl per language, the demo tasks of resources/eval/demo)
#   → a RAG index of the Debian FAQ                          <workspace>/rag/faq
#
# Resumable: a stage whose output is there is skipped (delete $demo/done/<stage> to redo one).
# Sizes come from the DEMO_* variables below (the test drives a reduced budget through them).
#
#   scripts/demo-headless.sh     (env: KANANA_BUILD_DIR, KANANA_DATA_CACHE, KANANA_DEMO_WORKSPACE,
#                                 DEMO_* sizes; DEMO_FRESH=1 starts the pipeline folder afresh)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${KANANA_BUILD_DIR:-$root/build}"
kanana="$build_dir/bin/kanana"
cache="${KANANA_DATA_CACHE:-$HOME/.cache/kanana-workbench}"
ws="${KANANA_DEMO_WORKSPACE:-$HOME/.local/share/kanana-workbench/demo}"
export KANANA_SOURCE_DIR="$root" KANANA_WORKSPACE="$ws"
threads="${DEMO_THREADS:-$(nproc)}"
export KANANA_THREADS="$threads" OMP_NUM_THREADS="$threads"

# ---- sizes (defaults: ~15 minutes on 2 cores; see README "The demo")
hidden="${DEMO_HIDDEN:-192}"              # pre-trained model width
layers="${DEMO_LAYERS:-4}"
vocab="${DEMO_VOCAB:-8000}"
seq="${DEMO_SEQ:-128}"
pretrain_tokens="${DEMO_PRETRAIN_TOKENS:-1200000}"  # both stages (80 % / 20 %)
pretrain_lr="${DEMO_PRETRAIN_LR:-3e-3}"
distill_tokens="${DEMO_DISTILL_TOKENS:-150000}"
sft_steps="${DEMO_SFT_STEPS:-150}"
dpo_steps="${DEMO_DPO_STEPS:-40}"
chat_pairs="${DEMO_CHAT_PAIRS:-300}"       # help paragraphs → SFT chats (each answered ko and en)
prompts="${DEMO_PROMPTS:-40}"              # prompts of the candidate set
eval_limit="${DEMO_EVAL_LIMIT:-0}"         # items per demo task (0 = all 120)
corpus_mb="${DEMO_CORPUS_MB:-3}"          # at most this many MB from each input corpus

start=$(date +%s)
stage_no=0
total=12
say() { printf '[demo %4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }
# stage NAME TITLE: prints the progress line; returns 1 (skip) when the stage is done already.
stage() {
  stage_no=$((stage_no + 1))
  if [ -e "$demo/done/$1" ]; then
    say "stage $stage_no/$total $2: done before, skipped"
    return 1
  fi
  say "stage $stage_no/$total $2"
}
finish() { mkdir -p "$demo/done"; touch "$demo/done/$1"; }
failed() { echo "demo: a command failed; its output ($1):" >&2; tail -n 15 "$1" >&2; exit 1; }
# Every command names its workspace on stderr ("workspace: DIR (KANANA_WORKSPACE)"): said once above.
k() { "$kanana" "$@" 2> >(grep -v '^workspace: ' >&2); }
last_ckpt() { ls -d "$1"/checkpoints/step-* 2>/dev/null | sort | tail -n1; }
# launch NAME KIND SPEC_COMMAND_JSON INPUTS_JSON: a workspace run like the Jobs page launches;
# follows it to the end and prints its folder on stdout (the id goes to $demo/<name>.run).
launch() {
  local name=$1 kind=$2 command=$3 inputs=$4
  cat > "$demo/$name.job.json" <<JOB
{"name": "demo-$name", "kind": "$kind", "command": $command,
 "env": {"OMP_NUM_THREADS": "$threads"}, "inputs": $inputs,
 "target": {"kind": "local", "kanana_binary": "$kanana"}}
JOB
  local launched run_id run_dir
  launched=$(k runs launch --spec "$demo/$name.job.json")
  run_id=$(sed -nE 's/^run ([0-9]+) launched: .*/\1/p' <<<"$launched")
  run_dir=$(sed -nE 's/^run [0-9]+ launched: (.*)/\1/p' <<<"$launched")
  [ -n "$run_id" ] || { echo "demo: launching $name failed: $launched" >&2; exit 1; }
  echo "$run_id" > "$demo/$name.run"
  echo "$run_dir" > "$demo/$name.dir"
  say "  run $run_id ($kind) in $run_dir" >&2
  if ! k runs tail "$run_id" --follow --interval 2 > "$demo/$name.events.log" 2>&1; then
    echo "demo: run $run_id ($name) did not finish; its events:" >&2
    tail -n 20 "$demo/$name.events.log" >&2
    k runs show "$run_id" >&2 || true
    exit 1
  fi
  # `runs tail` only reads events; a refresh records the run's end state and its checkpoints
  # (and forgets those keep_last deleted) in the workspace.
  k runs show "$run_id" > "$demo/$name.show.txt"
}

[ -x "$kanana" ] || { echo "demo-headless.sh: $kanana not built; run scripts/setup.sh" >&2; exit 1; }
corpora="$cache/corpora"
for f in demo_bilingual brown_en sotu_en debian_faq_ko debian_faq_en install_guide_ko faq_qa_ko faq_qa_en \
         ko_en_libreoffice_aligned; do
  [ -f "$corpora/$f.jsonl" ] || { echo "demo-headless.sh: $corpora/$f.jsonl missing; run scripts/fetch-demo-data.sh" >&2; exit 1; }
done

demo="$ws/data/demo-pipeline"
[ "${DEMO_FRESH:-0}" = 1 ] && rm -rf "$demo"
mkdir -p "$demo"
say "workspace $ws (every command below uses it); pipeline folder $demo; $threads threads"
k workspace demo --dir "$ws" --data-cache "$cache" >/dev/null
record() { k workspace record "$@"; }

sources=("$corpora/demo_bilingual.jsonl" "$corpora/debian_faq_ko.jsonl" "$corpora/debian_faq_en.jsonl"
         "$corpora/install_guide_ko.jsonl" "$corpora/brown_en.jsonl" "$corpora/sotu_en.jsonl")
inputs=()
for f in "${sources[@]}"; do inputs+=("$demo/input/$(basename "$f")"); done
if stage data "dedup → filter (kanana-web recipe) → PII on ${#inputs[@]} corpora (≤ $corpus_mb MB each)"; then
  rm -rf "$demo/input" "$demo/dedup" "$demo/filtered" "$demo/pii"
  mkdir -p "$demo/input"
  # The first documents of each corpus, up to DEMO_CORPUS_MB (whole lines), as the corpus import.
  python3 - "$corpus_mb" "$demo/input" "${sources[@]}" <<'PY'
import os, sys
cap, out = float(sys.argv[1]) * 1e6, sys.argv[2]
for src in sys.argv[3:]:
    n = 0
    with open(src, "rb") as f, open(os.path.join(out, os.path.basename(src)), "wb") as o:
        for line in f:
            if n and n + len(line) > cap:
                break
            o.write(line)
            n += len(line)
PY
  for i in "${!sources[@]}"; do
    record dataset "${inputs[$i]}" --name "import $(basename "${inputs[$i]}")" --dataset-kind corpus \
      --relation imported --from "${sources[$i]}" >/dev/null
  done
  k data dedup "${inputs[@]}" --out "$demo/dedup" -q
  k data filter "$demo/dedup/kept.jsonl" --out "$demo/filtered" -q \
    --recipe "$root/resources/recipes/filters/kanana-web.json" --lid-model "$cache/models/lid.176.ftz"
  k data pii "$demo/filtered/kept.jsonl" --out "$demo/pii" -q
  # The removed set: the documents the filter's decisions drop, with the rule that dropped them.
  python3 - "$demo/dedup/kept.jsonl" "$demo/filtered/decisions.jsonl" "$demo/filtered/removed.jsonl" <<'PY'
import json, sys
docs = open(sys.argv[1], encoding="utf-8").read().splitlines()
with open(sys.argv[3], "w", encoding="utf-8") as out:
    for line in open(sys.argv[2], encoding="utf-8"):
        d = json.loads(line)
        if not d["keep"]:
            doc = json.loads(docs[d["line"] - 1]); doc["removed_by"] = d["rule"]
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
PY
  from=(); for f in "${inputs[@]}"; do from+=(--from "$f"); done
  record dataset "$demo/dedup/kept.jsonl" --name "dedup kept" --dataset-kind filtered --relation deduplicated "${from[@]}"
  record dataset "$demo/filtered/kept.jsonl" --name "filter kept" --dataset-kind filtered --relation filtered \
    --from "$demo/dedup/kept.jsonl" --meta "{\"recipe\": \"$root/resources/recipes/filters/kanana-web.json\"}"
  record dataset "$demo/filtered/removed.jsonl" --name "filter removed" --dataset-kind filtered --relation removed \
    --from "$demo/dedup/kept.jsonl" --meta '{"removed": true}'
  record dataset "$demo/pii/anonymized.jsonl" --name "PII anonymized" --dataset-kind filtered --relation anonymized \
    --from "$demo/filtered/kept.jsonl"
  say "  kept $(wc -l < "$demo/pii/anonymized.jsonl") of $(cat "${inputs[@]}" | wc -l) documents ($(wc -l < "$demo/filtered/removed.jsonl") removed by filter rules)"
  finish data
fi
clean="$demo/pii/anonymized.jsonl"

tok="$demo/tokenizer/demo-${vocab}.model"
if stage tokenizer "SentencePiece BPE tokenizer ($vocab pieces, byte fallback, ChatML markers)"; then
  mkdir -p "$demo/tokenizer"
  k tokenizer train --input "$clean" --out "$tok" --vocab-size "$vocab" --model-type bpe \
    --character-coverage 0.9995 --byte-fallback --chat-template chatml >/dev/null
  k data fertility --tokenizer "$tok" --json "$demo/tokenizer/fertility.json" "$clean" >/dev/null
  record tokenizer "$tok" --name "demo-$vocab" --relation trained --from "$clean"
  finish tokenizer
fi

if stage packs "English and Korean token packs"; then
  # Split the cleaned corpus by language (the filter's language id is in each document's lang).
  python3 - "$clean" "$demo/by-lang" <<'PY'
import json, os, re, sys
os.makedirs(sys.argv[2], exist_ok=True)
out = {l: open(f"{sys.argv[2]}/{l}.jsonl", "w", encoding="utf-8") for l in ("en", "ko")}
hangul = re.compile("[가-힣]")
for line in open(sys.argv[1], encoding="utf-8"):
    d = json.loads(line)
    lang = d.get("lang") or ("ko" if len(hangul.findall(d["text"])) > 0.2 * len(d["text"]) else "en")
    if lang in out:
        out[lang].write(line)
PY
  for lang in en ko; do
    record dataset "$demo/by-lang/$lang.jsonl" --name "clean $lang" --dataset-kind filtered --relation split --from "$clean"
    k data pack --tokenizer "$tok" --out "$demo/packs/$lang" --source-name "$lang" --val-fraction 0.05 \
      --seq-len "$seq" --overwrite "$demo/by-lang/$lang.jsonl" >/dev/null
    record dataset "$demo/packs/$lang" --name "packs $lang" --dataset-kind shards --relation packed \
      --from "$demo/by-lang/$lang.jsonl" >/dev/null
    k workspace link "$tok" "$demo/packs/$lang" --relation tokenized >/dev/null
  done
  finish packs
fi

if stage pretrain "two-stage pre-training ($hidden wide, $layers layers, $pretrain_tokens tokens; stage 2 Korean-heavy)"; then
  python3 - "$root/resources/recipes/train" "$demo" "$hidden" "$layers" "$vocab" "$seq" "$pretrain_tokens" "$pretrain_lr" <<'PY'
import json, sys
src, demo, hidden, layers, vocab, seq, tokens, lr = sys.argv[1:]
hidden, layers, vocab, seq, tokens, lr = int(hidden), int(layers), int(vocab), int(seq), int(tokens), float(lr)
m = json.load(open(f"{src}/tiny-demo-model.json"))
heads = max(2, hidden // 32)
m.update(hidden_size=hidden, num_hidden_layers=layers, vocab_size=vocab, num_attention_heads=heads,
         num_key_value_heads=max(1, heads // 2), head_dim=hidden // heads, intermediate_size=(hidden * 8 // 3 + 31) // 32 * 32)
json.dump(m, open(f"{demo}/pretrain-model.json", "w"), indent=1)
r = json.load(open(f"{src}/tiny-cpu-demo.json"))
r["name"] = "demo-pretrain"
r["model"] = {"config": "pretrain-model.json"}
r["seq_len"] = seq
batch = r["micro_batch_size"] * r["grad_accum"] * seq
s1 = int(tokens * 0.8) // batch * batch
s2 = max(batch, (tokens - s1) // batch * batch)
r["stages"][0]["token_budget"] = s1
r["stages"][1]["token_budget"] = s2
r["stages"][0]["schedule"]["peak_lr"] = lr
r["stages"][1]["schedule"]["peak_lr"] = lr / 3
steps = (s1 + s2) // batch
r["validation"]["interval"] = max(10, steps // 6)
r["checkpoint"] = {"interval": max(10, steps // 4), "keep_last": 2}
json.dump(r, open(f"{demo}/pretrain.json", "w"), indent=1)
PY
  k mixture plan --recipe "$demo/pretrain.json" >/dev/null
  launch pretrain pretrain \
    "[\"kanana\", \"train\", \"--recipe\", \"$demo/pretrain.json\", \"--run-dir\", \"{run_dir}\", \"--threads\", \"$threads\", \"--quiet\"]" \
    "[\"$demo/packs/en\", \"$demo/packs/ko\"]"
  finish pretrain
fi
teacher=$(last_ckpt "$(cat "$demo/pretrain.dir")")

if stage distill "pruning + distillation of the pre-trained model (surgery pipeline)"; then
  python3 - "$demo" "$teacher" "$hidden" "$distill_tokens" "$seq" <<'PY'
import json, sys
demo, teacher, hidden, tokens, seq = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
cfg = json.load(open(f"{teacher}/config.json"))
h = max(cfg["num_attention_heads"] * 16, hidden * 3 // 4 // 16 * 16)
spec = {
  "teacher": teacher,
  "target": {"hidden_size": h, "intermediate_size": cfg["intermediate_size"] * 3 // 4 // 32 * 32, "heads_per_group": max(1, cfg["num_attention_heads"] // cfg["num_key_value_heads"])},
  "prune": {"steps": 1, "depth_metric": "loss",
            "importance": {"batch": "l2", "sequence": "mean", "sum_channels_over_layers": True, "layer_loss": False, "batch_size": 8},
            "calibration": {"pack": f"{demo}/packs/ko", "samples": 64, "seq_len": seq}},
  "distill": {"seq_len": seq, "micro_batch_size": 8, "seed": 7,
              "optimizer": {"weight_decay": 1e-4, "weight_decay_mode": "independent"},
              "distill": {"temperature": 1.0, "alpha": 0.0},
              "stages": [{"name": "distill", "token_budget": max(8 * seq, tokens // (8 * seq) * 8 * seq),
                          "sources": [{"name": "ko", "path": f"{demo}/packs/ko", "weight": 0.6},
                                      {"name": "en", "path": f"{demo}/packs/en", "weight": 0.4}],
                          "schedule": {"kind": "cosine", "peak_lr": 1e-3, "warmup_steps": 5, "min_lr_ratio": 0.1}}],
              "validation": {"paths": [f"{demo}/packs/en", f"{demo}/packs/ko"], "interval": 50, "batches": 4},
              "checkpoint": {"interval": 0, "keep_last": 1}}}
json.dump(spec, open(f"{demo}/distill.json", "w"), indent=1)
PY
  launch distill distill \
    "[\"kanana\", \"surgery\", \"pipeline\", \"--spec\", \"$demo/distill.json\", \"--run-dir\", \"{run_dir}\", \"--threads\", \"$threads\", \"--quiet\"]" \
    "[\"$demo/packs/en\", \"$demo/packs/ko\"]"
  k workspace link "$teacher" "run:$(cat "$demo/distill.run")" --relation teacher >/dev/null
  finish distill
fi
student=$(last_ckpt "$(cat "$demo/distill.dir")")

if stage sft "SFT on Debian FAQ and LibreOffice help chats (ko and en)"; then
  mkdir -p "$demo/chat"
  python3 "$root/bench/posttrain/make_synthetic_prefs.py" --corpus "$corpora/ko_en_libreoffice_aligned.jsonl" \
    --out "$demo/chat" --train "$chat_pairs" --heldout "$prompts" >/dev/null
  python3 - "$corpora" "$demo/chat" <<'PY'
import json, random, sys
corpora, out = sys.argv[1], sys.argv[2]
chats = [json.loads(l) for l in open(f"{out}/sft.jsonl", encoding="utf-8")]
for lang in ("ko", "en"):
    for line in open(f"{corpora}/faq_qa_{lang}.jsonl", encoding="utf-8"):
        d = json.loads(line)
        answer = d["text"].split("\n\n")[0][:400]
        chats.append({"messages": [{"role": "user", "content": d["question"]}, {"role": "assistant", "content": answer}]})
random.Random(14).shuffle(chats)
with open(f"{out}/sft.jsonl", "w", encoding="utf-8") as f:
    for c in chats:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
with open(f"{out}/prompts.jsonl", "w", encoding="utf-8") as f:
    for line in open(f"{out}/prefs_heldout.jsonl", encoding="utf-8"):
        f.write(json.dumps({"prompt": json.loads(line)["prompt"], "lang": "en"}, ensure_ascii=False) + "\n")
PY
  record dataset "$demo/chat/sft.jsonl" --name "demo SFT chats" --dataset-kind prompts --relation derived \
    --from "$corpora/ko_en_libreoffice_aligned.jsonl" --from "$corpora/faq_qa_ko.jsonl" --from "$corpora/faq_qa_en.jsonl" \
    --meta '{"built_by": "bench/posttrain/make_synthetic_prefs.py + Debian FAQ Q&A"}' >/dev/null
  python3 - "$root/resources/recipes/train/sft-tiny.json" "$demo" "$student" "$tok" "$seq" "$sft_steps" <<'PY'
import json, sys
src, demo, student, tok, seq, steps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
r = json.load(open(src))
r["name"] = "demo-sft"
r["model"] = {"init_from": student}
r["seq_len"] = seq * 2
r["micro_batch_size"] = 8
r["schedule"] = {"kind": "cosine", "peak_lr": 1e-3, "warmup_steps": 10, "min_lr_ratio": 0.1}
r["sft"].update(train=f"{demo}/chat/sft.jsonl", tokenizer=tok, max_steps=steps)
r["validation"] = {"interval": max(10, steps // 3)}
json.dump(r, open(f"{demo}/sft.json", "w"), indent=1)
PY
  launch sft sft \
    "[\"kanana\", \"train\", \"--recipe\", \"$demo/sft.json\", \"--run-dir\", \"{run_dir}\", \"--threads\", \"$threads\", \"--quiet\"]" \
    "[\"$demo/chat/sft.jsonl\"]"
  k workspace link "$student" "run:$(cat "$demo/sft.run")" --relation initialized >/dev/null
  finish sft
fi
sft_model=$(last_ckpt "$(cat "$demo/sft.dir")")

if stage candidates "$prompts prompts × 2 candidates from the SFT model"; then
  k prefs generate --model "$sft_model" --prompts "$demo/chat/prompts.jsonl" --set "demo prompts" \
    --num-candidates 2 --max-new-tokens 48 --temperature 1.0 --seed 1 >/dev/null
  finish candidates
fi

if stage label "preferences by the synthetic ko-over-en rule (judgements by rule:ko-over-en)"; then
  k prefs label-rule --set "demo prompts" --rule ko-over-en --margin 0.3
  # Aligned pairs with the same rule (chosen Korean, rejected English) for enough DPO data.
  k prefs import "$demo/chat/prefs_train.jsonl" --set "ko-over-en pairs" --annotator "rule:ko-over-en" >/dev/null
  k prefs export --out "$demo/chat/dpo-prefs.jsonl" --no-provenance >/dev/null
  record dataset "$demo/chat/dpo-prefs.jsonl" --name "demo preferences" --dataset-kind preferences \
    --relation exported >/dev/null
  finish label
fi

if stage dpo "DPO on the judgements (reference: the SFT model)"; then
  python3 - "$root/resources/recipes/train/dpo-tiny.json" "$demo" "$sft_model" "$seq" "$dpo_steps" <<'PY'
import json, sys
src, demo, sft, seq, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
r = json.load(open(src))
r["name"] = "demo-dpo"
r["model"] = {"init_from": sft}
r["seq_len"] = seq * 2
r["schedule"]["peak_lr"] = 1e-4
r["dpo"].update(train=f"{demo}/chat/dpo-prefs.jsonl", val=f"{demo}/chat/prefs_heldout.jsonl", max_steps=steps)
r["validation"] = {"interval": max(10, steps // 2)}
json.dump(r, open(f"{demo}/dpo.json", "w"), indent=1)
PY
  launch dpo dpo \
    "[\"kanana\", \"train\", \"--recipe\", \"$demo/dpo.json\", \"--run-dir\", \"{run_dir}\", \"--threads\", \"$threads\", \"--quiet\"]" \
    "[\"$demo/chat/dpo-prefs.jsonl\"]"
  k workspace link "$sft_model" "run:$(cat "$demo/dpo.run")" --relation initialized >/dev/null
  finish dpo
fi
dpo_model=$(last_ckpt "$(cat "$demo/dpo.dir")")

if stage eval "evaluation of every stage: perplexity per language, demo tasks"; then
  limit=(); [ "$eval_limit" -gt 0 ] && limit=(--limit "$eval_limit")
  # The demo tasks' specs ship in resources/eval/demo; their items are built from the FAQ in
  # the data cache (third-party text stays out of the repository).
  tasks="$demo/tasks"
  mkdir -p "$demo/eval"
  python3 "$root/scripts/make-demo-tasks.py" --cache "$cache" --out "$tasks" >/dev/null
  for t in faq-mc faq-next; do
    record dataset "$tasks/$t.json" --name "demo task $t" --dataset-kind eval --relation derived \
      --from "$corpora/faq_qa_ko.jsonl" --from "$corpora/faq_qa_en.jsonl" >/dev/null
  done
  for pair in "pretrain:$teacher" "distill:$student" "sft:$sft_model" "dpo:$dpo_model"; do
    name=${pair%%:*} model=${pair#*:}
    k eval ppl --model "$model" "$demo/packs/en" "$demo/packs/ko" --workspace "$ws" --run-name "eval ppl $name" \
      -o "$demo/eval/$name-ppl.json" ${limit[@]+"${limit[@]}"} > "$demo/eval-$name-ppl.txt" 2>&1 || failed "$demo/eval-$name-ppl.txt"
    k eval mc --model "$model" -t "$tasks/faq-mc.json" --workspace "$ws" --run-name "eval mc $name" \
      -o "$demo/eval/$name-mc.json" ${limit[@]+"${limit[@]}"} > "$demo/eval-$name-mc.txt" 2>&1 || failed "$demo/eval-$name-mc.txt"
    k eval gen --model "$model" -t "$tasks/faq-next.json" --workspace "$ws" --run-name "eval gen $name" \
      -o "$demo/eval/$name-gen.json" ${limit[@]+"${limit[@]}"} > "$demo/eval-$name-gen.txt" 2>&1 || failed "$demo/eval-$name-gen.txt"
    say "  $name: $(python3 - "$demo/eval" "$name" <<'PY'
import json, sys
d, n = sys.argv[1], sys.argv[2]
out = []
ppl = json.load(open(f"{d}/{n}-ppl.json"))["results"]
for k in ("ppl/en", "ppl/ko"):  # the packs' val splits, by source = language
    if k in ppl:
        out.append(f"{k} token ppl {ppl[k]['token_perplexity,none']:.1f} bpb {ppl[k]['bits_per_byte,none']:.2f}")
for t in ("mc", "gen"):
    for k, v in json.load(open(f"{d}/{n}-{t}.json"))["results"].items():
        for m, x in v.items():
            if isinstance(x, (int, float)) and "stderr" not in m and m.split(",")[0] in ("acc", "exact_match"):
                out.append(f"{k} {m.split(',')[0]} {x:.3f}")
print("; ".join(out))
PY
)"
  done
  finish eval
fi

if stage rag "RAG index of the Debian FAQ (full text, demo tokenizer)"; then
  k rag index --name faq --tokenizer "$tok" -q "$corpora/faq_qa_ko.jsonl" "$corpora/faq_qa_en.jsonl" >/dev/null
  finish rag
fi

if stage chat "generate from the DPO model"; then
  k generate --model "$dpo_model" --chat --prompt "데비안은 무엇인가요?" --max-new-tokens 48 --temperature 0.7 --seed 1 || true
  echo
  k generate --model "$teacher" --prompt "데비안 설치 안내" --max-new-tokens 48 --temperature 0.7 --seed 1 || true
  echo
  finish chat
fi

say "done in $(( $(date +%s) - start )) s. Lineage of the DPO model:"
k workspace lineage --node "$dpo_model" --direction up 2>/dev/null || true
echo "open the workspace in the GUI with  $build_dir/bin/kanana-workbench --workspace $ws"
echo "(a model this small trained for minutes on two cores writes Korean-looking text, not sense:"
echo " see README 'Loading a real Kanana checkpoint' for the released 2.1B models)"
