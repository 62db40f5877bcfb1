package ai

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
)

// TestStreamReusesUpstreamConnection checks that an OpenAI-shaped stream that
// ended with [DONE] leaves its upstream connection in the pool: the next
// stream must not pay for a new connection before its first token.
func TestStreamReusesUpstreamConnection(t *testing.T) {
	var conns atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"t%d"},"finish_reason":null}]}`+"\n\n", i)
			fl.Flush()
		}
		fmt.Fprint(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":3,"total_tokens":4}}`+"\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
		fl.Flush()
	}))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	snap := &config.Snapshot{Backends: map[string]*config.Backend{
		"default/up": {Name: "default/up", AI: &config.AIBackend{Provider: config.ProviderOpenAICompatible, BaseURL: up.URL}},
	}}
	fe, err := New(snap, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fe.Close)
	addr := serveRoute(t, fe, Route{Key: "default.reuse.0.0", Refs: []config.BackendRef{{Name: "default/up"}}})
	for i := 0; i < 5; i++ {
		status, _, body := fasthttpPost(t, "http://"+addr+"/v1/chat/completions",
			`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
		if status != 200 || !strings.HasSuffix(strings.TrimSpace(string(body)), "data: [DONE]") {
			t.Fatalf("stream %d: %d %q", i, status, body)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("5 streams opened %d upstream connections, want 1 (kept alive)", n)
	}
}
