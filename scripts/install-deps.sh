#!/usr/bin/env bash
# Install what building Portico needs on a fresh Debian machine. Idempotent.
#   - Rust stable with rustfmt and clippy (rustup), if cargo is missing.
#   - cmake: Pingora always builds zlib-ng with it.
#   - Go (the local control plane is built from the Go module proxy), openssl, curl, python3:
#     conformance/localcluster/; iproute2 and nftables for the node agent's pod networks and kube-proxy.
# protoc is not needed: the build uses protoc-bin-vendored.
set -euo pipefail

# The toolchains installed by rustup and the Go tarball come first: a distribution's older Go
# cannot read the go.mod files here.
export PATH="$HOME/.cargo/bin:/usr/local/go/bin:$PATH"
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs) first" >&2
  exit 1
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# The node agent (conformance/nodeagent) builds pod networks with iproute2; kube-proxy programs
# Service addresses with nftables.
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "go not found: install Go 1.26 or newer first" >&2
  exit 1
fi
go_minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
if [ "${go_minor:-0}" -lt 26 ]; then
  echo "$(go env GOVERSION) is too old: the control-plane build modules need Go 1.26 or newer" >&2
  exit 1
fi
cargo --version
go version
cmake --version | head -n 1
