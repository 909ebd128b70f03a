#!/usr/bin/env bash
# The workbench's Torch-free CPU engine and llama.cpp (node-llama-cpp 3.21.1, CPU build) side by
# side in one run, on the same weights: a random bf16 checkpoint of each preset, exported with
# `kanana model export-gguf` to the nearest GGUF type of each workbench format
# (bf16 ~ F16, int8 ~ Q8_0, q4 ~ Q4_0). Prints both lines and the decode/prefill ratios.
#   bench/model/run_vs_llamacpp.sh [BUILD_DIR] [PRESETS] [THREADS] [FORMATS]
# e.g. bench/model/run_vs_llamacpp.sh build kanana-nano-2.1b "1 2" "bf16 int8 q4"
# A GGUF needs a vocabulary: a new checkpoint is made with the real Llama 3 tokenizer from the data
# cache (so small-100m gets a 128,256-row embedding); an existing one without a tokenizer gets
# it copied in when its vocabulary has that size. node-llama-cpp yields each token through a JS
# async generator: on models this small that overhead, not llama.cpp, limits its decode rate.
# Needs the benchmarks built (-DKANANA_BUILD_BENCH=ON) and scripts/fetch/llama_cpp.sh's packages.
# llama.cpp keeps its default F16 KV cache; the engine's is fp32 (more bytes read per token).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build=${1:-build}
presets=${2:-"kanana-nano-2.1b"}
threads=${3:-"1 2"}
formats=${4:-"bf16 int8 q4"}
prompt=${PROMPT:-64} tokens=${TOKENS:-32} reps=${REPS:-3}
cache=${KANANA_DATA_CACHE:-$HOME/.cache/kanana-workbench}
dir=${KANANA_BENCH_DIR:-$cache/bench-models}
export NODE_PATH=${KANANA_NODE_MODULES:-$cache/node/node_modules}
[ -d "$NODE_PATH/node-llama-cpp" ] || { echo "no node-llama-cpp in $NODE_PATH (scripts/fetch/llama_cpp.sh)" >&2; exit 1; }
gguf_type() { case "$1" in bf16) echo f16 ;; int8) echo q8_0 ;; q4) echo q4_0 ;; f32) echo f32 ;; esac; }
mkdir -p "$dir"
for preset in $presets; do
  model="$dir/$preset-bf16"
  [ -f "$model/config.json" ] || "$build/bin/kanana" model init --preset "$preset" --dtype bf16 \
                                   --tokenizer "$cache/tokenizers/llama3" --out "$model" >/dev/null
  if [ ! -f "$model/tokenizer.json" ]; then
    grep -q '"vocab_size": 128256' "$model/config.json" || { echo "# $preset: vocabulary is not Llama 3's, skipped"; continue; }
    cp "$cache/tokenizers/llama3/tokenizer.json" "$cache/tokenizers/llama3/tokenizer_config.json" "$model/"
  fi
  echo "# $preset, $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  for f in $formats; do
    g="$dir/$preset-$(gguf_type "$f").gguf"
    [ -f "$g" ] || "$build/bin/kanana" model export-gguf "$model" --out "$g" --type "$(gguf_type "$f")" >/dev/null
    for t in $threads; do
      ours=$("$build/bin/bench_engine" "$model" --weights "$f" --threads "$t" --prompt $prompt --tokens $tokens --reps $reps)
      theirs=$(node "$here/llamacpp_bench.mjs" "$g" "$t" $prompt $tokens $reps)
      echo "$ours"; echo "  vs $(gguf_type "$f"): $theirs"
      awk -v a="$ours" -v b="$theirs" 'function tps(s, what,   m) { match(s, what " [0-9]+ tok: [0-9.]+"); m = substr(s, RSTART, RLENGTH); sub(/.*: /, "", m); return m }
        BEGIN { printf "  ratio workbench/llama.cpp: decode %.2fx, prefill %.2fx\n", tps(a, "decode") / tps(b, "decode"), tps(a, "prefill") / tps(b, "prefill") }'
    done
  done
done
