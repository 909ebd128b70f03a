#!/usr/bin/env bash
# Retrieval on the Debian FAQ (ko + en) with a tiny Kanana2Vec embedding model trained here:
#   1. kanana rag make-pairs: training pairs (LibreOffice en<->ko translations, FAQ question->answer
#      of the training sections, installation-guide title->text, inverse-cloze sentence->document)
#      and the held-out FAQ question set;
#   2. a SentencePiece tokenizer (8k) on that text;
#   3. kanana train with resources/recipes/train/contrastive-tiny.json (InfoNCE, in-batch negatives);
#   4. kanana rag index of all FAQ answers (faq_passages.jsonl) with the trained model;
#   5. kanana rag eval: recall@1/5/10 and MRR for bm25, vector and hybrid on the held-out questions.
# Usage: bench/rag/rag_demo.sh WORKDIR [--steps N]   (KANANA=path/to/kanana, THREADS=2)
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
work="${1:?usage: rag_demo.sh WORKDIR [--steps N]}"
shift
steps=0
if [[ "${1:-}" == "--steps" ]]; then steps="$2"; fi
kanana="${KANANA:-$here/build/bin/kanana}"
threads="${THREADS:-2}"
mkdir -p "$work"
cd "$work"

"$kanana" rag make-pairs --out . --max-aligned 1500 --repeat-retrieval 3 --ict 3
python3 - <<'PY'
import json
with open("tokenizer-train.txt", "w") as out:
    for name in ("train_pairs.jsonl", "faq_passages.jsonl"):
        for line in open(name, encoding="utf-8"):
            j = json.loads(line)
            for key in ("query", "positive", "question", "text"):
                for para in j.get(key, "").split("\n"):
                    if para.strip():
                        out.write(para.strip() + "\n")
PY
"$kanana" tokenizer train --input tokenizer-train.txt --out tokenizer.model --vocab-size 8000 --byte-fallback
cp "$here/resources/recipes/train/contrastive-tiny.json" "$here/resources/recipes/train/embed-tiny-model.json" .
extra=()
if [[ "$steps" != 0 ]]; then extra=(--max-steps "$steps"); fi
"$kanana" train --recipe contrastive-tiny.json --run-dir runs/embed --threads "$threads" "${extra[@]}"
model="$(ls -d runs/embed/checkpoints/step-* | sort | tail -1)"
rm -rf index
"$kanana" rag index --index index --model "$model" --chunk-tokens 96 --overlap-tokens 16 --threads "$threads" \
    --quiet faq_passages.jsonl
"$kanana" rag eval --index index --questions faq_eval.jsonl --k 1,5,10 --threads 1 --json eval.json --quiet
