#!/usr/bin/env bash
# Print the directory holding the pinned Gateway API release's CRDs (CHANNEL: standard, the
# default, or experimental), fetched through the Go module proxy like any Go dependency.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=localcluster/versions.env
source "$here/localcluster/versions.env"
channel="${1:-standard}"
dir="$(cd "$here/localcluster/etcd-build" &&
  go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
echo "$dir/config/crd/$channel"
