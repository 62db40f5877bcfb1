package upstream

import (
	"bufio"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/valyala/fasthttp"
)

// statusHandler answers every request with code and the endpoint's name in a header.
func statusHandler(name string, code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Endpoint", name)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, name)
	}
}

func TestForwardRetry(t *testing.T) {
	tests := []struct {
		name         string
		firstCode    int
		retry        *config.Retry
		wantStatus   int
		wantBody     string
		wantAttempts int
	}{
		{name: "listed code retried on second endpoint", firstCode: 503,
			retry: &config.Retry{Attempts: 1}, wantStatus: 200, wantBody: "b", wantAttempts: 2},
		{name: "custom code retried", firstCode: 500,
			retry: &config.Retry{Attempts: 2, Codes: []int{500}}, wantStatus: 200, wantBody: "b", wantAttempts: 2},
		{name: "unlisted code not retried", firstCode: 500,
			retry: &config.Retry{Attempts: 1}, wantStatus: 500, wantBody: "a", wantAttempts: 1},
		{name: "no retry policy", firstCode: 503, wantStatus: 503, wantBody: "a", wantAttempts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := upstreamServer(t, statusHandler("a", tc.firstCode))
			b := upstreamServer(t, statusHandler("b", 200))
			p := newTestPool(t, static(a, b), nil)
			// Smooth round robin with equal weights starts on the first endpoint.
			ctx, res, err := forwardOnce(p, Options{Retry: tc.retry}, "POST", "/v1/x")
			if err != nil {
				t.Fatalf("Forward: %v", err)
			}
			body := string(finish(ctx))
			if res.Status != tc.wantStatus || body != tc.wantBody || res.Attempts != tc.wantAttempts {
				t.Fatalf("got status %d body %q attempts %d; want %d %q %d",
					res.Status, body, res.Attempts, tc.wantStatus, tc.wantBody, tc.wantAttempts)
			}
		})
	}
}

func TestForwardErrors(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
		w.WriteHeader(200)
	}
	tests := []struct {
		name       string
		endpoints  func(t *testing.T) []config.Endpoint
		opts       Options
		wantErr    int // StatusError status, 0 for success
		wantStatus int
		maxTime    time.Duration
	}{
		{name: "attempt timeout is 504",
			endpoints: func(t *testing.T) []config.Endpoint { return []config.Endpoint{upstreamServer(t, slow)} },
			opts:      Options{Timeouts: &config.Timeouts{BackendRequest: dur(100 * time.Millisecond)}},
			wantErr:   504, maxTime: time.Second},
		{name: "request timeout is 504",
			endpoints: func(t *testing.T) []config.Endpoint { return []config.Endpoint{upstreamServer(t, slow)} },
			opts:      Options{Timeouts: &config.Timeouts{Request: dur(100 * time.Millisecond)}},
			wantErr:   504, maxTime: time.Second},
		{name: "connection refused is 502",
			endpoints: func(t *testing.T) []config.Endpoint { return []config.Endpoint{refusedEndpoint(t)} },
			wantErr:   502, maxTime: time.Second},
		{name: "connection refused goes to next endpoint",
			endpoints: func(t *testing.T) []config.Endpoint {
				return []config.Endpoint{refusedEndpoint(t), upstreamServer(t, statusHandler("ok", 200))}
			},
			opts:       Options{Retry: &config.Retry{Attempts: 1, Codes: []int{599}}},
			wantStatus: 200, maxTime: time.Second},
		{name: "all endpoints unhealthy is 503",
			endpoints: func(t *testing.T) []config.Endpoint { return nil },
			wantErr:   503, maxTime: time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPool(t, static(tc.endpoints(t)...), nil)
			start := time.Now()
			ctx, res, err := forwardOnce(p, tc.opts, "GET", "/")
			elapsed := time.Since(start)
			if got := statusOf(err); got != tc.wantErr {
				t.Fatalf("error status %d (%v), want %d", got, err, tc.wantErr)
			}
			if err == nil {
				finish(ctx)
				if res.Status != tc.wantStatus {
					t.Fatalf("status %d, want %d", res.Status, tc.wantStatus)
				}
			} else if ctx.Response.StatusCode() != 200 || len(ctx.Response.Header.Peek("X-Endpoint")) != 0 {
				t.Fatalf("failed Forward wrote a response: %d", ctx.Response.StatusCode())
			}
			if elapsed > tc.maxTime {
				t.Fatalf("took %v, want under %v", elapsed, tc.maxTime)
			}
		})
	}
}

