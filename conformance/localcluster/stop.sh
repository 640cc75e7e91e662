#!/usr/bin/env bash
# Stop a control plane started by start.sh STATE_DIR (SIGTERM, then SIGKILL after 10 s).
# Keeps STATE_DIR (logs, data) for inspection; delete it to start afresh.
set -euo pipefail
state="${1:?usage: stop.sh STATE_DIR}"
for name in kube-controller-manager kube-apiserver etcd; do
  pidfile="$state/$name.pid"
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
done
