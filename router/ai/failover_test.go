package ai

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/openaifake"
)

// refusedURL returns a loopback URL nothing listens on.
func refusedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

func chatOnce(t *testing.T, h *harness, stream bool) (string, error) {
	t.Helper()
	c := h.sdk()
	p := openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	if !stream {
		res, err := c.Chat.Completions.New(context.Background(), p)
		if err != nil {
			return "", err
		}
		return res.Choices[0].Message.Content, nil
	}
	st := c.Chat.Completions.NewStreaming(context.Background(), p)
	var b strings.Builder
	for st.Next() {
		if ch := st.Current(); len(ch.Choices) > 0 {
			b.WriteString(ch.Choices[0].Delta.Content)
		}
	}
	return b.String(), st.Err()
}

func TestFailover(t *testing.T) {
	tests := []struct {
		name       string
		fault      openaifake.Fault
		refused    bool
		stream     bool
		skipsFirst bool // the first backend is skipped on the next request
		wantFirstN int  // requests the first backend saw on the first call
	}{
		{name: "503", fault: openaifake.Fault{Status: 503}, wantFirstN: 1},
		{name: "500 stream", fault: openaifake.Fault{Status: 500}, stream: true, wantFirstN: 1},
		{name: "429 retry-after", fault: openaifake.Fault{Status: 429, RetryAfter: "30"}, skipsFirst: true, wantFirstN: 1},
		{name: "connection closed", fault: openaifake.Fault{CloseConn: true}, wantFirstN: 1},
		{name: "connection refused", refused: true},
		{name: "connection refused stream", refused: true, stream: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := openaifake.New(t, openaifake.Options{APIKey: "k", Reply: "from first"})
			second := openaifake.New(t, openaifake.Options{APIKey: "k", Reply: "from second"})
			first.SetFault(tt.fault)
			firstAI := config.AIBackend{Provider: "openai", BaseURL: first.URL, Models: []string{"gpt-4o-mini"}, Auth: config.BackendAuth{APIKey: "k"}}
			if tt.refused {
				firstAI.BaseURL = refusedURL(t)
			}
			secondAI := config.AIBackend{Provider: "openai", BaseURL: second.URL, Models: []string{"gpt-4o-mini"}, Auth: config.BackendAuth{APIKey: "k"}}
			h := newHarness(t, []backendSpec{{name: "first", ai: firstAI}, {name: "second", ai: secondAI, priority: 1}}, Options{})
			got, err := chatOnce(t, h, tt.stream)
			if err != nil {
				t.Fatal(err)
			}
			if got != "from second" {
				t.Errorf("answer = %q", got)
			}
			if first.Count() != tt.wantFirstN || second.Count() != 1 {
				t.Errorf("first saw %d, second %d", first.Count(), second.Count())
			}
			if d := h.rec.next(t); d.x.Backend != "default/second" {
				t.Errorf("done backend = %q", d.x.Backend)
			}
			if tt.skipsFirst {
				if _, err := chatOnce(t, h, false); err != nil {
					t.Fatal(err)
				}
				if first.Count() != tt.wantFirstN {
					t.Errorf("first backend was called during its Retry-After")
				}
			}
		})
	}
}

