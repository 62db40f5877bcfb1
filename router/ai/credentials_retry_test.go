package ai

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// TestCredentialsRetriedOnReload: a backend whose credentials could not load
// is not kept broken by a reload that leaves its configuration as it was:
// the reload tries again, and serves once the credentials are there.
func TestCredentialsRetriedOnReload(t *testing.T) {
	dir := t.TempDir()
	cfgFile, credFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credFile)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	snap := &config.Snapshot{Backends: map[string]*config.Backend{"default/br": {Name: "default/br", AI: &config.AIBackend{
		Provider: config.ProviderBedrock, Region: "us-east-1", BaseURL: "http://127.0.0.1:1",
		Auth: config.BackendAuth{AWS: &config.AWSAuth{Profile: "team"}}}}}}
	st := upstream.NewState()
	t.Cleanup(st.Close)
	fa := NewFactory(Options{})
	compile := func() map[string]string {
		gen := st.Begin()
		f, err := fa.compile(snap, gen)
		if err != nil {
			t.Fatal(err)
		}
		gen.Commit()
		return f.Problems()
	}
	if p := compile(); p["default/br"] == "" {
		t.Fatal("a missing profile loaded")
	}
	if err := os.WriteFile(credFile, []byte("[team]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p := compile(); p["default/br"] != "" {
		t.Fatalf("after the credentials appeared, the reload kept the failure: %s", p["default/br"])
	}
}
