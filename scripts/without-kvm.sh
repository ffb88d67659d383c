#!/usr/bin/env bash
# Runs a command as on a machine without /dev/kvm: in a private mount
# namespace whose /dev is a copy of the host's minus kvm (device nodes copied,
# pts/shm/mqueue bound), so kgate, QEMU and the tests see no KVM at all, as on
# a cloud VM without nested virtualisation. Nothing outside the command sees a
# change; the namespace ends with it. Root. Used to check the test command on
# that kind of machine: scripts/without-kvm.sh bash .ci/run
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "without-kvm: needs root (a mount namespace)" >&2; exit 2; }
[ $# -gt 0 ] || { echo "usage: scripts/without-kvm.sh COMMAND [ARG...]" >&2; exit 2; }
exec unshare --mount --propagation private bash -c '
  set -euo pipefail
  dev=$(mktemp -d /tmp/nokvm-dev.XXXXXX)
  mount -t tmpfs -o mode=755 nokvm-dev "$dev"  # not named kgate-*: the tests look for kgate mounts left behind
  for e in /dev/* /dev/.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    name=${e#/dev/}
    [ "$name" = kvm ] && continue
    if [ -L "$e" ]; then cp -P "$e" "$dev/$name"
    elif [ -d "$e" ]; then mkdir "$dev/$name"; mount --rbind "$e" "$dev/$name"
    else cp -a "$e" "$dev/$name"; fi
  done
  mount --move "$dev" /dev
  rmdir "$dev" 2>/dev/null || true
  exec "$@"' without-kvm "$@"
