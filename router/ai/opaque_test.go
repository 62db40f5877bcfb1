package ai

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/policies"
)

// seenRequest is one request as an opaqueServer received it.
type seenRequest struct {
	method, uri, proto, host string
	header                   http.Header
	body                     string
}

// opaqueServer is a model server's HTTP side that is not the OpenAI API (an
// echo server, as the conformance suite's pods run): it records what it
// receives and answers by path.
type opaqueServer struct {
	addr    string
	release chan struct{} // /stream sends its second line once this closes
	mu      sync.Mutex
	reqs    []seenRequest
}

// newOpaqueServer serves on loopback over HTTP/1.1, or only h2c.
func newOpaqueServer(t testing.TB, h2c bool) *opaqueServer {
	t.Helper()
	o := &opaqueServer{release: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(o.serve), ReadHeaderTimeout: 5 * time.Second}
	if h2c {
		var protos http.Protocols
		protos.SetUnencryptedHTTP2(true)
		srv.Protocols = &protos
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	o.addr = ln.Addr().String()
	return o
}

func (o *opaqueServer) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	o.mu.Lock()
	o.reqs = append(o.reqs, seenRequest{method: r.Method, uri: r.RequestURI, proto: r.Proto, host: r.Host, header: r.Header.Clone(), body: string(b)})
	o.mu.Unlock()
	switch r.URL.Path {
	case "/stream":
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-o.release:
		case <-time.After(5 * time.Second):
		}
		fmt.Fprint(w, "second\n")
	case "/status/503":
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "busy")
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Echo", "yes")
		// Headers the gateway sets itself: the client must get the
		// gateway's only.
		w.Header().Set("X-Request-Id", "upstream-id")
		w.Header().Set(HeaderBackend, "spoofed")
		w.Header().Set(HeaderServed, "10.0.0.2:1")
		w.Header().Set("X-Picker-Served", "spoofed")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "echo:%s", b)
	}
}

func (o *opaqueServer) last(t *testing.T) seenRequest {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.reqs) == 0 {
		t.Fatal("the endpoint received nothing")
	}
	return o.reqs[len(o.reqs)-1]
}

// opaquePool is a pool of endpoints with an external picker.
func opaquePool(picker string, h2c bool, endpoints ...string) *config.InferencePool {
	p := &config.InferencePool{Endpoints: endpoints, AppProtocol: config.AppProtocolHTTP,
		EndpointPicker: &config.EndpointPicker{Address: picker, FailureMode: config.FailClose, Timeout: config.Duration(2 * time.Second)},
		Timeout:        config.Duration(2 * time.Second)}
	if h2c {
		p.AppProtocol = config.AppProtocolH2C
	}
	return p
}

