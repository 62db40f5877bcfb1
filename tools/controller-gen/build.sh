#!/usr/bin/env bash
# Builds controller-gen (sigs.k8s.io/controller-tools, at the version this module pins) into bin/controller-gen.
# Cached: a no-op when bin/controller-gen exists and reports the pinned version.
set -euo pipefail
cd "$(dirname "$0")/../.."
want=$(awk '$1 == "sigs.k8s.io/controller-tools" {print $2}' tools/controller-gen/go.mod)
if [ ! -x bin/controller-gen ] || [ "$(bin/controller-gen --version 2>/dev/null)" != "Version: $want" ]; then
  mkdir -p bin
  (cd tools/controller-gen && go build -trimpath -ldflags "-s -w" -o ../../bin/controller-gen sigs.k8s.io/controller-tools/cmd/controller-gen)
fi
