package main

import (
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
)

func TestDefaultConfiguration(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		ollama bool
		want   []string // backend keys
	}{
		{name: "no account", want: []string{"default/sim", "default/sim-echo"}},
		{name: "openai key", env: map[string]string{"OPENAI_API_KEY": "sk-test"},
			want: []string{"default/sim", "default/sim-echo", "default/openai"}},
		{name: "azure needs key and endpoint", env: map[string]string{"AZURE_OPENAI_API_KEY": "k"},
			want: []string{"default/sim", "default/sim-echo"}},
		{name: "azure", env: map[string]string{"AZURE_OPENAI_API_KEY": "k", "AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com"},
			want: []string{"default/sim", "default/sim-echo", "default/azure"}},
		{name: "ollama answers", ollama: true, want: []string{"default/sim", "default/sim-echo", "default/ollama"}},
		{name: "port from env", env: map[string]string{"PORT": "9999"}, want: []string{"default/sim", "default/sim-echo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			y := defaultYAML(lookup, tt.ollama)
			snap, err := config.LoadBytes("<embedded default>", []byte(y), lookup)
			if err != nil {
				t.Fatalf("default configuration does not load: %v\n%s", err, y)
			}
			if len(snap.Problems) > 0 {
				t.Fatalf("problems: %v", snap.Problems)
			}
			if len(snap.Backends) != len(tt.want) {
				t.Fatalf("backends = %v, want %v", keys(snap.Backends), tt.want)
			}
			for _, k := range tt.want {
				if snap.Backends[k] == nil || snap.Backends[k].AI == nil {
					t.Fatalf("backend %s missing: %v", k, keys(snap.Backends))
				}
			}
			l := snap.Config.Listeners[0]
			wantPort := 8080
			if tt.env["PORT"] == "9999" {
				wantPort = 9999
			}
			if l.Address != "127.0.0.1" || l.Port != wantPort {
				t.Fatalf("listener %s:%d, want 127.0.0.1:%d", l.Address, l.Port, wantPort)
			}
			if k := tt.env["OPENAI_API_KEY"]; k != "" && strings.Contains(y, k) {
				t.Fatal("the rendered configuration contains the key itself instead of ${OPENAI_API_KEY}")
			}
		})
	}
}

func keys(m map[string]*config.Backend) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