// send sends a raw request to the harness with headers (name, value pairs).
func (h *harness) send(t *testing.T, method, path, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+h.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestPoolOpaque: on a rule with an inferencePool, a request that is not an
// OpenAI operation goes to the picker and to the endpoint it chose as it
// is (method, path, query, headers, body; over HTTP/1.1 and h2c), and the
// answer comes back as it is (status, headers, body), with the served
// endpoint and the picker's response headers. Credentials and hop-by-hop
// headers are not told to the picker.
func TestPoolOpaque(t *testing.T) {
	for _, proto := range []struct {
		name string
		h2c  bool
		want string
	}{{"http", false, "HTTP/1.1"}, {"h2c", true, "HTTP/2.0"}} {
		t.Run(proto.name, func(t *testing.T) {
			o := newOpaqueServer(t, proto.h2c)
			fake := &eppfake.Picker{Pool: []string{o.addr}}
			h := newHarness(t, []backendSpec{{name: "pool", pool: opaquePool(eppfake.Start(t, fake, nil), proto.h2c, o.addr)}}, Options{})

			tests := []struct {
				name, method, path, body string
				status                   int
				respBody                 string
				respHeader               [2]string
			}{
				{name: "post with a query", method: "POST", path: "/destination-endpoint-served-test?a=1&b=two", body: "not json at all",
					status: 201, respBody: "echo:not json at all", respHeader: [2]string{"X-Echo", "yes"}},
				{name: "get without a body", method: "GET", path: "/health", status: 201, respBody: "echo:", respHeader: [2]string{"X-Echo", "yes"}},
				{name: "other /v1 paths", method: "PUT", path: "/v1/responses/abc", body: "{}", status: 201, respBody: "echo:{}",
					respHeader: [2]string{"X-Echo", "yes"}},
				{name: "an error status is relayed as it is", method: "POST", path: "/status/503", body: "x", status: 503, respBody: "busy",
					respHeader: [2]string{"Retry-After", "3"}},
				// The endpoint's Content-Length for GET /health ("echo:"), no body.
				{name: "head", method: "HEAD", path: "/health", status: 201, respHeader: [2]string{"Content-Length", "5"}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					resp, body := h.send(t, tt.method, tt.path, tt.body, "Content-Type", "text/plain", "X-Custom", "v1",
						eppfake.HeaderTestSelection, o.addr, "Authorization", "Bearer client", "Cookie", "c=1", "Te", "trailers",
						"Connection", "keep-alive, X-Hop", "X-Hop", "this connection's only")
					if resp.StatusCode != tt.status || body != tt.respBody {
						t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.respBody)
					}
					if got := resp.Header.Get(tt.respHeader[0]); got != tt.respHeader[1] {
						t.Errorf("response header %s = %q, want %q", tt.respHeader[0], got, tt.respHeader[1])
					}
					for k, want := range map[string]string{HeaderServed: o.addr, eppfake.HeaderTestServed: o.addr, "x-picker-served": "seen",
						HeaderBackend: "default/pool", "X-Request-Id": "req-test"} {
						if got := resp.Header.Values(k); len(got) != 1 || got[0] != want {
							t.Errorf("response header %s = %q, want only %q", k, got, want)
						}
					}
					got := o.last(t)
					if got.method != tt.method || got.uri != tt.path || got.body != tt.body || got.proto != proto.want || got.host != h.addr {
						t.Errorf("endpoint got %s %s %s host %s body %q, want %s %s %s host %s body %q", got.method, got.uri, got.proto,
							got.host, got.body, tt.method, tt.path, proto.want, h.addr, tt.body)
					}
					for k, want := range map[string]string{"X-Custom": "v1", "Authorization": "Bearer client", "Cookie": "c=1",
						"X-Request-Id": "req-test", "Te": "", "X-Hop": ""} {
						if v := got.header.Get(k); v != want {
							t.Errorf("endpoint header %s = %q, want %q", k, v, want)
						}
					}
					seen := fake.Seen()
					ps := seen[len(seen)-1]
					for k, want := range map[string]string{":method": tt.method, ":path": tt.path, ":authority": h.addr, "x-custom": "v1",
						"content-type": "text/plain", eppfake.HeaderTestSelection: o.addr, "x-request-id": "req-test"} {
						if v := ps.Headers[k]; v != want {
							t.Errorf("picker header %s = %q, want %q", k, v, want)
						}
					}
					for _, k := range []string{"authorization", "cookie", "te"} {
						if v, ok := ps.Headers[k]; ok {
							t.Errorf("the picker was told %s: %q", k, v)
						}
					}
					if string(ps.Body) != tt.body {
						t.Errorf("picker body %q, want %q", ps.Body, tt.body)
					}
					if d := h.rec.next(t); d.x.Status != tt.status || d.x.Endpoint != o.addr || d.x.Model != "" {
						t.Errorf("settled status %d endpoint %q model %q", d.x.Status, d.x.Endpoint, d.x.Model)
					}
				})
			}
			t.Run("streamed as it comes", func(t *testing.T) {
				req, _ := http.NewRequest("GET", "http://"+h.addr+"/stream", nil)
				resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				r := bufio.NewReader(resp.Body)
				first, err := r.ReadString('\n')
				if err != nil || first != "first\n" {
					t.Fatalf("first line %q, %v: the answer was not streamed", first, err)
				}
				close(o.release) // the second line exists only once the first reached the client
				rest, _ := io.ReadAll(r)
				if string(rest) != "second\n" || resp.StatusCode != 200 || resp.Header.Get(HeaderServed) != o.addr {
					t.Fatalf("%d %q served by %q", resp.StatusCode, rest, resp.Header.Get(HeaderServed))
				}
			})
		})
	}
}

