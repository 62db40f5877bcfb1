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

// TestCRDsAreTheGenerated checks that the chart installs exactly the CRDs
// controller-gen generates into k8s/crds (its crds/ is a link there): every
// one, byte for byte, and no other.
func TestCRDsAreTheGenerated(t *testing.T) {
	out, err := exec.Command(helm(t), "template", "sy", ".", "--include-crds").CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	s := string(out)
	files, err := filepath.Glob("../crds/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in k8s/crds (%v)", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s, "# Source: switchyard/crds/"+filepath.Base(f)+"\n"+string(b)) {
			t.Errorf("the chart does not install %s as generated", f)
		}
	}
	if n, want := strings.Count(s, "# Source: switchyard/crds/"), len(files); n != want {
		t.Errorf("the chart installs %d CRD files, k8s/crds holds %d", n, want)
	}
}
