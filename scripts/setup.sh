#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for kgate: host packages (apt-get), npm
# dependencies and the TypeScript build. Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# qemu + the guest's parts (busybox, dropbear, sftp-server), the static C toolchain,
# and the unpackers for Debian's kernel packages and compressed modules.
pkgs=(qemu-system-x86 busybox-static dropbear-bin openssh-sftp-server cpio kmod
      gcc libc6-dev zstd xz-utils
      # tree builds (--kernel tree:...): kbuild's tools, ccache, and the test tree's source
      make bc flex bison libelf-dev libssl-dev ccache git
      linux-source-6.12 linux-config-6.12
      # kgate run --coverage: lcov (geninfo, genhtml) over the gcov of the gcc above
      lcov
      # kgate lava: the dispatcher (lava-run, lava_common's job schema), a server for the REST test
      lava-dispatcher lava-server postgresql
      # report.html's end-to-end test (headless)
      chromium
      # kgate export kselftest's end-to-end test: lib.mk's install target copies with rsync
      rsync)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
# kgate fetches kernel packages with apt-get download: it needs current package lists.
if [ ${#missing[@]} -gt 0 ] || ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
  $sudo apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  # PATH: lava-server's postinst runs python3 from PATH, and a pyenv python3 there lacks Debian's django
  DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run -s build
echo "setup: ready ($(node --version), $(qemu-system-x86_64 --version | head -1))"
