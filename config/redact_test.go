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

// TestSubstitutedValuesNotQuoted checks that a value substituted from the
// environment into a field of the wrong type (a key pasted into the wrong
// variable) is not echoed by the error, which still names file, line and
// field, while a value written in the file itself is quoted.
func TestSubstitutedValuesNotQuoted(t *testing.T) {
	const secret = "sk-live-secret-4242"
	tests := []struct {
		name, yaml string
		env        string // the value of V (default secret)
		want       string // in the error
		shown      bool   // the error may show the value (a file path)
	}{
		{name: "int field from env", yaml: "backends:\n  - name: p\n    ai: {provider: sim, maxConnections: ${V}}\n",
			want: `s.yaml:3: backends[0].ai.maxConnections: expected an integer, got a string (substituted from the environment; the value is not shown)`},
		{name: "duration from env", yaml: "backends:\n  - name: p\n    ai: {provider: sim, timeout: \"${V}\"}\n",
			want: `s.yaml:3: backends[0].ai.timeout: invalid duration "…"`},
		{name: "bool from env", yaml: "server:\n  accessLog: ${V}\n",
			want: `s.yaml:2: server.accessLog: expected true or false, got a string (substituted`},
		{name: "duration from env spanning lines", yaml: "server:\n  readTimeout: |\n    ${V}\n",
			want: `s.yaml:2: server.readTimeout: invalid duration "…`},
		{name: "value with a quote", env: `sk-"quoted"-secret-4242`, yaml: "server:\n  readTimeout: '${V}'\n",
			want: `s.yaml:2: server.readTimeout: invalid duration "…"`},
		{name: "validation error about a value", yaml: "backends:\n  - name: p\n    ai: {provider: openai-compatible, baseURL: \"${V}\"}\n",
			want: `s.yaml:3: backends[0].ai.baseURL: baseURL "…" must start with http:// or https://`},
		{name: "file path from env is named", env: "/etc/switchyard/missing-ca.pem",
			yaml: "backends:\n  - name: p\n    ai: {provider: openai, tls: {caFile: \"${V}\"}}\n",
			want: `caFile "/etc/switchyard/missing-ca.pem" does not exist`, shown: true},
		{name: "a value inside a longer one", env: "sk-live-secret-4242-and-more",
			yaml: "backends:\n  - name: p\n    ai: {provider: openai-compatible, region: \"${SHORT}\", baseURL: \"${V}\"}\n",
			want: `baseURL "…" must start with`},
		{name: "int field written in the file", yaml: "backends:\n  - name: p\n    ai: {provider: sim, maxConnections: " + secret + "}\n",
			want: `expected an integer, got "sk-live...`}, // the YAML library shortens what it quotes
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := secret
			if tt.env != "" {
				v = tt.env
			}
			_, err := LoadBytes("s.yaml", []byte(tt.yaml), envOf(map[string]string{"V": v, "SHORT": "sk-live"}))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %s", err, tt.want)
			}
			if !tt.shown && (strings.Contains(err.Error(), v) || strings.Contains(err.Error(), "secret-4242") ||
				strings.Contains(err.Error(), "and-more")) {
				t.Errorf("error shows the value: %v", err)
			}
		})
	}
}
