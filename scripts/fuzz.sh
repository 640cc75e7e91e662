#!/usr/bin/env bash
# Coverage-guided fuzzing of Portico's fuzz targets (fuzz/src) with libFuzzer.
#
#   scripts/fuzz.sh SECONDS [TARGET...]    each TARGET (default: all) for SECONDS
#
# Needs a nightly toolchain (rustup's `nightly`) and cargo-fuzz (installed here from crates.io
# into $HOME/.cache/portico/cargo-fuzz when missing). Seeds come from fuzz/corpus/<target>
# (and the translator's golden inputs for yaml_documents); what libFuzzer learns goes to
# $HOME/.cache/portico/fuzz-corpus/<target>, outside the repository. A crash leaves its input in
# fuzz/libfuzzer/artifacts/<target>/ and fails the script: add the input to fuzz/corpus/<target>/
# so `cargo test -p portico-fuzz` replays it, then fix the code.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}"
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(yaml_documents snapshot_decode routing_lookup request_head proxy_protocol normalize_path client_hello)
fi

cache="$HOME/.cache/portico"
tools="$cache/cargo-fuzz"
if ! "$tools/bin/cargo-fuzz" --version >/dev/null 2>&1; then
  cargo install --locked --root "$tools" cargo-fuzz@0.13.2
fi
export PATH="$tools/bin:$PATH"
export CARGO_TARGET_DIR="$cache/fuzz-target"

cd "$root/fuzz/libfuzzer"
for target in "${targets[@]}"; do
  learned="$cache/fuzz-corpus/$target"
  mkdir -p "$learned"
  seeds=("$root/fuzz/corpus/$target")
  if [ "$target" = yaml_documents ]; then
    seeds+=("$root/controller/translate/tests/testdata")
  fi
  echo "fuzzing $target for ${seconds}s"
  cargo +nightly fuzz run --fuzz-dir . "$target" "$learned" "${seeds[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
done
