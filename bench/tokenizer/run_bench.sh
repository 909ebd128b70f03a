#!/usr/bin/env bash
# Tokenizer throughput against peers, on the same model and text:
#   1. SentencePiece through our dlmopen bridge vs Debian's `spm_encode` CLI (ids to /dev/null);
#      spm_encode's time on an empty input (model load, start-up) is subtracted.
#   2. Hugging Face byte-level BPE (Llama 3, Qwen3): C++ HfBpeTokenizer vs the @lenml/tokenizers
#      JavaScript encoder (encode loop only on both sides).
#   bench/tokenizer/run_bench.sh BUILD_DIR
# Single thread each; text is real Korean+English documentation from the data cache.
set -euo pipefail
build="${1:?usage: run_bench.sh BUILD_DIR}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${KANANA_DATA_CACHE:-$HOME/.cache/kanana-workbench}"
bench="$build/bin/bench_tokenizer"
[ -x "$bench" ] || { echo "build bench_tokenizer first (cmake --build $build --target bench_tokenizer)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Text: the Korean and English installation guides (about 2 x 500 KB), non-empty lines.
text="$work/text.txt"
for f in $(find "$cache" -name 'install.ko.txt.gz' -o -name 'install.en.txt.gz' | sort); do
  gzip -dc "$f" | grep -v '^\s*$' >>"$text"
done
[ -s "$text" ] || { echo "no install.{ko,en}.txt.gz under $cache (run scripts/fetch-demo-data.sh)" >&2; exit 1; }
echo "text: $(wc -l <"$text") lines, $(wc -c <"$text") bytes"

now() { date +%s.%N; }
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(f'{a / b:.2f}x')" "$1" "$2"; }

for model in "$cache"/tokenizers/spm/*.model; do
  t0=$(now); spm_encode --model "$model" --output_format=id </dev/null >/dev/null; t1=$(now)
  spm_encode --model "$model" --output_format=id <"$text" >/dev/null; t2=$(now)
  spm_s=$(python3 -c "print(max(1e-9, ($t2 - $t1) - ($t1 - $t0)))")
  line=$("$bench" "$model" "$text")
  ours_s=$(echo "$line" | sed -E 's/.* in ([0-9.]+) s:.*/\1/')
  echo "spm $(basename "$model"): spm_encode ${spm_s} s (load subtracted), $line"
  echo "  speed ratio ours/spm_encode: $(ratio "$spm_s" "$ours_s")"
done

# Hex cases for the JS reference (same text, one line per case).
python3 -c "
import sys
with open(sys.argv[1], 'rb') as f, open(sys.argv[2], 'w') as o:
    for line in f.read().split(b'\n'):
        if line: o.write(line.hex() + '\n')
" "$text" "$work/text.hex"
for model in llama3 qwen3; do
  js_line=$(node "$here/../../tests/tokenizer/reference_encode.mjs" --js-dir "$cache/js" --model "$model" \
    "$work/text.hex" --bench 2>&1 >/dev/null)
  line=$("$bench" "$cache/tokenizers/$model" "$work/text.hex" --hex)
  js_tps=$(echo "$js_line" | sed -E 's/.*: ([0-9]+) tokens\/s.*/\1/')
  ours_tps=$(echo "$line" | sed -E 's/.*: ([0-9]+) tokens\/s.*/\1/')
  echo "$js_line"
  echo "$model $line"
  echo "  speed ratio c++/js: $(ratio "$ours_tps" "$js_tps")"
done
