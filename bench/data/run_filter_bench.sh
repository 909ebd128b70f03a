#!/usr/bin/env bash
# Times `kanana data filter` (default kanana-web recipe, fastText language ID) on a generated
# bilingual JSONL at 1 thread and at all threads, against `cat file > /dev/null` (the read
# roof), and on a gzip copy of the same file against `zcat file.gz > /dev/null` (the
# decompression roof). Prints MB/s (of uncompressed JSONL) and the ratio to the roof. The
# real bench uses 1024 MB.
#
#   bench/data/run_filter_bench.sh [SIZE_MB=1024] [BUILD_DIR=build]
#   BENCH_DIR=/tmp/kbench keeps the generated input between runs; BENCH_GZ_THREADS=1 also
#   times the .gz at one thread.
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
mkdir -p "$work"
input="$work/bilingual_${size_mb}mb.jsonl"
[ -s "$input" ] || "$gen" --out "$input" --size-mb "$size_mb"
[ -s "$input.gz" ] || gzip -6 -c "$input" > "$input.gz"
bytes=$(stat -c %s "$input")
gz_bytes=$(stat -c %s "$input.gz")
now() { date +%s.%N; }
mbps() { python3 -c "print(f'{$bytes/1e6/($2-$1):.1f}')"; }
ratio() { python3 -c "print(f'{$1/$2:.4f}')"; }
threads_all=$(nproc)
echo "input: $input ($((bytes / 1048576)) MB; gzip copy $((gz_bytes / 1048576)) MB), machine: $threads_all cores"

cat "$input" > /dev/null  # warm the page cache so every run reads from memory
t0=$(now); cat "$input" > /dev/null; t1=$(now)
cat_mbps=$(mbps "$t0" "$t1")
cat "$input.gz" > /dev/null
t0=$(now); zcat "$input.gz" > /dev/null; t1=$(now)
zcat_mbps=$(mbps "$t0" "$t1")
echo "cat > /dev/null:  $cat_mbps MB/s"
echo "zcat > /dev/null: $zcat_mbps MB/s (uncompressed bytes per second)"

run_filter() {  # FILE THREADS ROOF_MBPS ROOF_NAME
  local out="$work/out_$(basename "$1")_$2"
  rm -rf "$out"
  local load t0 t1 m kept
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(now)
  /usr/bin/time -f "%U %S" -o "$work/cpu.txt" "$kanana" data filter "$1" --out "$out" --threads "$2" --quiet >/dev/null
  t1=$(now)
  m=$(mbps "$t0" "$t1")
  # MB per CPU-second (user + sys): what a core gives when the machine is shared.
  cpu=$(python3 -c "u,s=map(float,open('$work/cpu.txt').read().split()[-2:]); print(f'{$bytes/1e6/(u+s):.2f}')")
  kept=$(python3 -c "import json; s=json.load(open('$out/summary.json')); print(s['kept'], 'of', s['documents'])")
  echo "kanana data filter $(basename "$1") --threads $2: $m MB/s ($(ratio "$m" "$3") x $4), $cpu MB per CPU-second, kept $kept, load at start $load"
  rm -rf "$out"
}
for th in 1 "$threads_all"; do run_filter "$input" "$th" "$cat_mbps" cat; done
[ "${BENCH_GZ_THREADS:-}" = 1 ] && run_filter "$input.gz" 1 "$zcat_mbps" zcat
run_filter "$input.gz" "$threads_all" "$zcat_mbps" zcat
