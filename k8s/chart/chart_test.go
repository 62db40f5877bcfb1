// Package chart_test checks the Helm chart with the real helm (built from its
// Go module by tools/helm into bin/helm; .ci/run does it).
package chart_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func helm(t *testing.T) string {
	t.Helper()
	bin, _ := filepath.Abs("../../bin/helm")
	if _, err := os.Stat(bin); err != nil {
		if p, err := exec.LookPath("helm"); err == nil {
			return p
		}
		t.Skip("no helm: run tools/helm/build.sh (.ci/run does)")
	}
	return bin
}

// TestLint runs helm lint on the chart.
func TestLint(t *testing.T) {
	out, err := exec.Command(helm(t), "lint", "--strict", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("helm lint: %v\n%s", err, out)
	}
}

// TestTemplate renders the chart and checks what it installs.
func TestTemplate(t *testing.T) {
	out, err := exec.Command(helm(t), "template", "sy", ".", "--namespace", "gw", "--include-crds",
		"--set", "replicaCount=3").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	s := string(out)
	for _, want := range []string{
		"kind: CustomResourceDefinition", "name: backends.switchyard.dev", "name: policies.switchyard.dev", "name: consumers.switchyard.dev",
		"kind: GatewayClass", "controllerName: switchyard.dev/gateway-controller",
		"kind: ClusterRole", "gateways/status", "kind: Role", "leases",
		"kind: Deployment", "replicas: 3", "- --kubernetes", "- --leader-elect=true",
		"kind: Service", "kind: ConfigMap",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("rendered chart lacks %q", want)
		}
	}
}
