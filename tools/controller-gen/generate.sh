#!/usr/bin/env bash
# Generates, from the Go types of k8s/api/v1alpha1 and the config types they embed and their kubebuilder
# markers, with bin/controller-gen (tools/controller-gen/build.sh builds it):
#   k8s/api/v1alpha1/zz_generated.deepcopy.go, config/zz_generated.deepcopy.go  (controller-gen object)
#   k8s/crds/switchyard.dev_*.yaml                                              (controller-gen crd)
# into the repository, or, given a directory, into that directory under the same paths
# (the test that the committed files are current compares the two).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-.}
cg=bin/controller-gen
[ -x "$cg" ] || { echo "generate: $cg missing: run tools/controller-gen/build.sh (make generate does)" >&2; exit 1; }
mkdir -p "$out/config" "$out/k8s/api/v1alpha1" "$out/k8s/crds"
rm -f "$out"/k8s/crds/*.yaml
"$cg" object paths=./config output:object:dir="$out/config"
"$cg" object paths=./k8s/api/v1alpha1 output:object:dir="$out/k8s/api/v1alpha1"
# allowDangerousTypes: a budget's usd is a float64 (type: number).
"$cg" crd:allowDangerousTypes=true paths=./k8s/api/v1alpha1 output:crd:dir="$out/k8s/crds"
