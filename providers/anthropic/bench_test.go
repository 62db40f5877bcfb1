package anthropic

import (
	"bytes"
	"os"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// BenchmarkTranslate measures one chat's request and response translation,
// the work the gateway adds per Anthropic call.
func BenchmarkTranslate(b *testing.B) {
	for _, name := range []string{"chat", "tools", "system"} {
		raw, err := os.ReadFile("testdata/" + name + ".request.json")
		if err != nil {
			b.Fatal(err)
		}
		resp, err := os.ReadFile("testdata/" + name + ".response.json")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name+"/request", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tr, _ := NewAdapter().NewTranslator(schema.OpChat, anthropicBackend)
				if _, err := tr.Request(raw, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/response", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tr, _ := NewAdapter().NewTranslator(schema.OpChat, anthropicBackend)
				if _, _, err := tr.Response(200, resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStream measures translating a streamed tool call (SSE) into OpenAI chunks.
func BenchmarkStream(b *testing.B) {
	sse, err := os.ReadFile("testdata/tools_stream.response.sse")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(sse)))
	b.ReportAllocs()
	for b.Loop() {
		tr, _ := NewAdapter().NewTranslator(schema.OpChat, anthropicBackend)
		if _, err := tr.Stream(bytes.NewReader(sse), func([]byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
