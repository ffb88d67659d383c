#!/usr/bin/env bash
# The 7.3 kernel tree kgate's coverage figures are measured on: Debian's
# linux-source-7.3 (trixie-backports), committed as `base`, no history. The
# package comes through kgate's own apt configuration (the host's /etc/apt is
# bookworm's and is not touched): `kgate kernels --series 7.3` refreshes its
# lists. Built in kgate's cache, reused while this script is unchanged.
# Prints the tree's path, and only that, on stdout:
#
#   TREE=$(scripts/test-tree-7.3.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${KGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kgate}"
dir="${1:-$cache/test-tree/linux-7.3}"
recipe=$(sha256sum "$0" | cut -c1-16)
say() { echo "test-tree-7.3: $*" >&2; }

if [ -f "$dir/.git/kgate-recipe" ] && [ "$(cat "$dir/.git/kgate-recipe")" = "$recipe" ] \
   && [ -z "$(git -C "$dir" status --porcelain 2>/dev/null)" ]; then
  echo "$dir"
  exit 0
fi

t0=$(date +%s)
tmp="$dir.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/deb"
[ -f "$cache/apt/apt.conf" ] || node bin/kgate.js kernels --series 7.3 >/dev/null
say "apt-get download linux-source-7.3 (kgate's own apt: $cache/apt)"
(cd "$tmp/deb" && APT_CONFIG="$cache/apt/apt.conf" apt-get download -q linux-source-7.3 >&2)
deb=$(ls "$tmp"/deb/linux-source-7.3_*.deb)
version=$(dpkg-deb -f "$deb" Version)
say "unpacking $(basename "$deb")"
dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './usr/src/linux-source-7.3.tar.xz' | tar -xJ -C "$tmp" --strip-components=1
rm -rf "$tmp/deb"
# As scripts/test-tree.sh: x86 only, no documentation but Kconfig, an upstream .gitignore.
for a in "$tmp"/arch/*/; do
  case "$(basename "$a")" in x86|um) ;; *) find "$a" -type f ! -name 'Kconfig*' -delete ;; esac
done
find "$tmp/Documentation" -mindepth 1 -maxdepth 1 ! -name Kconfig -exec rm -rf {} +
sed -i '/^# Debian packaging/,$d' "$tmp/.gitignore"
sed -i '$d' "$tmp/.gitignore"

export GIT_AUTHOR_NAME="kgate test tree" GIT_AUTHOR_EMAIL="tree@kgate.invalid"
export GIT_COMMITTER_NAME="kgate test tree" GIT_COMMITTER_EMAIL="tree@kgate.invalid"
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
g() { git -C "$tmp" -c core.looseCompression=0 -c gc.auto=0 -c core.fsync=none "$@"; }
g init -q -b main
g add -A
g commit -q -m "Linux 7.3 (Debian linux-source-7.3 $version)"
g tag base
[ -z "$(g status --porcelain)" ] || { say "the tree is not clean"; exit 1; }
echo "$recipe" > "$tmp/.git/kgate-recipe"
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
mv "$tmp" "$dir"
trap - EXIT
say "done in $(( $(date +%s) - t0 )) s: $dir"
echo "$dir"
