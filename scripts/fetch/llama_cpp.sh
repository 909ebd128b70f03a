#!/usr/bin/env bash
# llama.cpp for the GGUF export tests (tests/gguf): npm's node-llama-cpp ships prebuilt CPU
# binaries of llama.cpp for linux-x64, and @huggingface/gguf is an independent GGUF metadata
# reader. Both pinned, installed into $KANANA_DATA_CACHE/node/node_modules. Skipped (not an
# error) without node/npm: the tests then skip their llama.cpp parts and say why.
set -euo pipefail
dest="${KANANA_DATA_CACHE:-$HOME/.cache/kanana-workbench}/node"
llama_cpp="node-llama-cpp@3.21.1"
hf_gguf="@huggingface/gguf@0.4.6"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "llama_cpp: node/npm not found; skipping $llama_cpp and $hf_gguf (the GGUF tests will skip their llama.cpp checks)"
  exit 0
fi
have() { [ -f "$dest/node_modules/$1/package.json" ] && grep -q "\"version\": \"$2\"" "$dest/node_modules/$1/package.json"; }
if have node-llama-cpp 3.21.1 && have @huggingface/gguf 0.4.6; then
  echo "llama_cpp: $llama_cpp and $hf_gguf already in $dest"
  exit 0
fi
mkdir -p "$dest"
[ -f "$dest/package.json" ] || echo '{"name":"kanana-gguf-reference","private":true}' > "$dest/package.json"
# The prebuilt binaries come as optional dependencies (@node-llama-cpp/linux-x64); no build runs.
npm install --silent --no-audit --no-fund --save-exact --prefix "$dest" "$llama_cpp" "$hf_gguf" ||
  { echo "llama_cpp: npm install of $llama_cpp $hf_gguf failed" >&2; exit 1; }
echo "llama_cpp: installed $llama_cpp and $hf_gguf in $dest/node_modules"
