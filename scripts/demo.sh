#!/usr/bin/env bash
# The README's first command: set everything up, run the whole Kanana loop at toy scale on the
# built-in demo workspace (scripts/demo-headless.sh: corpus -> dedup/filter/PII -> tokenizer ->
# packs -> staged pre-training -> prune + distill -> SFT -> candidates -> rule preferences ->
# DPO -> evaluation of every stage -> RAG index; resumable), then open Kanana Workbench on that
# workspace at the Jobs page, where the runs' curves are. Without a display it says how to look
# at the GUI headless instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${KANANA_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
"$root/scripts/demo-headless.sh"
bin="$build_dir/bin"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$bin/kanana-workbench" --demo --page Jobs "$@"
fi
cat <<MSG

No display found (DISPLAY and WAYLAND_DISPLAY are unset), so the workbench window cannot open.
To see the GUI on this machine without a screen:
  xvfb-run -a $bin/kanana-workbench --demo --page Jobs --screenshot jobs.png   # render once to a PNG
  QT_QPA_PLATFORM=offscreen $bin/kanana-workbench --demo --list-plugins
or connect with 'ssh -X' / a VNC session and run: $bin/kanana-workbench --demo
MSG
