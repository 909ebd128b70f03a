#!/usr/bin/env bash
# Fetch the demo data (real Korean/English text, real tokenizer files, the fastText
# language-ID model) into a cache folder outside the repository. Idempotent: each part
# skips what it already has. Parts live in scripts/fetch/*.sh and are run in order.
#
#   KANANA_DATA_CACHE  where to put it (default: ~/.cache/kanana-workbench)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export KANANA_DATA_CACHE="${KANANA_DATA_CACHE:-$HOME/.cache/kanana-workbench}"
mkdir -p "$KANANA_DATA_CACHE"
status=0
for part in "$here"/fetch/*.sh; do
  [ -e "$part" ] || continue
  echo "==> fetch: $(basename "$part")"
  if ! bash "$part"; then
    echo "fetch-demo-data: $(basename "$part") failed (see above)" >&2
    status=1
  fi
done
exit $status
