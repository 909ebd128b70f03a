#!/usr/bin/env bash
# Times `kanana data filter` (default kanana-web recipe, fastText language ID) on a generated
# bilingual JSONL at 1 thread and at all threads, against `cat file > /dev/null` (the read
# roof), and prints MB/s and the ratio to cat. The real bench uses 1024 MB.
#
#   bench/data/run_filter_bench.sh [SIZE_MB=1024] [BUILD_DIR=build]
set -euo pipefail
size_mb="${1:-1024}"
build="${2:-build}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
kanana="$build/bin/kanana"
gen="$build/bin/gen_bilingual_jsonl"
[ -x "$kanana" ] || { echo "no $kanana: build the kanana target" >&2; exit 1; }
[ -x "$gen" ] || { echo "no $gen: build the gen_bilingual_jsonl target" >&2; exit 1; }
work="${BENCH_DIR:-$(mktemp -d)}"
input="$work/bilingual_${size_mb}mb.jsonl"
[ -s "$input" ] || "$gen" --out "$input" --size-mb "$size_mb"
bytes=$(stat -c %s "$input")
now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$bytes/1e6/($2-$1):.1f}')"; }
cat "$input" > /dev/null  # warm the page cache so every run reads from memory
t0=$(now); cat "$input" > /dev/null; t1=$(now)
cat_mbps=$(mbps "$t0" "$t1")
threads_all=$(nproc)
echo "input: $input ($((bytes / 1048576)) MB), machine: $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cat > /dev/null: $cat_mbps MB/s"
for th in 1 "$threads_all"; do
  rm -rf "$work/out_$th"
  t0=$(now)
  "$kanana" data filter "$input" --out "$work/out_$th" --threads "$th" --quiet >/dev/null
  t1=$(now)
  m=$(mbps "$t0" "$t1")
  kept=$(python3 -c "import json; s=json.load(open('$work/out_$th/summary.json')); print(s['kept'], 'of', s['documents'])")
  echo "kanana data filter --threads $th: $m MB/s ($(python3 -c "print(f'{$m/$cat_mbps:.4f}')") x cat), kept $kept"
done
