#!/usr/bin/env bash
# Render the workbench's main window to docs/screenshot.png: kanana-workbench starts under
# Xvfb with the demo workspace (made from the data cache on first use), fresh settings (so
# the window has its default size and layout) and --screenshot, which saves and quits.
#
#   scripts/screenshot.sh [OUTPUT.png]       (env: KANANA_BUILD_DIR, default ./build)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${KANANA_BUILD_DIR:-$root/build}
out=${1:-$root/docs/screenshot.png}
exe=$build/bin/kanana-workbench

if [[ ! -x $exe ]]; then
  echo "screenshot.sh: $exe not found; build it first (cmake --build $build --target kanana-workbench)" >&2
  exit 1
fi
command -v xvfb-run >/dev/null || { echo "screenshot.sh: xvfb-run is not installed (apt install xvfb)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$(dirname "$out")"
# An X server of a usual laptop size; the app sizes itself to 90% of it (at most 1360x860).
xvfb-run -a -s "-screen 0 1600x1000x24 -dpi 96" \
  "$exe" --demo --settings "$tmp/settings.ini" --screenshot "$out"
echo "wrote $out"
