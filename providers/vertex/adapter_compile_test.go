package vertex

import (
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// TestCompiledURLs: a backend compiled once per snapshot builds the same
// upstream URLs as a translator made from the backend per attempt.
func TestCompiledURLs(t *testing.T) {
	tests := []struct {
		name  string
		a     *Adapter
		b     config.AIBackend
		model string
	}{
		{name: "vertex default region", a: NewAdapter(), b: config.AIBackend{Provider: config.ProviderVertex, Project: "p"}, model: "gemini-2.5-flash"},
		{name: "vertex global", a: NewAdapter(), b: config.AIBackend{Provider: config.ProviderVertex, Project: "p", Region: "global"}, model: "publishers/google/models/gemini-2.5-pro"},
		{name: "vertex baseURL", a: NewAdapter(), b: config.AIBackend{Provider: config.ProviderVertex, Project: "p q", Region: "eu", BaseURL: "http://127.0.0.1:9/"}, model: "g"},
		{name: "gemini", a: NewGeminiAdapter(), b: config.AIBackend{Provider: config.ProviderGemini}, model: "models/gemini-2.5-flash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compiled, err := tt.a.Compile(&tt.b)
			if err != nil {
				t.Fatal(err)
			}
			for _, stream := range []bool{false, true} {
				req := &schema.ChatRequest{Model: tt.model, Stream: stream,
					Messages: []schema.Message{{Role: "user", Content: schema.TextContent("hi")}}}
				want, _ := tt.a.NewTranslator(schema.OpChat, &tt.b)
				got, _ := compiled.NewTranslator(schema.OpChat, &tt.b)
				wu, err1 := want.Request(nil, req)
				gu, err2 := got.Request(nil, req)
				if err1 != nil || err2 != nil || wu.URL != gu.URL {
					t.Errorf("stream %v: compiled %q (%v), per attempt %q (%v)", stream, gu.URL, err2, wu.URL, err1)
				}
			}
		})
	}
	if _, err := NewAdapter().Compile(&config.AIBackend{Provider: config.ProviderVertex}); err == nil {
		t.Error("a vertex backend without a project compiled")
	}
}
