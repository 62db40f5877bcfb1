package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamplesValidate runs every example through `switchyard validate`.
func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cmd := exec.Command(binary, "validate", "-c", mustAbs(t, f))
			cmd.Dir = filepath.Dir(f)
			cmd.Env = append(cmd.Environ(), "AWS_EC2_METADATA_DISABLED=true", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
				"AWS_SECRET_ACCESS_KEY=example", "ALICE_KEY=sk-example-alice-0123456789", "BOB_KEY=sk-example-bob-0123456789", "GOOGLE_APPLICATION_CREDENTIALS="+mustAbs(t, "../../examples/testdata/gcp-service-account.json"))
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "valid") {
				t.Fatalf("validate %s: %v\n%s", f, err, out)
			}
		})
	}
}

// TestValidateReportsFileLineAndField checks the error format users see.
func TestValidateReportsFileLineAndField(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gateway.yaml")
	writeFile(t, path, `listeners: [{name: web, port: 8080}]
routes:
  - name: api
    rules:
      - backendRefs: [{name: missing}]
backends: []
`)
	out, err := exec.Command(binary, "validate", "-c", path).CombinedOutput()
	if err == nil {
		t.Fatalf("validate accepted a broken file: %s", out)
	}
	want := `gateway.yaml:5: routes[0].rules[0].backendRefs[0]: unknown backend "default/missing"`
	if !strings.Contains(string(out), want) {
		t.Fatalf("validate output:\n%s\nwant a line containing %s", out, want)
	}
}
