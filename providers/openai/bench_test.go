package openai

import (
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// BenchmarkRequest256k builds the upstream request of a 256 KB chat whose
// "stream" member comes last (as the OpenAI SDKs send it), with and without
// Known: without it, Request walks the whole body to find stream and
// stream_options.
func BenchmarkRequest256k(b *testing.B) {
	raw := []byte(`{"messages":[{"role":"user","content":"` + strings.Repeat("lorem ipsum ", 256<<10/12) +
		`"}],"model":"gpt-4o-mini","stream":false}`)
	backend := &config.AIBackend{Provider: config.ProviderOpenAICompatible, BaseURL: "http://127.0.0.1:8000"}
	for _, known := range []bool{false, true} {
		name := "lookup"
		if known {
			name = "known"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				tr, err := New().NewTranslator(schema.OpChat, backend)
				if err != nil {
					b.Fatal(err)
				}
				if known {
					tr.(*Translator).Known(false, nil)
				}
				if _, err := tr.Request(raw, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
