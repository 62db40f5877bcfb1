package openai

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

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

// BenchmarkResponseUsage reads the usage of a 591-byte answer shaped as
// OpenAI's today (usage behind the choices, before system_fingerprint):
// UsageOf(gjson.Get) against responseUsage.
func BenchmarkResponseUsage(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-BjT4loadtest0000000000000001","object":"chat.completion","created":1760000000,` +
		`"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",` +
		`"content":"Hi! How can I help you with your code today?","refusal":null},` +
		`"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":25,"completion_tokens":12,"total_tokens":37,` +
		`"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,` +
		`"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},` +
		`"system_fingerprint":"fp_loadtest01"}`)
	for _, tc := range []struct {
		name  string
		usage func([]byte) schema.Usage
	}{
		{"gjson", func(b []byte) schema.Usage { return UsageOf(gjson.Get(bstr(b), "usage")) }},
		{"responseUsage", responseUsage},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if tc.usage(body).TotalTokens != 37 {
					b.Fatal("wrong usage")
				}
			}
		})
	}
}
