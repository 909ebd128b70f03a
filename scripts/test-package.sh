#!/usr/bin/env bash
# Build the Debian package from a build folder and check it as a user would get it:
# unpacked into a clean root (dpkg -x), its Depends satisfied by this machine's packages, no
# file pointing into the build tree, and kanana --version, kanana doctor and
# kanana-workbench --list-plugins run from the unpacked paths with a clean environment, every
# plugin found inside the unpacked root.
#
#   scripts/test-package.sh [BUILD_DIR]     (default: $KANANA_BUILD_DIR or ./build)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$(cd "${1:-${KANANA_BUILD_DIR:-$root/build}}" && pwd)"
fail() { printf 'test-package: FAIL: %s\n' "$*" >&2; exit 1; }
say() { printf 'test-package: %s\n' "$*"; }

out="$(mktemp -d /tmp/kanana-package.XXXXXX)"
trap 'rm -rf "$out"' EXIT
start=$(date +%s)
(cd "$build_dir" && cpack -G DEB -B "$out/cpack" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$out"/cpack/kanana-workbench_*_amd64.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "cpack wrote no kanana-workbench_<version>_amd64.deb (see $out/cpack.log)"
say "built $(basename "$deb") ($(du -h "$deb" | cut -f1)) in $(( $(date +%s) - start )) s"

# 1. Every dependency is a Debian runtime package installed here (no -dev packages).
depends=$(dpkg-deb -f "$deb" Depends)
[ -n "$depends" ] || fail "the package declares no Depends"
IFS=',' read -ra groups <<<"$depends"
for group in "${groups[@]}"; do
  ok=0
  IFS='|' read -ra alts <<<"$group"
  for alt in "${alts[@]}"; do
    alt=$(echo "$alt" | xargs)
    name=${alt%% *}; name=${name%%:*}
    case "$name" in *-dev) fail "depends on a development package: $alt" ;; esac
    installed=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
    case "$installed" in "install ok installed "*) ;; *) continue ;; esac
    if [[ "$alt" =~ \((\<\<|\<=|=|\>=|\>\>)\ *([^\)]+)\) ]]; then
      op=${BASH_REMATCH[1]}; ver=${BASH_REMATCH[2]}
      case "$op" in '<<') op=lt ;; '<=') op=le ;; '=') op=eq ;; '>=') op=ge ;; '>>') op=gt ;; esac
      dpkg --compare-versions "${installed##* }" "$op" "$ver" || continue
    fi
    ok=1; break
  done
  [ $ok -eq 1 ] || fail "dependency not satisfied on this machine: $group"
done
say "Depends: ${#groups[@]} packages, all installed here"

# 2. Unpack into a clean root; nothing may refer to the build tree.
pkgroot="$out/root"
dpkg-deb -x "$deb" "$pkgroot"
for f in usr/bin/kanana usr/bin/kanana-workbench usr/share/applications/kanana-workbench.desktop \
         usr/share/icons/hicolor/scalable/apps/kanana-workbench.svg \
         usr/share/metainfo/io.github.kanana_workbench.metainfo.xml \
         usr/share/kanana-workbench/recipes/filters/kanana-web.json; do
  [ -e "$pkgroot/$f" ] || fail "missing from the package: /$f"
done
if grep -rlF "$build_dir" "$pkgroot" >/dev/null; then
  fail "files refer to the build folder $build_dir: $(grep -rlF "$build_dir" "$pkgroot" | head -3 | tr '\n' ' ')"
fi
# Every binary and library resolves its shared libraries from the package and the system
# (RUNPATHs relative to the file), including the dlmopen()ed SentencePiece bridge.
[ -e "$pkgroot/usr/lib/kanana/libkanana_spm_bridge.so" ] || fail "missing from the package: the SentencePiece bridge"
while IFS= read -r f; do
  missing=$(env -i PATH=/usr/bin:/bin ldd "$f" 2>&1 | grep 'not found' || true)
  [ -z "$missing" ] || fail "$f: unresolved shared libraries: $missing"
done < <(find "$pkgroot/usr/bin" "$pkgroot/usr/lib/kanana" -type f \( -name '*.so' -o -perm -u+x \))
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$pkgroot/usr/share/applications/kanana-workbench.desktop" || fail "invalid .desktop entry"
fi

# 3. Run from the unpacked paths: no LD_LIBRARY_PATH, no KANANA_SOURCE_DIR, not from a checkout.
run() { (cd "$out" && env -i PATH=/usr/bin:/bin HOME="$out" QT_QPA_PLATFORM=offscreen "$@"); }
version=$(run "$pkgroot/usr/bin/kanana" --version) || fail "kanana --version failed"
say "kanana --version: $version"
run "$pkgroot/usr/bin/kanana" doctor >"$out/doctor.txt" || fail "kanana doctor failed: $(cat "$out/doctor.txt")"
grep -q '^libtorch: ' "$out/doctor.txt" || fail "kanana doctor printed no libtorch line"
run "$pkgroot/usr/bin/kanana-workbench" --list-plugins >"$out/plugins.tsv" 2>"$out/plugins.err" \
  || fail "kanana-workbench --list-plugins failed: $(cat "$out/plugins.err")"
plugins=$(tail -n +2 "$out/plugins.tsv" | wc -l)
[ "$plugins" -ge 7 ] || fail "expected the 7 workbench plugins, --list-plugins listed $plugins: $(cat "$out/plugins.tsv")"
while IFS=$'\t' read -r id ver state file err; do
  [ "$state" = "Running" ] || [ "$state" = "Initialized" ] || fail "plugin $id is '$state': $err"
  case "$file" in "$pkgroot"/usr/lib/kanana/plugins/*) ;; *) fail "plugin $id was loaded from $file, not from the package" ;; esac
done < <(tail -n +2 "$out/plugins.tsv")
say "$plugins plugins load from the unpacked package"
say "ok"
