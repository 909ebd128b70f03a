#!/usr/bin/env bash
# Generate a 1 GB bilingual JSONL in /tmp (needs ~1.1 GB free), time the Data Inspector's
# open → first rows and open → complete index, then delete the file.
#   bench/datainspector/run_bench.sh [SIZE_MB]   (env: KANANA_BUILD_DIR, default ./build)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${KANANA_BUILD_DIR:-$root/build}
size=${1:-1024}
file=$(mktemp /tmp/datainspector-bench-XXXXXX.jsonl)
trap 'rm -f "$file"' EXIT
df -h /tmp
"$build/bin/gen_bilingual_jsonl" --out "$file" --size-mb "$size"
sync
echo "cold-ish run (file just written, so mostly in the page cache):"
"$build/bin/bench_datainspector" "$file"
echo "second run:"
"$build/bin/bench_datainspector" "$file"
