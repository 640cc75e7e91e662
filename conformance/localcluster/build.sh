#!/usr/bin/env bash
# Build the local cluster's control plane (kube-apiserver, kube-controller-manager, etcd),
# kube-proxy, kubectl and CoreDNS from the Go module proxy at the pinned versions, into
# $HOME/.cache/portico/localcluster/<versions>/bin.
# A cached build is reused; only the first run pays (about 10 minutes on 2 cores).
# Prints the bin directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
# BUILD_REVISION changes whenever how the binaries are built changes, so old caches are not reused.
BUILD_REVISION=2
bin="${PORTICO_LOCALCLUSTER_CACHE:-$HOME/.cache/portico/localcluster}/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-coredns-$COREDNS_VERSION-r$BUILD_REVISION/bin"
mkdir -p "$bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=readonly"

# Kubernetes reports its version from variables set at link time (as its own release build
# does); without them the API server says v0.0.0 and version checks (Helm's kubeVersion, the
# conformance suite) fail.
minor="${KUBERNETES_VERSION#v*.}"
kube_version_flags="-X k8s.io/component-base/version.gitVersion=$KUBERNETES_VERSION \
  -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*} \
  -X k8s.io/component-base/version.gitTreeState=clean"

build() { # name module-dir package [ldflags]
  local name="$1" dir="$2" package="$3" ldflags="${4:-}"
  if [ -x "$bin/$name" ]; then
    return
  fi
  echo "building $name ($package)" >&2
  (cd "$here/$dir" && go build -trimpath -ldflags "$ldflags" -o "$bin/$name.partial" "$package")
  mv "$bin/$name.partial" "$bin/$name"
}

build etcd etcd-build go.etcd.io/etcd/server/v3
build kube-apiserver kubernetes-build k8s.io/kubernetes/cmd/kube-apiserver "$kube_version_flags"
build kube-controller-manager kubernetes-build k8s.io/kubernetes/cmd/kube-controller-manager \
  "$kube_version_flags"
build kube-proxy kubernetes-build k8s.io/kubernetes/cmd/kube-proxy "$kube_version_flags"
build kubectl kubernetes-build k8s.io/kubernetes/cmd/kubectl "$kube_version_flags"
build coredns coredns-build github.com/coredns/coredns
echo "$bin"
