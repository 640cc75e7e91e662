#!/usr/bin/env bash
# Print the directory holding the pinned Gateway API release's CRDs (CHANNEL: standard, the
# default, or experimental). The release is the sigs.k8s.io/gateway-api version conformance/go.mod
# pins (the same as the conformance suite's), fetched through the Go module proxy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
channel="${1:-standard}"
dir="$(cd "$here" &&
  GOFLAGS=-mod=readonly go mod download -json sigs.k8s.io/gateway-api |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
echo "$dir/config/crd/$channel"
