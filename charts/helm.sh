#!/usr/bin/env bash
# Print the path of the pinned Helm, building it from the Go module proxy on first use into
# $HOME/.cache/portico/helm/<version> (a few minutes on 2 cores; cached afterwards).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=helm-version.env
source "$here/helm-version.env"
bin="${PORTICO_HELM_CACHE:-$HOME/.cache/portico/helm}/$HELM_VERSION"
if [ ! -x "$bin/helm" ]; then
  echo "building helm $HELM_VERSION" >&2
  mkdir -p "$bin"
  GOBIN="$bin/partial" GOFLAGS="-trimpath -buildvcs=false" \
    go install "helm.sh/helm/${HELM_VERSION%%.*}/cmd/helm@$HELM_VERSION" >&2
  mv "$bin/partial/helm" "$bin/helm"
  rmdir "$bin/partial"
fi
echo "$bin/helm"
