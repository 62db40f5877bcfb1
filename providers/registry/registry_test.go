package registry

import (
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// TestRegistry: every provider name of the configuration has an adapter or
// an in-process one, Claude on Vertex goes to the Anthropic translator, and
// each provider's key goes in its own header.
func TestRegistry(t *testing.T) {
	r := New(nil)
	for _, p := range []string{config.ProviderOpenAI, config.ProviderAzure, config.ProviderOpenAICompatible,
		config.ProviderBedrock, config.ProviderVertex, config.ProviderGemini, config.ProviderAnthropic} {
		if r.Adapter(p) == nil {
			t.Errorf("no adapter for %s", p)
		}
	}
	if r.Direct(config.ProviderSim) == nil {
		t.Error("no in-process sim")
	}
	tests := []struct {
		name, model, wantURLPart string
		fixed                    bool // the backend fixes the model (decided at compile)
	}{
		{name: "claude on vertex", model: "claude-sonnet-4", fixed: true, wantURLPart: ":rawPredict"},
		{name: "gemini on vertex", model: "gemini-2.5-flash", fixed: true, wantURLPart: ":generateContent"},
		{name: "claude chosen per request", model: "claude-sonnet-4", wantURLPart: ":rawPredict"},
		{name: "gemini chosen per request", model: "gemini-2.5-flash", wantURLPart: ":generateContent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &config.AIBackend{Provider: config.ProviderVertex, Project: "p", Region: "us-east5"}
			if tt.fixed {
				b.Model = tt.model
			}
			a := r.Adapter(config.ProviderVertex)
			if c, ok := a.(providers.Compiler); ok {
				var err error
				if a, err = c.Compile(b); err != nil {
					t.Fatal(err)
				}
			}
			tr, err := a.NewTranslator(schema.OpChat, b)
			if err != nil {
				t.Fatal(err)
			}
			up, err := tr.Request([]byte(`{"model":"`+tt.model+`","messages":[{"role":"user","content":"hi"}]}`),
				&schema.ChatRequest{Model: tt.model, Messages: []schema.Message{{Role: "user", Content: schema.TextContent("hi")}}})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(up.URL, tt.wantURLPart) {
				t.Errorf("URL %s, want it to contain %s", up.URL, tt.wantURLPart)
			}
		})
	}
	headers := map[string][2]string{
		config.ProviderOpenAI:    {"Authorization", "Bearer "},
		config.ProviderAzure:     {"api-key", ""},
		config.ProviderAnthropic: {"x-api-key", ""},
		config.ProviderGemini:    {"x-goog-api-key", ""},
	}
	for p, want := range headers {
		if h, pre := r.Credential(p); h != want[0] || pre != want[1] {
			t.Errorf("Credential(%s) = %q %q, want %q %q", p, h, pre, want[0], want[1])
		}
	}
}
