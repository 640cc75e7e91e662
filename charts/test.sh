#!/usr/bin/env bash
# Lint the chart and compare `helm template` for every tests/<case>.values.yaml with
# tests/<case>.golden.yaml. UPDATE_GOLDEN=1 rewrites the golden files.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
helm="$("$here/helm.sh")"
chart="$here/portico"
"$helm" lint --strict "$chart"
failed=0
for values in "$here"/tests/*.values.yaml; do
  case="$(basename "$values" .values.yaml)"
  golden="$here/tests/$case.golden.yaml"
  "$helm" lint --strict "$chart" --values "$values" >/dev/null
  rendered="$("$helm" template portico "$chart" --namespace portico-system --include-crds --values "$values")"
  if [ -n "${UPDATE_GOLDEN:-}" ]; then
    printf '%s\n' "$rendered" >"$golden"
  elif ! diff -u "$golden" <(printf '%s\n' "$rendered"); then
    echo "chart test $case: helm template differs from $golden (UPDATE_GOLDEN=1 to accept)" >&2
    failed=1
  fi
done
exit "$failed"
