#!/usr/bin/env bash
# `make conformance`: build Portico and the suite's images, start the local cluster and its
# node, install the Gateway API CRDs and Portico's Helm chart with the local builds, run the
# upstream conformance suite and then Portico's rolling-restart test (rollout_test.go), keep
# the logs if either fails, tear everything down.
#
#   PROFILES    conformance profiles to run (default GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS,GATEWAY-TCP,GATEWAY-UDP)
#   SUITE_ARGS  more flags for the suite, e.g. "-run-test HTTPRouteSimpleSameNamespace"
#   KEEP=1      leave the cluster running afterwards (stop with localcluster/stop.sh STATE)
#
# Needs root (network namespaces, nftables). Phase times go to conformance/reports/timings.txt.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
export PATH="$HOME/.cargo/bin:/usr/local/go/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/portico/target}"
profiles="${PROFILES:-GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS,GATEWAY-TCP,GATEWAY-UDP}"
reports="$here/reports"
mkdir -p "$reports"
timings="$reports/timings.txt"
: > "$timings"
phase() { printf '%-28s %5ss\n' "$1" "$SECONDS" | tee -a "$timings"; }

phase "start"
cargo build --release --locked --bin portico --bin portico-nodeagent
suite_version="$(cd "$here" && go list -m -f '{{.Version}}' sigs.k8s.io/gateway-api/conformance)"
images="${PORTICO_IMAGES_CACHE:-$HOME/.cache/portico/conformance-images}/$suite_version"
if [ ! -x "$images/echo-basic" ]; then
  mkdir -p "$images"
  (cd "$here" && go build -trimpath -o "$images/echo-basic.partial" sigs.k8s.io/gateway-api/conformance/echo-basic)
  mv "$images/echo-basic.partial" "$images/echo-basic"
fi
bin="$("$here/localcluster/build.sh")"
helm="$("$root/charts/helm.sh")"
phase "built"

state="${STATE_DIR:-$(mktemp -d)}"
finish() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    local logs="$reports/logs"
    rm -rf "$logs" && mkdir -p "$logs"
    cp "$state"/*.log "$logs/" 2>/dev/null || true
    cp -r "$state/node/logs" "$logs/pods" 2>/dev/null || true
    "$bin/kubectl" --kubeconfig "$state/kubeconfig" get gatewayclasses,gateways,httproutes,grpcroutes,tlsroutes,tcproutes,udproutes,pods,services -A -o yaml \
      > "$logs/objects.yaml" 2>/dev/null || true
    echo "conformance failed; logs in $logs" >&2
  fi
  if [ -z "${KEEP:-}" ]; then
    "$here/localcluster/stop.sh" "$state"
  else
    echo "cluster kept: KUBECONFIG=$state/kubeconfig; stop with $here/localcluster/stop.sh $state" >&2
  fi
  exit "$status"
}
trap finish EXIT
"$here/localcluster/start.sh" "$state"
PORTICO="$CARGO_TARGET_DIR/release/portico" ECHO_BASIC="$images/echo-basic" COREDNS="$bin/coredns" \
  "$here/localcluster/start-node.sh" "$state" "$CARGO_TARGET_DIR/release/portico-nodeagent" "$here/images.yaml"
export KUBECONFIG="$state/kubeconfig"
phase "cluster and node up"

# The experimental channel: the standard one plus what Portico also serves (HTTPRoute retry).
# The release's kustomization names the channel's files.
"$bin/kubectl" apply --server-side -k "$("$here/gateway-api-crds.sh" experimental)"
"$bin/kubectl" wait --for condition=Established crd --all --timeout=60s
"$helm" install portico "$root/charts/portico" --namespace portico-system --create-namespace \
  --wait --timeout 3m
phase "CRDs and chart installed"

# shellcheck disable=SC2086
(cd "$here" && go test -v -count=1 -timeout 80m -run TestConformance . -args \
  -conformance-profiles="$profiles" ${SUITE_ARGS:-}) 2>&1 | tee "$reports/suite.log"
phase "suite finished"

# Portico's own check on the same cluster: a rolling restart of a two-replica data plane under
# load loses no request (rollout_test.go).
(cd "$here" && go test -v -count=1 -timeout 10m -run TestRollingRestart .) 2>&1 | tee "$reports/rollout.log"
phase "rolling restart under load"
