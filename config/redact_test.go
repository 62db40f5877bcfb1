package config

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBaseURLCredentialsNeverShown checks that a password written into a
// baseURL reaches neither a load error (logged) nor the snapshot JSON (/config),
// whether or not the URL is valid.
func TestBaseURLCredentialsNeverShown(t *testing.T) {
	const secret = "pw-secret-789"
	tests := []struct {
		name    string
		baseURL string
	}{
		{name: "valid URL", baseURL: "https://user:" + secret + "@proxy.internal/v1"},
		{name: "bad scheme", baseURL: "ftp://user:" + secret + "@proxy.internal/v1"},
		{name: "no host", baseURL: "https://user:" + secret + "@/v1"},
		{name: "bad escape in password", baseURL: "https://user:" + secret + "%zz@proxy.internal/v1"},
		{name: "space in password", baseURL: "https://user:" + secret + " x@proxy.internal/v1"},
		{name: "slash in password", baseURL: "https://user:a/" + secret + "@proxy.internal/v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := "backends:\n  - name: p\n    ai: {provider: openai-compatible, baseURL: \"" + tt.baseURL + "\"}\n"
			snap, err := LoadBytes("s.yaml", []byte(y), envOf(nil))
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("load error shows the password: %v", err)
			}
			if snap != nil {
				for _, p := range snap.Problems {
					if strings.Contains(p.Error(), secret) {
						t.Errorf("problem shows the password: %v", p)
					}
				}
				out, _ := json.Marshal(snap)
				if strings.Contains(string(out), secret) {
					t.Errorf("snapshot JSON shows the password: %s", out)
				}
			}
			b := AIBackend{Provider: ProviderOpenAICompatible, BaseURL: tt.baseURL}
			out, err := json.Marshal(b)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(out), secret) {
				t.Errorf("AIBackend JSON shows the password: %s", out)
			}
		})
	}
}
