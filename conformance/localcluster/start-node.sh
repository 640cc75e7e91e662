#!/usr/bin/env bash
# Give a control plane started by start.sh a node: the node agent (pods as processes in network
# namespaces, LoadBalancer addresses), kube-proxy (nftables) and the cluster DNS (CoreDNS on the
# bridge address, answering cluster.local from the API and nothing else).
#   start-node.sh STATE_DIR NODEAGENT IMAGES
# NODEAGENT is the portico-nodeagent executable; IMAGES its image table, whose ${VARS} come
# from this environment. Needs root. stop.sh stops the node with the control plane. Only one
# node runs per machine (kube-proxy's nftables tables are per host).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${1:?usage: start-node.sh STATE_DIR NODEAGENT IMAGES}"
agent="${2:?usage: start-node.sh STATE_DIR NODEAGENT IMAGES}"
images="${3:?usage: start-node.sh STATE_DIR NODEAGENT IMAGES}"
state="$(cd "$state" && pwd)"
# shellcheck source=network.env
source "$here/network.env"
bin="$("$here/build.sh")"
trap '"$here/stop.sh" "$state"' ERR

start() { # name program args...
  local name="$1"; shift
  "$@" > "$state/$name.log" 2>&1 &
  echo $! > "$state/$name.pid"
}

start portico-nodeagent "$agent" --kubeconfig "$state/kubeconfig" --images "$images" \
  --node-name "$NODE_NAME" --bridge "$BRIDGE" --pod-cidr "$POD_CIDR" \
  --service-cidr "$SERVICE_CIDR" --lb-pool "$LB_POOL" --lb-static "$LB_STATIC" --state-dir "$state/node"
for _ in $(seq 1 300); do
  ip link show "$BRIDGE" > /dev/null 2>&1 && grep -q "node ready" "$state/portico-nodeagent.log" && break
  if ! kill -0 "$(cat "$state/portico-nodeagent.pid")" 2>/dev/null; then
    echo "the node agent exited; see $state/portico-nodeagent.log" >&2
    tail -20 "$state/portico-nodeagent.log" >&2
    exit 1
  fi
  sleep 0.1
done

start kube-proxy "$bin/kube-proxy" --kubeconfig "$state/kubeconfig" --proxy-mode nftables \
  --hostname-override "$NODE_NAME" --cluster-cidr "$POD_CIDR" --masquerade-all \
  --healthz-bind-address 127.0.0.1:10256 --metrics-bind-address 127.0.0.1:10249

cat > "$state/Corefile" <<COREFILE
cluster.local:53 in-addr.arpa:53 {
    bind $BRIDGE_ADDRESS
    kubernetes cluster.local in-addr.arpa {
        kubeconfig $state/kubeconfig local
        pods insecure
    }
    errors
}
.:53 {
    bind $BRIDGE_ADDRESS
    errors
}
COREFILE
start cluster-dns "$bin/coredns" -conf "$state/Corefile"
echo "node $NODE_NAME ready: pods on $POD_CIDR, load balancers on $LB_POOL" >&2
