package tokens

import (
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// chatOfSize returns a chat request whose message text totals about size bytes.
func chatOfSize(size int) *schema.ChatRequest {
	const para = "The gateway routes each request to a model provider and counts its tokens on the hot path. "
	body := strings.Repeat(para, size/len(para)+1)[:size]
	return &schema.ChatRequest{Model: "gpt-4o", Messages: []schema.Message{
		{Role: "system", Content: schema.TextContent("You are a helpful assistant.")},
		{Role: "user", Content: schema.TextContent(body)},
	}}
}

func BenchmarkCountChat(b *testing.B) {
	c := New()
	for _, bc := range []struct {
		name string
		size int
	}{{"1KB", 1 << 10}, {"32KB", 32 << 10}} {
		req := chatOfSize(bc.size)
		c.CountChat(req) // load the encoding outside the timer
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(bc.size))
			for b.Loop() {
				c.CountChat(req)
			}
		})
	}
}

// BenchmarkCountChatNextTurn counts a conversation whose 32 KB history was
// counted before and whose newest message is new every time: what a chat
// client sends turn after turn.
func BenchmarkCountChatNextTurn(b *testing.B) {
	c := New()
	req := chatOfSize(32 << 10)
	c.CountChat(req)
	req.Messages = append(req.Messages, schema.Message{Role: "user"})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req.Messages[2].Content = schema.TextContent("Turn " + strconv.Itoa(i) + ": and what about the next request to the gateway?")
		c.CountChat(req)
	}
}

// BenchmarkCountChatSDK counts what an OpenAI SDK sends in the load tests: a
// short system and user message (under 100 bytes in all), the same every time.
func BenchmarkCountChatSDK(b *testing.B) {
	c := New()
	req := &schema.ChatRequest{Model: "gpt-4o-mini", Messages: []schema.Message{
		{Role: "system", Content: schema.TextContent("You are a helpful assistant.")},
		{Role: "user", Content: schema.TextContent("Explain in one sentence what an AI gateway does.")},
	}}
	c.CountChat(req)
	b.ReportAllocs()
	for b.Loop() {
		c.CountChat(req)
	}
}

// BenchmarkCountChatSDKNewPrompt is BenchmarkCountChatSDK with a user message
// never seen before (its count cannot come from the cache).
func BenchmarkCountChatSDKNewPrompt(b *testing.B) {
	c := New()
	req := &schema.ChatRequest{Model: "gpt-4o-mini", Messages: []schema.Message{
		{Role: "system", Content: schema.TextContent("You are a helpful assistant.")},
		{Role: "user"},
	}}
	c.CountChat(req)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req.Messages[1].Content = schema.TextContent("Explain in one sentence what AI gateway " + strconv.Itoa(i) + " does.")
		c.CountChat(req)
	}
}

// BenchmarkCountChatJSONSDK is BenchmarkCountChatSDK from the request's
// JSON body, as admission counts it (no decode).
func BenchmarkCountChatJSONSDK(b *testing.B) {
	c := New()
	body := []byte(`{"model":"gpt-4o-mini","max_tokens":64,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Explain in one sentence what an AI gateway does."}]}`)
	c.CountChatJSON(body)
	b.ReportAllocs()
	for b.Loop() {
		c.CountChatJSON(body)
	}
}

// BenchmarkCountChatDecodedSDK is what admission did before CountChatJSON:
// decode the SDK request, then count it.
func BenchmarkCountChatDecodedSDK(b *testing.B) {
	c := New()
	body := []byte(`{"model":"gpt-4o-mini","max_tokens":64,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Explain in one sentence what an AI gateway does."}]}`)
	req, _ := schema.ParseChatRequest(body)
	c.CountChat(req)
	b.ReportAllocs()
	for b.Loop() {
		req, _ := schema.ParseChatRequest(body)
		c.CountChat(req)
	}
}
