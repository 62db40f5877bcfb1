package ai

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/config"
)

func TestIsRoleOnlyChunk(t *testing.T) {
	tests := []struct {
		name  string
		chunk string
		want  bool
	}{
		{name: "role", chunk: `{"choices":[{"index":0,"delta":{"role":"assistant"}}]}`, want: true},
		{name: "role and empty content", chunk: `{"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`, want: true},
		{name: "role, null refusal, empty tool calls", chunk: `{"choices":[{"index":0,"delta":{"role":"assistant","refusal":null,"tool_calls":[]}}]}`, want: true},
		{name: "content", chunk: `{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]}`, want: false},
		{name: "tool call", chunk: `{"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"t","function":{"name":"f"}}]}}]}`, want: false},
		{name: "refusal", chunk: `{"choices":[{"index":0,"delta":{"role":"assistant","refusal":"no"}}]}`, want: false},
		{name: "finish", chunk: `{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":"stop"}]}`, want: false},
		{name: "no role", chunk: `{"choices":[{"index":0,"delta":{}}]}`, want: false},
		{name: "usage only", chunk: `{"choices":[],"usage":{"prompt_tokens":1}}`, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isRoleOnlyChunk([]byte(tt.chunk)); got != tt.want {
				t.Errorf("isRoleOnlyChunk(%s) = %v, want %v", tt.chunk, got, tt.want)
			}
		})
	}
}

// anthropicStream is an Anthropic Messages upstream that opens a stream
// (message_start) and then sends events.
func anthropicStream(t *testing.T, events string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/messages" || r.Header.Get("x-api-key") != "k" {
			http.Error(w, `{"type":"error","error":{"type":"not_found_error","message":"no"}}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","+
			"\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n")
		w.(http.Flusher).Flush()
		time.Sleep(50 * time.Millisecond)
		fmt.Fprint(w, events)
	}))
	t.Cleanup(s.Close)
	return s
}

const (
	anthropicOverloaded = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	anthropicText       = "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"claude\"}}\n\n"
)

// TestTranslatedStreamFailsOverAfterRoleChunk: a translated stream is not
// committed on its role-only first chunk: an upstream error right after
// message_start fails over to the next backend, whose stream the client gets
// whole; an error after content still reaches the client as a final event.
func TestTranslatedStreamFailsOverAfterRoleChunk(t *testing.T) {
	tests := []struct {
		name        string
		events      string
		wantBackend string
		wantContent string
		wantLast    func(string) bool
	}{
		{name: "overloaded after message_start", events: anthropicOverloaded, wantBackend: "default/good", wantContent: "ok",
			wantLast: func(s string) bool { return s == "[DONE]" }},
		{name: "overloaded after content", events: anthropicText + anthropicOverloaded, wantBackend: "default/claude", wantContent: "claude",
			wantLast: func(s string) bool { return gjson.Get(s, "error.type").Str != "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claude := anthropicStream(t, tt.events)
			goodOK := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"+
					"data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\ndata: [DONE]\n\n")
			}))
			t.Cleanup(goodOK.Close)
			h := newHarness(t, []backendSpec{
				{name: "claude", ai: config.AIBackend{Provider: config.ProviderAnthropic, BaseURL: claude.URL,
					Models: []string{"gpt-4o-mini"}, Model: "claude-x", Auth: config.BackendAuth{APIKey: "k"}}},
				{name: "good", ai: streamBackend(goodOK.URL, time.Minute), priority: 1},
			}, Options{})
			data, err := readStream(t, h.addr, streamChat, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			roles := 0
			for _, d := range data {
				text.WriteString(gjson.Get(d, "choices.0.delta.content").Str)
				if gjson.Get(d, "choices.0.delta.role").Exists() {
					roles++
				}
			}
			if text.String() != tt.wantContent || roles != 1 || len(data) == 0 || !tt.wantLast(data[len(data)-1]) {
				t.Fatalf("events = %q, want one role, content %q", data, tt.wantContent)
			}
			if d := h.rec.next(t); d.x.Backend != tt.wantBackend || d.x.Status != 200 {
				t.Errorf("done: backend %s status %d, want %s", d.x.Backend, d.x.Status, tt.wantBackend)
			}
		})
	}
}
