#!/usr/bin/env bash
# Build the local cluster's control plane (kube-apiserver, kube-controller-manager, etcd) from
# the Go module proxy at the pinned versions, into $HOME/.cache/portico/localcluster/<versions>/bin.
# A cached build is reused; only the first run pays (about 10 minutes on 2 cores).
# Prints the bin directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
bin="${PORTICO_LOCALCLUSTER_CACHE:-$HOME/.cache/portico/localcluster}/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=readonly"

build() { # name module-dir package
  local name="$1" dir="$2" package="$3"
  if [ -x "$bin/$name" ]; then
    return
  fi
  echo "building $name ($package)" >&2
  (cd "$here/$dir" && go build -trimpath -o "$bin/$name.partial" "$package")
  mv "$bin/$name.partial" "$bin/$name"
}

build etcd etcd-build go.etcd.io/etcd/server/v3
build kube-apiserver kubernetes-build k8s.io/kubernetes/cmd/kube-apiserver
build kube-controller-manager kubernetes-build k8s.io/kubernetes/cmd/kube-controller-manager
echo "$bin"