func TestAllBackendsFail(t *testing.T) {
	fake := openaifake.New(t, openaifake.Options{APIKey: "k"})
	fake.SetFault(openaifake.Fault{Status: 429, RetryAfter: "7"})
	h := newHarness(t, []backendSpec{{name: "only", ai: openaiBackend(fake, "m")}}, Options{})
	status, hdr, body := h.do(t, "POST", "/v1/chat/completions", "application/json",
		[]byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	if status != 429 || string(hdr.Peek("Retry-After")) != "7" || !strings.Contains(string(body), "injected failure") {
		t.Errorf("status %d retry-after %q body %s", status, hdr.Peek("Retry-After"), body)
	}
	// The backend now sits out its Retry-After: no healthy backend.
	status, _, body = h.do(t, "POST", "/v1/chat/completions", "application/json",
		[]byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	if status != 503 || fake.Count() != 1 {
		t.Errorf("status %d (calls %d) body %s", status, fake.Count(), body)
	}
}

func TestEjection(t *testing.T) {
	fake := openaifake.New(t, openaifake.Options{APIKey: "k"})
	fake.SetFault(openaifake.Fault{Status: 502})
	h := newHarness(t, []backendSpec{{name: "only", ai: openaiBackend(fake, "m")}}, Options{})
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`)
	for i := 0; i < outlier.Consecutive5xx; i++ {
		if status, _, _ := h.do(t, "POST", "/v1/chat/completions", "application/json", body); status != 502 {
			t.Fatalf("attempt %d: status %d", i, status)
		}
	}
	fake.SetFault(openaifake.Fault{})
	if status, _, _ := h.do(t, "POST", "/v1/chat/completions", "application/json", body); status != 503 {
		t.Errorf("ejected backend: status %d, want 503", status)
	}
	if fake.Count() != outlier.Consecutive5xx {
		t.Errorf("calls = %d", fake.Count())
	}
}

func TestStartedStreamIsNotRetried(t *testing.T) {
	first := openaifake.New(t, openaifake.Options{APIKey: "upstream-key", Reply: "a b c d e f"})
	second := openaifake.New(t, openaifake.Options{APIKey: "upstream-key"})
	first.SetFault(openaifake.Fault{StreamBreakAfter: 3})
	h := newHarness(t, []backendSpec{
		{name: "first", ai: openaiBackend(first, "gpt-4o-mini")},
		{name: "second", ai: openaiBackend(second, "gpt-4o-mini"), priority: 1},
	}, Options{})
	got, err := chatOnce(t, h, true)
	if err == nil {
		t.Fatal("want a stream error")
	}
	if got != "a b " {
		t.Errorf("text before the break = %q", got)
	}
	if second.Count() != 0 {
		t.Errorf("a started stream failed over to the second backend")
	}
	d := h.rec.next(t)
	if d.x.Backend != "default/first" || d.x.FirstByte.IsZero() {
		t.Errorf("done = %+v", d.x)
	}
}

func TestUpstreamTimeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	ai := config.AIBackend{Provider: "openai-compatible", BaseURL: slow.URL, Timeout: config.Duration(150 * time.Millisecond)}
	h := newHarness(t, []backendSpec{{name: "slow", ai: ai}}, Options{})
	for _, stream := range []string{"false", "true"} {
		start := time.Now()
		status, _, body := h.do(t, "POST", "/v1/chat/completions", "application/json",
			[]byte(`{"model":"m","stream":`+stream+`,"messages":[{"role":"user","content":"x"}]}`))
		if status != 504 || time.Since(start) > time.Second {
			t.Errorf("stream=%s: status %d after %v: %s", stream, status, time.Since(start), body)
		}
	}
}

func TestLongStreamOutlivesTimeout(t *testing.T) {
	// A stream whose chunks keep coming after the backend timeout is not cut.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for i := 0; i < 4; i++ {
			_, _ = w.Write([]byte(`data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"t"},"finish_reason":null}]}` + "\n\n"))
			fl.Flush()
			time.Sleep(100 * time.Millisecond)
		}
		_, _ = w.Write([]byte("data: [DONE]\n\n"))
	}))
	t.Cleanup(srv.Close)
	ai := config.AIBackend{Provider: "openai-compatible", BaseURL: srv.URL, Timeout: config.Duration(150 * time.Millisecond)}
	h := newHarness(t, []backendSpec{{name: "s", ai: ai}}, Options{})
	got, err := chatOnce(t, h, true)
	if err != nil || got != "tttt" {
		t.Errorf("got %q, %v", got, err)
	}
}
