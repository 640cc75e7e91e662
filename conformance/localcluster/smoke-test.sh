#!/usr/bin/env bash
# Start the local control plane, check that it serves the API and that its controllers act
# (a Service gets an EndpointSlice from kube-controller-manager), then stop it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="$(mktemp -d)"
trap '"$here/stop.sh" "$state"; rm -rf "$state"' EXIT
"$here/start.sh" "$state"
# shellcheck source=/dev/null
source "$state/ports.env"
api() { # method path [json]
  curl -sf --cacert "$state/pki/ca.crt" --cert "$state/pki/admin.crt" --key "$state/pki/admin.key" \
    -X "$1" -H 'Content-Type: application/json' ${3:+--data "$3"} "https://127.0.0.1:$APISERVER_PORT$2"
}
passed=0 failed=0
check() { # description command...
  if "${@:2}"; then passed=$((passed + 1)); echo "ok: $1"; else failed=$((failed + 1)); echo "FAILED: $1"; fi
}
namespaces_listed() { api GET /api/v1/namespaces/default > /dev/null; }
check "the API server serves the default namespace" namespaces_listed
api POST /api/v1/namespaces/default/services \
  '{"apiVersion":"v1","kind":"Service","metadata":{"name":"smoke"},"spec":{"selector":{"app":"smoke"},"ports":[{"port":80}]}}' > /dev/null
slice_created() { # controllers start once their service-account credentials exist: allow 60 s
  for _ in $(seq 1 600); do
    api GET '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dsmoke' |
      grep -Eq '"kubernetes.io/service-name": ?"smoke"' && return 0
    sleep 0.1
  done
  return 1
}
check "kube-controller-manager creates the Service's EndpointSlice" slice_created
echo "localcluster: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
