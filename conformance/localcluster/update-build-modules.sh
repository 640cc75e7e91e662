#!/usr/bin/env bash
# Regenerate kubernetes-build/, etcd-build/ and coredns-build/ go.mod (and go.sum) for the versions
# in versions.env. k8s.io/kubernetes names its staging modules (k8s.io/api, k8s.io/client-go,
# ...) by local path; the build module replaces each with its published v0.X.Y release.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
staging_version="v0.${KUBERNETES_VERSION#v1.}"
gomod="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
{
  echo "// Builds the pinned Kubernetes control plane for Portico's local test cluster."
  echo "// Regenerate with ../update-build-modules.sh; do not edit the replace block by hand."
  echo "module portico.dev/localcluster/kubernetes-build"
  echo
  echo "go 1.26.0"
  echo
  echo "tool ("
  echo "	k8s.io/kubernetes/cmd/kube-apiserver"
  echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
  echo "	k8s.io/kubernetes/cmd/kube-proxy"
  echo "	k8s.io/kubernetes/cmd/kubectl"
  echo ")"
  echo
  echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
  echo
  echo "// k8s.io/kubernetes refers to its staging modules by path; use their published releases."
  echo "replace ("
  grep -oE 'k8s\.io/[A-Za-z0-9._-]+ => \./staging/src/' "$gomod" | awk '{print $1}' | sort -u |
    while read -r module; do echo "	$module => $module $staging_version"; done
  echo ")"
} > "$here/kubernetes-build/go.mod"
{
  echo "// Builds the pinned etcd server for Portico's local test cluster."
  echo "module portico.dev/localcluster/etcd-build"
  echo
  echo "go 1.26.0"
  echo
  echo "tool go.etcd.io/etcd/server/v3"
  echo
  echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
} > "$here/etcd-build/go.mod"
{
  echo "// Builds CoreDNS for Portico's local test cluster: the cluster DNS, and the image the"
  echo "// conformance suite's base manifests run. Regenerate with ../update-build-modules.sh."
  echo "module portico.dev/localcluster/coredns-build"
  echo
  echo "go 1.26.0"
  echo
  echo "tool github.com/coredns/coredns"
  echo
  echo "require github.com/coredns/coredns $COREDNS_VERSION"
} > "$here/coredns-build/go.mod"
(cd "$here/kubernetes-build" && go mod tidy)
(cd "$here/coredns-build" && go mod tidy)
(cd "$here/etcd-build" && go mod tidy)
