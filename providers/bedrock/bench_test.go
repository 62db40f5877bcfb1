package bedrock

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// benchInputs reads a golden case's OpenAI request and Bedrock response.
func benchInputs(b *testing.B, name string) (req, resp []byte) {
	b.Helper()
	req, err := os.ReadFile("testdata/" + name + ".request.json")
	if err != nil {
		b.Fatal(err)
	}
	resp, _ = os.ReadFile("testdata/" + name + ".response.json")
	return req, resp
}

// BenchmarkTranslate measures one chat's request and response translation,
// the work the gateway adds per Bedrock call.
func BenchmarkTranslate(b *testing.B) {
	for _, name := range []string{"chat", "tools", "system"} {
		raw, resp := benchInputs(b, name)
		b.Run(name+"/request", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tr, _ := New().NewTranslator(schema.OpChat, testBackend)
				if _, err := tr.Request(raw, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/response", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tr, _ := New().NewTranslator(schema.OpChat, testBackend)
				if _, _, err := tr.Response(200, resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStream measures translating a streamed tool call's event-stream frames into OpenAI chunks.
func BenchmarkStream(b *testing.B) {
	data, err := os.ReadFile("testdata/tools_stream.response.events.json")
	if err != nil {
		b.Fatal(err)
	}
	var events []streamEvent
	if err := json.Unmarshal(data, &events); err != nil {
		b.Fatal(err)
	}
	frames := encodeEvents(&testing.T{}, events)
	b.SetBytes(int64(len(frames)))
	b.ReportAllocs()
	for b.Loop() {
		tr, _ := New().NewTranslator(schema.OpChat, testBackend)
		if _, err := tr.Stream(bytes.NewReader(frames), func([]byte) error { return nil }); err != nil && err != io.EOF {
			b.Fatal(err)
		}
	}
}
