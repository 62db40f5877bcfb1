package v1alpha1_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The files controller-gen generates from the types of this package and the
// config types they embed (tools/controller-gen/generate.sh), besides the
// CRDs in k8s/crds.
var generated = []string{
	"config/zz_generated.deepcopy.go",
	"k8s/api/v1alpha1/zz_generated.deepcopy.go",
}

// TestGeneratedFilesAreCurrent regenerates the deep copies and the CRDs into
// a temporary directory with the pinned controller-gen and fails when a
// committed file differs, is missing or is not generated: run `make generate`.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	cg := filepath.Join(root, "bin", "controller-gen")
	if _, err := os.Stat(cg); err != nil {
		t.Skip("no bin/controller-gen: run tools/controller-gen/build.sh (make test and .ci/run do)")
	}
	want := pinnedVersion(t, filepath.Join(root, "tools", "controller-gen", "go.mod"))
	if out, err := exec.Command(cg, "--version").Output(); err != nil || strings.TrimSpace(string(out)) != "Version: "+want {
		t.Fatalf("bin/controller-gen --version = %q (%v), the pin is %s: run tools/controller-gen/build.sh", out, err, want)
	}

	dir := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "tools", "controller-gen", "generate.sh"), dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate.sh: %v\n%s", err, out)
	}

	fresh := crdFiles(t, dir)
	if len(fresh) == 0 {
		t.Fatal("controller-gen generated no CRD")
	}
	if committed := crdFiles(t, root); !slices.Equal(fresh, committed) {
		t.Errorf("k8s/crds holds %v, controller-gen generates %v: run make generate", committed, fresh)
	}
	for _, rel := range append(slices.Clone(generated), fresh...) {
		got, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Errorf("%s: %v: run make generate", rel, err)
			continue
		}
		want, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not current: run make generate (%s)", rel, firstDifference(got, want))
		}
	}
}

// crdFiles lists the YAML files of dir's k8s/crds, relative to dir.
func crdFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "k8s", "crds", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range m {
		out = append(out, filepath.ToSlash(filepath.Join("k8s", "crds", filepath.Base(f))))
	}
	slices.Sort(out)
	return out
}

// pinnedVersion reads the controller-tools version the tools module requires.
func pinnedVersion(t *testing.T, gomod string) string {
	t.Helper()
	f, err := os.Open(gomod)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) >= 2 && fields[0] == "sigs.k8s.io/controller-tools" {
			return fields[1]
		}
	}
	t.Fatalf("%s requires no sigs.k8s.io/controller-tools", gomod)
	return ""
}

// firstDifference names the first line where the committed file got and the
// generated file want differ.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			return fmt.Sprintf("line %d: committed %q, generated %q", i+1, gl, wl)
		}
	}
	return "same lines"
}
