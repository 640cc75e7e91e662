#!/usr/bin/env bash
# Stop a control plane started by start.sh STATE_DIR, and its node if start-node.sh started one
# (SIGTERM, then SIGKILL after 10 s). Keeps STATE_DIR (logs, data) for inspection; delete it to
# start afresh.
set -euo pipefail
state="${1:?usage: stop.sh STATE_DIR}"
# The node first: the agent stops its pods and removes their network while the API is up.
for name in cluster-dns kube-proxy portico-nodeagent kube-controller-manager kube-apiserver etcd; do
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
# kube-proxy leaves its nftables tables behind.
if [ -f "$state/kube-proxy.log" ] && command -v nft > /dev/null 2>&1; then
  nft delete table ip kube-proxy 2>/dev/null || true
  nft delete table ip6 kube-proxy 2>/dev/null || true
fi
