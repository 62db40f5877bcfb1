#!/usr/bin/env bash
# Builds kube-apiserver and etcd from Go modules into bin/kube (cached: a no-op when both exist).
# envtest runs them when KUBEBUILDER_ASSETS=bin/kube. See docs/kubernetes.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bin/kube
mkdir -p "$out"
if [ ! -x "$out/kube-apiserver" ]; then
  LD="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    LD="$LD -X $p.gitVersion=v1.37.2 -X $p.gitMajor=1 -X $p.gitMinor=37 -X $p.gitTreeState=clean"
  done
  (cd tools/kube-apiserver && go build -trimpath -ldflags "$LD" -o ../../$out/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver)
fi
if [ ! -x "$out/etcd" ]; then
  (cd tools/etcd && go build -trimpath -ldflags "-s -w" -o ../../$out/etcd go.etcd.io/etcd/server/v3)
fi