// TestPoolOpaqueFailures: a picker's answer for the pool reaches the client
// as the picker gave it; a refused connection moves to the picker's next
// endpoint; a body larger than the front end's bound is refused; a rule
// without a pool still answers 404 to what is not an OpenAI operation.
func TestPoolOpaqueFailures(t *testing.T) {
	o := newOpaqueServer(t, false)
	dead := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	fake := &eppfake.Picker{Choose: func(s eppfake.Seen) eppfake.Answer {
		if s.Headers["x-shed"] != "" {
			return eppfake.Answer{Immediate: 429, ImmediateBody: "shed by the picker"}
		}
		return eppfake.Answer{Endpoints: []string{dead, o.addr}}
	}}
	h := newHarness(t, []backendSpec{{name: "pool", pool: opaquePool(eppfake.Start(t, fake, nil), false, dead, o.addr)}},
		Options{MaxBodyBytes: 64})
	tests := []struct {
		name     string
		h        *harness
		body     string
		headers  []string
		status   int
		respBody string
	}{
		{name: "immediate answer", h: h, headers: []string{"x-shed", "1"}, status: 429, respBody: "shed by the picker"},
		{name: "next endpoint after a refused connection", h: h, body: "x", status: 201, respBody: "echo:x"},
		{name: "body too large", h: h, body: strings.Repeat("x", 65), status: 413},
		{name: "no pool in the rule", h: newHarness(t, []backendSpec{{name: "ai", ai: config.AIBackend{Provider: config.ProviderOpenAICompatible,
			BaseURL: "http://" + o.addr}}}, Options{}), status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := tt.h.send(t, "POST", "/anything", tt.body, tt.headers...)
			if resp.StatusCode != tt.status || tt.respBody != "" && body != tt.respBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body, tt.status, tt.respBody)
			}
		})
	}
}

// TestPickerHeaders: for an OpenAI request the picker is told every client
// header (lower-cased) but credentials and hop-by-hop ones, the body's
// content type, and the gateway's request id instead of the client's.
func TestPickerHeaders(t *testing.T) {
	o := newOpaqueServer(t, false)
	fake := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Endpoints: []string{o.addr}} }}
	h := newHarness(t, []backendSpec{{name: "pool", pool: opaquePool(eppfake.Start(t, fake, nil), false, o.addr)}}, Options{})
	h.send(t, "POST", "/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		"Content-Type", "application/json; charset=utf-8", "X-Gateway-Inference-Objective", "critical", "User-Agent", "sdk/1",
		eppfake.HeaderTestSelection, o.addr, "Authorization", "Bearer k", "X-Api-Key", "k", "Api-Key", "k", "Cookie", "c=1",
		"Proxy-Authorization", "Basic x", "X-Request-Id", "client-id", "Keep-Alive", "timeout=5", "Te", "trailers",
		"X-Goog-Api-Key", "k", "Connection", "keep-alive, X-Hop", "X-Hop", "this connection's only")
	seen := fake.Seen()
	if len(seen) != 1 {
		t.Fatalf("the picker saw %d requests", len(seen))
	}
	got := seen[0].Headers
	for k, want := range map[string]string{":method": "POST", ":path": "/v1/chat/completions", "content-type": "application/json",
		"x-gateway-inference-objective": "critical", "user-agent": "sdk/1", eppfake.HeaderTestSelection: o.addr,
		"x-request-id": "req-test", ":authority": h.addr} {
		if got[k] != want {
			t.Errorf("picker header %s = %q, want %q", k, got[k], want)
		}
	}
	for _, k := range []string{"authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie", "proxy-authorization", "keep-alive",
		"te", "host", "x-hop"} {
		if v, ok := got[k]; ok {
			t.Errorf("the picker was told %s: %q", k, v)
		}
	}
	for k := range got {
		if k != strings.ToLower(k) {
			t.Errorf("header name %q is not lower case", k)
		}
	}
}

