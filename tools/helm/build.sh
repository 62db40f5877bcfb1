#!/usr/bin/env bash
# Builds helm from its Go module into bin/helm (cached: a no-op when it exists).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bin
if [ ! -x bin/helm ]; then
  (cd tools/helm && go build -trimpath -ldflags "-s -w" -o ../../bin/helm helm.sh/helm/v4/cmd/helm)
fi
