#!/usr/bin/env bash
# Start a local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) on
# loopback, with certificates made here by openssl. Nothing leaves the machine.
#
#   conformance/localcluster/start.sh STATE_DIR
#
# STATE_DIR receives the certificates, data, logs, pids and `kubeconfig` (cluster-admin).
# Ports are picked free at start and written to STATE_DIR/ports.env. Stop with stop.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${1:?usage: start.sh STATE_DIR}"
mkdir -p "$state"
state="$(cd "$state" && pwd)"
for pidfile in "$state"/*.pid; do
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "a control plane is already running in $state; stop it first (stop.sh $state)" >&2
    exit 1
  fi
done
# shellcheck source=network.env
source "$here/network.env"
bin="$("$here/build.sh")"
# Whatever fails from here on, nothing is left running.
trap '"$here/stop.sh" "$state"' ERR

# Three distinct free ports, picked while all three are held.
read -r ETCD_PORT ETCD_PEER_PORT APISERVER_PORT < <(python3 -c '
import socket
sockets = [socket.socket() for _ in range(3)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in sockets])')
printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPISERVER_PORT=%s\n' "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" > "$state/ports.env"

pki="$state/pki"
# Made in a scratch folder and moved into place whole, so an interrupted run leaves none.
if [ ! -f "$pki/controller-manager.crt" ]; then
  rm -rf "$pki" "$pki.partial"
  final_pki="$pki"
  pki="$pki.partial"
  mkdir -p "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=portico-localcluster-ca" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  # Extensions make these X.509 v3 certificates; rustls (and so kube-rs) accepts no other.
  sign() { # name subject extensions
    printf '%s\n' "$3" > "$pki/$1.ext"
    openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
      -days 3650 -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
  }
  client="basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  sign admin "/O=system:masters/CN=portico-admin" "$client"
  sign controller-manager "/CN=system:kube-controller-manager" "$client"
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  mv "$pki" "$final_pki"
  pki="$final_pki"
fi

kubeconfig() { # user
  cat <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "$pki/$1.crt")
    client-key-data: $(base64 -w0 "$pki/$1.key")
contexts:
- name: local
  context: {cluster: local, user: $1}
current-context: local
KUBECONFIG
}
kubeconfig admin > "$state/kubeconfig"
kubeconfig controller-manager > "$state/controller-manager.kubeconfig"

start() { # name args...
  local name="$1"; shift
  "$bin/$name" "$@" > "$state/$name.log" 2>&1 &
  echo $! > "$state/$name.pid"
}

start etcd --name local --data-dir "$state/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "local=http://127.0.0.1:$ETCD_PEER_PORT" --log-level warn

start kube-apiserver --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --client-ca-file "$pki/ca.crt" --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --enable-priority-and-fairness=false

ready() {
  curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" > /dev/null
}
for _ in $(seq 1 600); do
  ready && break
  if ! kill -0 "$(cat "$state/kube-apiserver.pid")" 2>/dev/null; then
    echo "kube-apiserver exited; see $state/kube-apiserver.log" >&2
    tail -20 "$state/kube-apiserver.log" >&2
    "$here/stop.sh" "$state"
    exit 1
  fi
  sleep 0.1
done
ready || { echo "kube-apiserver not ready after 60 s; see $state/kube-apiserver.log" >&2; "$here/stop.sh" "$state"; exit 1; }

start kube-controller-manager --kubeconfig "$state/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$state/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$state/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port 0 --leader-elect=false \
  --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
  --use-service-account-credentials=true --controllers '*'

trap - ERR
echo "control plane ready: KUBECONFIG=$state/kubeconfig" >&2
