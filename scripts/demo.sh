#!/usr/bin/env bash
# The README's first command: set everything up, then open Kanana Workbench on the built-in
# demo workspace. Without a display it says how to run the GUI headless and runs the
# headless demo pipeline (scripts/demo-headless.sh) instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${KANANA_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
bin="$build_dir/bin"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$bin/kanana-workbench" --demo "$@"
fi
cat <<MSG
No display found (DISPLAY and WAYLAND_DISPLAY are unset), so the workbench window cannot open.
To use the GUI on this machine without a screen:
  xvfb-run -a $bin/kanana-workbench --demo --screenshot workbench.png   # render once to a PNG
  QT_QPA_PLATFORM=offscreen $bin/kanana-workbench --demo --list-plugins
or connect with 'ssh -X' / a VNC session and run: $bin/kanana-workbench --demo
Running the same demo headless with the kanana CLI now (scripts/demo-headless.sh).
MSG
exec "$root/scripts/demo-headless.sh"
