#!/usr/bin/env bash
# A LAVA lab on 127.0.0.1 for kgate's REST tests, without systemd:
#   scripts/lava-server.sh start STATE_DIR [PORT]   -> STATE_DIR/{url,token,pids}
#   scripts/lava-server.sh stop STATE_DIR           -> every process it started, by pid
# PostgreSQL (started only if it was down, and then stopped again), the
# database, a superuser and its REST token, a qemu device type, a worker and a
# qemu device with no_kvm, Django's runserver, the scheduler and lava-worker.
# Needs Debian's lava-server, lava-dispatcher and postgresql (scripts/setup.sh).
set -euo pipefail
# lava-server's tools run python3 from PATH: Debian's, with Django.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
cmd=${1:?start|stop}; state=${2:?STATE_DIR}
mkdir -p "$state"

kill_tree() { # pid: its descendants first, then itself
  local p=$1 c
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do kill_tree "$c"; done
  kill "$p" 2>/dev/null || true
}

if [ "$cmd" = stop ]; then
  for f in "$state"/*.pid; do
    [ -e "$f" ] || continue
    p=$(cat "$f"); kill_tree "$p"
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.3; done
    kill -9 "$p" 2>/dev/null || true
    rm -f "$f"
  done
  # The lab's worker (and so its device) is retired while PostgreSQL is still up, so
  # no later lab's scheduler counts it. Not `workers update --health RETIRED`:
  # in LAVA 2023.01 it calls go_health_retired() without its user and fails.
  if [ -e "$state/worker-name" ]; then
    lava-server manage shell -c "from django.db import transaction
from lava_scheduler_app.models import Worker
with transaction.atomic():
    w = Worker.objects.select_for_update().get(hostname='$(cat "$state/worker-name")')
    w.go_health_retired(None, 'kgate: lava-server.sh stop')
    w.save()" >>"$state/setup.log" 2>&1 || echo "lava-server: could not retire worker $(cat "$state/worker-name"); see $state/setup.log" >&2
    rm -f "$state/worker-name"
  fi
  if [ -e "$state/pg-started" ]; then pg_ctlcluster 15 main stop || true; rm -f "$state/pg-started"; fi
  [ -e "$state/device" ] && rm -f "/etc/lava-server/dispatcher-config/devices/$(cat "$state/device").jinja2"
  exit 0
fi

port=${3:-8765}
log="$state/setup.log"; : > "$log"
if ! pg_lsclusters -h | awk '$4 == "online"' | grep -q .; then
  pg_ctlcluster 15 main start >>"$log" 2>&1; touch "$state/pg-started"
fi
# The postinst skipped the database when PostgreSQL was down: make it now (idempotent).
dpkg-reconfigure -f noninteractive lava-server >>"$log" 2>&1
lava-server manage migrate --noinput >>"$log" 2>&1
lava-server manage users add --superuser --staff --passwd kgate-test kgate >>"$log" 2>&1 || true
lava-server manage tokens add --user kgate 2>>"$log" | tail -1 > "$state/token"
lava-server manage device-types add qemu >>"$log" 2>&1 || true
worker="kgate-w$$"; device="kgate-qemu$$"
# `workers add` prints "Token: <token>" (lava_server/management/commands/workers.py);
# lava-worker sends the file's text as it is, less a trailing newline
# (lava_dispatcher/worker.py), so the file holds the token alone.
lava-server manage workers add "$worker" 2>>"$log" | sed -n 's/^[Tt]oken: *//p' | tail -1 > "$state/worker-token"
if ! grep -Eq '^[0-9A-Za-z]{16,}$' "$state/worker-token"; then
  echo "lava-server: 'workers add $worker' printed no token; see $log" >&2; exit 1
fi
lava-server manage devices add --device-type qemu --worker "$worker" "$device" >>"$log" 2>&1
echo "$device" > "$state/device"
echo "$worker" > "$state/worker-name"
cat > "/etc/lava-server/dispatcher-config/devices/$device.jinja2" <<'EOF'
{% extends 'qemu.jinja2' %}
{% set arch = 'amd64' %}
{% set mac_addr = '52:54:00:12:34:60' %}
{% set memory = 1024 %}
{% set no_kvm = True %}
EOF
lava-server manage runserver "127.0.0.1:$port" --noreload >"$state/runserver.log" 2>&1 & echo $! > "$state/runserver.pid"
lava-server manage lava-scheduler >"$state/scheduler.log" 2>&1 & echo $! > "$state/scheduler.pid"
# A worker directory and log of its own (the defaults are /var/lib/lava/dispatcher/worker
# and /var/log/lava-dispatcher/lava-worker.log, shared with any other worker);
# LAVA_PING (seconds, default 20 as LAVA's) is how often it asks for jobs.
lava-worker --name "$worker" --url "http://127.0.0.1:$port/" --token-file "$state/worker-token" \
  --worker-dir "$state/worker" --log-file "$state/worker.log" --ping-interval "${LAVA_PING:-20}" --level DEBUG \
  >"$state/worker.out" 2>&1 & echo $! > "$state/worker.pid"
echo "http://127.0.0.1:$port/" > "$state/url"
for _ in $(seq 1 120); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/api/v0.2/system/version/', timeout=2)" 2>/dev/null; then
    echo "lava-server: up at http://127.0.0.1:$port/ (worker $worker, device $device)"; exit 0
  fi
  sleep 1
done
echo "lava-server: no answer on 127.0.0.1:$port after 120 s; see $state/*.log" >&2
exit 1
