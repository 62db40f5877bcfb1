package ai

import (
	"crypto/tls"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
)

// serveTLS runs fe for route r behind a TLS listener on loopback and returns
// its address and a client configuration that trusts it.
func serveTLS(t *testing.T, fe *Frontend, r Route) (string, *tls.Config) {
	t.Helper()
	ca := httptest.NewUnstartedServer(http.NotFoundHandler())
	ca.StartTLS() // only for its certificate and the pool that trusts it
	cert := ca.TLS.Certificates[0]
	roots := ca.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	ca.Close()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// No session tickets: a TLS 1.3 client that never reads would leave
	// them unread, and its close would then be a reset, not a FIN.
	ln := tls.NewListener(tcp, &tls.Config{Certificates: []tls.Certificate{cert}, SessionTicketsDisabled: true})
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { fe.Serve(ctx, r) }}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return tcp.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "example.com"}
}

// TestClientGoneTLSCloseNotify: a client on TLS that leaves while the
// upstream works on the first chunk sends a close_notify alert before (or
// instead of) its FIN; it is noticed all the same: Done runs with 499 and
// the upstream call is cancelled long before the upstream would answer.
func TestClientGoneTLSCloseNotify(t *testing.T) {
	tests := []struct {
		name    string
		version uint16
		leave   func(c *tls.Conn) error
	}{
		{name: "TLS 1.2 close_notify only", version: tls.VersionTLS12, leave: (*tls.Conn).CloseWrite},
		{name: "TLS 1.2 close", version: tls.VersionTLS12, leave: (*tls.Conn).Close},
		{name: "TLS 1.3 close", version: tls.VersionTLS13, leave: (*tls.Conn).Close},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newStallingUpstream(t, 0)
			h := newHarness(t, []backendSpec{{name: "oa", ai: streamBackend(up.URL, time.Minute)}}, Options{})
			addr, conf := serveTLS(t, h.fe, h.route)
			conf.MinVersion, conf.MaxVersion = tt.version, tt.version
			c, err := tls.Dial("tcp", addr, conf)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				len(streamChat), streamChat)
			time.Sleep(300 * time.Millisecond) // the gateway waits for the first chunk
			start := time.Now()
			if err := tt.leave(c); err != nil {
				t.Fatal(err)
			}
			d := h.rec.next(t)
			if d.x.Status != statusClientClosed {
				t.Errorf("done status = %d, want %d", d.x.Status, statusClientClosed)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Errorf("noticed after %v", el)
			}
			testutil.Eventually(t, 3*time.Second, func() bool { return up.cancelled.Load() == 1 }, "the upstream call was not cancelled")
		})
	}
}

// TestClientGoneDuringRetryBackoff: a client that leaves while the route's
// retry policy waits before another pass is noticed during the wait: the
// upstream is not called again and Done runs with 499 at once.
func TestClientGoneDuringRetryBackoff(t *testing.T) {
	up, calls := flakyUpstream(t, 100, 503)
	snap := &config.Snapshot{Backends: map[string]*config.Backend{
		"default/up": {Name: "default/up", AI: &config.AIBackend{Provider: config.ProviderOpenAICompatible, BaseURL: up.URL}},
	}}
	rec := newRecorder()
	fe, err := New(snap, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fe.Close)
	addr := serveRoute(t, fe, Route{Key: "default.retry.0.0", Refs: []config.BackendRef{{Name: "default/up"}},
		Retry: &config.Retry{Attempts: 2, Backoff: config.Duration(3 * time.Second)}, Policies: []policies.Policy{rec}})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(body), body)
	testutil.Eventually(t, 3*time.Second, func() bool { return calls.Load() == 1 }, "the upstream was not called")
	time.Sleep(200 * time.Millisecond) // in the backoff now
	start := time.Now()
	_ = c.Close()
	d := rec.next(t)
	if d.x.Status != statusClientClosed {
		t.Errorf("done status = %d, want %d", d.x.Status, statusClientClosed)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("noticed after %v, want within a probe interval or so", el)
	}
	time.Sleep(3 * time.Second) // past the backoff
	if n := calls.Load(); n != 1 {
		t.Errorf("upstream calls = %d, want 1", n)
	}
}
