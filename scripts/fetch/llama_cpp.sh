#!/usr/bin/env bash
# The pinned npm packages the tests drive the workbench with, in one place
# ($KANANA_DATA_CACHE/node/node_modules): llama.cpp for the GGUF export tests (tests/gguf; npm's
# node-llama-cpp ships prebuilt CPU binaries of llama.cpp for linux-x64), @huggingface/gguf, an
# independent GGUF metadata reader, and the official `openai` client for the server tests
# (tests/serve; 5.x runs on Node 18+ with no dependencies). Skipped (not an error) without
# node/npm: the tests then skip their node parts and say why.
set -euo pipefail
dest="${KANANA_DATA_CACHE:-$HOME/.cache/kanana-workbench}/node"
llama_cpp="node-llama-cpp@3.21.1"
hf_gguf="@huggingface/gguf@0.4.6"
openai="openai@5.23.2"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "llama_cpp: node/npm not found; skipping $llama_cpp, $hf_gguf and $openai (the tests will skip their node checks)"
  exit 0
fi
have() { [ -f "$dest/node_modules/$1/package.json" ] && grep -q "\"version\": \"$2\"" "$dest/node_modules/$1/package.json"; }
if have node-llama-cpp 3.21.1 && have @huggingface/gguf 0.4.6 && have openai 5.23.2; then
  echo "llama_cpp: $llama_cpp, $hf_gguf and $openai already in $dest"
  exit 0
fi
mkdir -p "$dest"
[ -f "$dest/package.json" ] || echo '{"name":"kanana-gguf-reference","private":true}' > "$dest/package.json"
# The prebuilt binaries come as optional dependencies (@node-llama-cpp/linux-x64); no build runs.
npm install --silent --no-audit --no-fund --save-exact --prefix "$dest" "$llama_cpp" "$hf_gguf" "$openai" ||
  { echo "llama_cpp: npm install of $llama_cpp $hf_gguf $openai failed" >&2; exit 1; }
echo "llama_cpp: installed $llama_cpp, $hf_gguf and $openai in $dest/node_modules"
