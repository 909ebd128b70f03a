#!/usr/bin/env bash
# The server under 1, 2, 4, 8 concurrent streaming clients on the 100M preset (random bf16
# weights, the Llama 3 tokenizer), made once into the bench-models cache with `kanana model init`.
#   bench/serve/run_serve_bench.sh [bench_serve options, e.g. --weights q4 --threads 2 --max-tokens 32]
# Needs the benchmarks built (-DKANANA_BUILD_BENCH=ON: ninja bench_serve kanana).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${KANANA_BUILD_DIR:-$root/build}"
cache="${KANANA_DATA_CACHE:-$HOME/.cache/kanana-workbench}"
model="$cache/bench-models/small-100m-llama3-bf16"
if [ ! -f "$model/config.json" ]; then
  "$build/bin/kanana" model init --preset small-100m --dtype bf16 --tokenizer "$cache/tokenizers/llama3" --out "$model"
fi
exec "$build/bin/bench_serve" "$model" "$@"
