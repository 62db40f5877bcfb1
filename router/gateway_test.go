package router

import (
	"bufio"
	"context"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/router/ai"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
)

func loadSnap(t *testing.T, yaml string) *config.Snapshot {
	t.Helper()
	snap, err := config.LoadBytes("test.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// aiGateway runs a Gateway with the AI front end and the process-wide
// policies ps, logging to log, on the configuration cfg formatted with a free
// port first and then args; it returns the gateway and its address. The
// gateway shuts down when the test ends.
func aiGateway(t *testing.T, log *slog.Logger, ps []policies.Policy, cfg string, args ...any) (*Gateway, string) {
	t.Helper()
	g := New(Options{Log: log, Handlers: []HandlerFactory{ai.NewFactory(ai.Options{Log: log})}, Policies: ps})
	port := testutil.FreePort(t)
	if err := g.Apply(loadSnap(t, fmt.Sprintf(cfg, append([]any{port}, args...)...))); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	return g, fmt.Sprintf("127.0.0.1:%d", port)
}

func newTestGateway(t *testing.T) *Gateway {
	t.Helper()
	g := New(Options{Log: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	return g
}

const redirectCfg = `
server: {drainTimeout: 1s}
listeners: [{name: web, address: %s, port: %d}]
routes:
  - name: r
    rules: [{filters: [{type: RequestRedirect, requestRedirect: {hostname: %s, statusCode: 301}}]}]
`

// getLocation asks addr for / and returns the redirect's Location.
func getLocation(t *testing.T, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Header.Get("Location")
}

// TestApplyRebindsPortWhenAddressChanges: a reload that moves a port from one
// address to an overlapping one (127.0.0.1 -> 0.0.0.0) must take the port
// over instead of failing with "address already in use" forever.
func TestApplyRebindsPortWhenAddressChanges(t *testing.T) {
	g := newTestGateway(t)
	port := testutil.FreePort(t)
	if err := g.Apply(loadSnap(t, fmt.Sprintf(redirectCfg, "127.0.0.1", port, "one.example"))); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if loc := getLocation(t, addr); !strings.Contains(loc, "one.example") {
		t.Fatalf("Location = %q", loc)
	}
	if err := g.Apply(loadSnap(t, fmt.Sprintf(redirectCfg, "0.0.0.0", port, "two.example"))); err != nil {
		t.Fatalf("reload with a new address on the same port: %v", err)
	}
	if loc := getLocation(t, addr); !strings.Contains(loc, "two.example") {
		t.Fatalf("Location = %q after the reload", loc)
	}
	g.mu.Lock()
	n := len(g.listeners)
	g.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d listeners bound, want 1", n)
	}
}

// TestApplyRestoresPortWhenRebindFails: when taking a port over fails (here a
// second, new port is taken by someone else), the running listener is bound again.
func TestApplyRestoresPortWhenRebindFails(t *testing.T) {
	g := newTestGateway(t)
	port := testutil.FreePort(t)
	if err := g.Apply(loadSnap(t, fmt.Sprintf(redirectCfg, "127.0.0.1", port, "one.example"))); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	cfg := fmt.Sprintf(`
listeners: [{name: web, address: 0.0.0.0, port: %d}, {name: other, address: 127.0.0.1, port: %d}]
routes:
  - name: r
    rules: [{filters: [{type: RequestRedirect, requestRedirect: {hostname: two.example}}]}]
`, port, busyPort)
	if err := g.Apply(loadSnap(t, cfg)); err == nil {
		t.Fatal("Apply succeeded on a busy port")
	}
	if loc := getLocation(t, fmt.Sprintf("127.0.0.1:%d", port)); !strings.Contains(loc, "one.example") {
		t.Fatalf("Location = %q after a failed reload", loc)
	}
}

// TestShutdownBeforeServeStarts: a listener shut down before its Serve
// goroutine ran must not go on serving.
func TestShutdownBeforeServeStarts(t *testing.T) {
	g := newTestGateway(t)
	port := testutil.FreePort(t)
	l, err := g.bind(config.Bind{Address: "127.0.0.1", Port: port, Protocol: config.ProtocolHTTP}, config.Server{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	go l.serve()
	select {
	case <-l.done:
	case <-time.After(2 * time.Second):
		t.Fatal("Serve runs on after shutdown")
	}
}

// parseRaw parses a raw request the way the server does.
func parseRaw(t *testing.T, raw string) *fasthttp.RequestCtx {
	t.Helper()
	ctx := &fasthttp.RequestCtx{}
	if err := ctx.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		t.Fatalf("fasthttp refused %q: %v", raw, err)
	}
	return ctx
}

func TestCheckFramingRefuses(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want int
	}{
		{"header name with inner space", "GET / HTTP/1.1\r\nHost: a\r\nX Test: 1\r\n\r\n", 400},
		{"Host with userinfo", "GET / HTTP/1.1\r\nHost: user:pw@a.example\r\n\r\n", 400},
		{"Host with backslash", "GET / HTTP/1.1\r\nHost: a.example\\evil\r\n\r\n", 400},
		{"Host with space", "GET / HTTP/1.1\r\nHost: a .example\r\n\r\n", 400},
		{"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
		{"HTTP/0.9 request line", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
		{"valid request", "GET / HTTP/1.1\r\nHost: a.example:8080\r\nX-Ok: 1\r\n\r\n", 0},
		{"valid IPv6 Host", "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 0},
		{"HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", 0},
		{"HTTP/1.2 served as 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := checkFraming(parseRaw(t, tt.raw), nil)
			if got != tt.want {
				t.Fatalf("checkFraming = %d (%s), want %d", got, msg, tt.want)
			}
		})
	}
}

func BenchmarkCheckFraming(b *testing.B) {
	raw := "POST /v1/chat/completions HTTP/1.1\r\nHost: api.example.com:8080\r\nContent-Type: application/json\r\n" +
		"Authorization: Bearer x\r\nUser-Agent: bench\r\nAccept: */*\r\nX-Request-Id: abc\r\nContent-Length: 2\r\n\r\n{}"
	ctx := &fasthttp.RequestCtx{}
	if err := ctx.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if s, msg := checkFraming(ctx, nil); s != 0 {
			b.Fatal(msg)
		}
	}
}
