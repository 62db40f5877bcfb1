package ai

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
)

// flakyUpstream answers status for its first failures calls, then a chat completion.
func flakyUpstream(t *testing.T, failures int64, status int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if n <= failures {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":{"message":"busy","type":"server_error"}}`))
			return
		}
		_, _ = w.Write([]byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,` +
			`"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// serveRoute runs fe behind a loopback fasthttp server for one route.
func serveRoute(t *testing.T, fe *Frontend, r Route) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { fe.Serve(ctx, r) }}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

func TestRouteRetryPasses(t *testing.T) {
	tests := []struct {
		name       string
		failures   int64
		status     int
		retry      *config.Retry
		wantStatus int
		wantCalls  int64
	}{
		{name: "no retry policy: one pass", failures: 1, status: 503, wantStatus: 503, wantCalls: 1},
		{name: "second pass succeeds", failures: 1, status: 503,
			retry: &config.Retry{Attempts: 1, Backoff: config.Duration(time.Millisecond)}, wantStatus: 200, wantCalls: 2},
		{name: "attempts bound the passes", failures: 5, status: 502,
			retry: &config.Retry{Attempts: 1, Backoff: config.Duration(time.Millisecond)}, wantStatus: 502, wantCalls: 2},
		{name: "status not in codes is not retried", failures: 1, status: 503,
			retry: &config.Retry{Attempts: 2, Backoff: config.Duration(time.Millisecond), Codes: []int{500}}, wantStatus: 503, wantCalls: 1},
		{name: "429 is not in the default codes", failures: 1, status: 429,
			retry: &config.Retry{Attempts: 2, Backoff: config.Duration(time.Millisecond)}, wantStatus: 429, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, calls := flakyUpstream(t, tt.failures, tt.status)
			snap := &config.Snapshot{Backends: map[string]*config.Backend{
				"default/up": {Name: "default/up", AI: &config.AIBackend{Provider: config.ProviderOpenAICompatible, BaseURL: up.URL}},
			}}
			fe, err := New(snap, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(fe.Close)
			addr := serveRoute(t, fe, Route{Key: "default.retry.0.0", Refs: []config.BackendRef{{Name: "default/up"}}, Retry: tt.retry})
			status, _, body := fasthttpPost(t, "http://"+addr+"/v1/chat/completions",
				`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Fatalf("upstream calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func fasthttpPost(t *testing.T, url, body string) (int, *fasthttp.ResponseHeader, []byte) {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	h := new(fasthttp.ResponseHeader)
	resp.Header.CopyTo(h)
	return resp.StatusCode(), h, append([]byte(nil), resp.Body()...)
}