// consumedCredential is a client-auth stand-in: it consumed the client's key.
type consumedCredential struct{}

func (consumedCredential) Request(_ context.Context, x *policies.Exchange) (policies.Reservation, error) {
	x.Credential = true
	return nil, nil
}

// TestPoolOpaqueConsumedCredential: when the route's client auth consumed
// the client's Authorization or x-api-key, that key (the gateway's own)
// does not reach the model server, over HTTP/1.1 and h2c.
func TestPoolOpaqueConsumedCredential(t *testing.T) {
	for _, h2c := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2c %v", h2c), func(t *testing.T) {
			o := newOpaqueServer(t, h2c)
			h := newHarness(t, []backendSpec{{name: "pool", pool: opaquePool(eppfake.Start(t, &eppfake.Picker{Pool: []string{o.addr}}, nil),
				h2c, o.addr)}}, Options{})
			h.route.Policies = append(h.route.Policies, consumedCredential{})
			resp, body := h.send(t, "POST", "/generate", "x", "Authorization", "Bearer gateway-key", "X-Api-Key", "gateway-key",
				"X-Other", "kept")
			if resp.StatusCode != 201 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			got := o.last(t).header
			if got.Get("Authorization") != "" || got.Get("X-Api-Key") != "" || got.Get("X-Other") != "kept" {
				t.Errorf("the endpoint got Authorization %q, X-Api-Key %q, X-Other %q", got.Get("Authorization"), got.Get("X-Api-Key"),
					got.Get("X-Other"))
			}
		})
	}
}

// TestPoolOpaqueStreamDeadline: the route's request timeout bounds a
// streamed opaque answer that stalls: the client gets what came, then the
// stream ends, long before the server would have gone on.
func TestPoolOpaqueStreamDeadline(t *testing.T) {
	o := newOpaqueServer(t, false)
	h := newHarness(t, []backendSpec{{name: "pool", pool: opaquePool(eppfake.Start(t, &eppfake.Picker{Pool: []string{o.addr}}, nil),
		false, o.addr)}}, Options{}, &config.Timeouts{Request: config.Duration(300 * time.Millisecond)})
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + h.addr + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if string(got) != "first\n" { // the server sends its second line after 5 s
		t.Fatalf("got %q, want the first line only, cut at the 300ms deadline", got)
	}
}

// TestPoolOpaqueImmediateOfLaterPool: when a pool's picker answered for its
// pool and the next pool then failed with the same status, the client gets
// the gateway's error, not the first picker's answer.
func TestPoolOpaqueImmediateOfLaterPool(t *testing.T) {
	dead := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	a := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer {
		return eppfake.Answer{Immediate: 502, ImmediateBody: "pool A's picker says no"}
	}}
	b := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Endpoints: []string{dead}} }}
	h := newHarness(t, []backendSpec{
		{name: "a", pool: opaquePool(eppfake.Start(t, a, nil), false, "127.0.0.1:1")},
		{name: "b", priority: 1, pool: opaquePool(eppfake.Start(t, b, nil), false, dead)},
	}, Options{})
	resp, body := h.send(t, "POST", "/anything", "x")
	if resp.StatusCode != 502 || strings.Contains(body, "pool A") || len(b.Seen()) != 1 {
		t.Fatalf("got %d %q (pool B's picker asked %d times), want the gateway's 502 after pool B failed", resp.StatusCode, body, len(b.Seen()))
	}
}