func TestForwardHeaders(t *testing.T) {
	var mu sync.Mutex
	var seen http.Header
	var seenHost string
	ep := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen, seenHost = r.Header.Clone(), r.Host
		mu.Unlock()
		w.Header().Set("Connection", "X-Internal")
		w.Header().Set("X-Internal", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Proxy-Authenticate", "Basic")
		w.Header().Set("X-Kept", "yes")
		_, _ = io.WriteString(w, "ok")
	})
	p := newTestPool(t, static(ep), nil)
	url, _ := frontend(t, p, Options{}, nil)

	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw := "GET /h HTTP/1.1\r\nHost: client.example\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n" +
		"Keep-Alive: timeout=5\r\nProxy-Authorization: Basic eA==\r\nTe: trailers\r\nUpgrade: foo\r\n" +
		"Proxy-Connection: keep-alive\r\nX-Forwarded-For: 203.0.113.9\r\nX-Kept: yes\r\n\r\n"
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(resp.Body)
	resp.Body.Close()

	mu.Lock()
	defer mu.Unlock()
	for _, h := range []string{"X-Secret", "Keep-Alive", "Proxy-Authorization", "Te", "Upgrade", "Proxy-Connection"} {
		if v := seen.Get(h); v != "" {
			t.Errorf("upstream got hop-by-hop %s: %q", h, v)
		}
	}
	if c := seen.Get("Connection"); c != "" && c != "keep-alive" {
		t.Errorf("upstream got Connection %q", c)
	}
	wantReq := map[string]string{"X-Forwarded-For": "203.0.113.9, 127.0.0.1", "X-Forwarded-Proto": "http",
		"X-Forwarded-Host": "client.example", "X-Kept": "yes"}
	for h, want := range wantReq {
		if got := seen.Get(h); got != want {
			t.Errorf("upstream %s = %q, want %q", h, got, want)
		}
	}
	if seenHost != "client.example" {
		t.Errorf("upstream Host = %q, want the client's", seenHost)
	}
	for _, h := range []string{"X-Internal", "Keep-Alive", "Proxy-Authenticate"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("client got hop-by-hop %s: %q", h, v)
		}
	}
	if resp.Header.Get("X-Kept") != "yes" {
		t.Errorf("client lost X-Kept: %v", resp.Header)
	}
}

func TestForwardStreamsSSE(t *testing.T) {
	ep := upstreamServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for i := range 3 {
			if i > 0 {
				time.Sleep(100 * time.Millisecond)
			}
			fmt.Fprintf(w, "data: event %d\n\n", i)
			f.Flush()
		}
	})
	p := newTestPool(t, static(ep), nil)
	// A short attempt timeout must not cut the stream: it bounds the headers only.
	url, _ := frontend(t, p, Options{Timeouts: &config.Timeouts{BackendRequest: dur(150 * time.Millisecond)}}, nil)

	start := time.Now()
	resp, err := http.Get(url + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var arrivals []time.Duration
	var all strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			arrivals = append(arrivals, time.Since(start))
			all.Write(buf[:n])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	if got := strings.Count(all.String(), "data: event"); got != 3 {
		t.Fatalf("got %d events: %q", got, all.String())
	}
	if len(arrivals) < 3 {
		t.Fatalf("events arrived in %d reads %v, want 3 separate reads", len(arrivals), arrivals)
	}
	if spread := arrivals[len(arrivals)-1] - arrivals[0]; spread < 150*time.Millisecond {
		t.Fatalf("arrivals %v spread %v: the stream was buffered", arrivals, spread)
	}
	if arrivals[0] > 150*time.Millisecond {
		t.Fatalf("first event after %v: not streamed", arrivals[0])
	}
}

func TestConnectionLimit(t *testing.T) {
	release := make(chan struct{})
	ep := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, "done")
	})
	s := static(ep)
	s.ConnectionPool.MaxConnections = 1
	p := newTestPool(t, s, nil)
	opts := Options{Timeouts: &config.Timeouts{BackendRequest: dur(2 * time.Second)}}

	first := make(chan error, 1)
	go func() {
		ctx, _, err := forwardOnce(p, opts, "GET", "/hold")
		if err == nil {
			finish(ctx)
		}
		first <- err
	}()
	testutil.Eventually(t, time.Second, func() bool { return p.Status()["b"][0].Active == 1 }, "first request in flight")

	start := time.Now()
	_, _, err := forwardOnce(p, Options{Timeouts: &config.Timeouts{BackendRequest: dur(150 * time.Millisecond)}}, "GET", "/wait")
	if got := statusOf(err); got != 503 {
		t.Fatalf("second request: status %d (%v), want 503", got, err)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Fatalf("second request failed after %v, want a wait for a free connection", waited)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first request: %v", err)
	}
	// The connection is free again and reused.
	ctx, res, err := forwardOnce(p, opts, "GET", "/again")
	if err != nil || res.Status != 200 || string(finish(ctx)) != "done" {
		t.Fatalf("after release: %v %d", err, res.Status)
	}
}

func TestForwardUnknownBackend(t *testing.T) {
	p := NewPool(t.Context(), nil, nil)
	defer p.Close()
	ctx := &fasthttp.RequestCtx{}
	if _, err := p.Forward(ctx, "nope", Options{}); statusOf(err) != 500 {
		t.Fatalf("err %v, want status 500", err)
	}
}

func TestForwardConcurrent(t *testing.T) {
	a := upstreamServer(t, statusHandler("a", 200))
	b := upstreamServer(t, statusHandler("b", 200))
	s := static(a, b)
	s.LoadBalancer.Type = config.LBLeastRequest
	p := newTestPool(t, s, nil)
	url, _ := frontend(t, p, Options{Retry: &config.Retry{Attempts: 1}}, nil)
	const n = 200
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := http.Post(fmt.Sprintf("%s/c/%d", url, i), "text/plain", strings.NewReader("body"))
			if err != nil {
				errs <- err
				return
			}
			_, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	testutil.Eventually(t, time.Second, func() bool {
		for _, e := range p.Status()["b"] {
			if e.Active != 0 {
				return false
			}
		}
		return true
	}, "active requests to return to zero")
}
