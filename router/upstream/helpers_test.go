package upstream

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/valyala/fasthttp"
)

// upstreamServer starts a net/http server on loopback and returns its endpoint.
func upstreamServer(t testing.TB, h http.HandlerFunc) config.Endpoint {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return endpointOf(t, srv.Listener.Addr().String())
}

func endpointOf(t testing.TB, addr string) config.Endpoint {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("split %q: %v", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatalf("port %q: %v", port, err)
	}
	return config.Endpoint{Host: host, Port: p, Weight: 1}
}

// refusedEndpoint returns a loopback endpoint nothing listens on.
func refusedEndpoint(t testing.TB) config.Endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := endpointOf(t, ln.Addr().String())
	_ = ln.Close()
	return ep
}

func static(eps ...config.Endpoint) *config.StaticBackend {
	return &config.StaticBackend{Endpoints: eps, LoadBalancer: config.LoadBalancer{Type: config.LBRoundRobin}}
}

// newTestPool builds a Pool with one static backend named "b" (and any extra ones).
func newTestPool(t testing.TB, s *config.StaticBackend, extra map[string]*config.StaticBackend) *Pool {
	t.Helper()
	backends := map[string]*config.Backend{"b": {Name: "default/b", Static: s}}
	for k, v := range extra {
		backends[k] = &config.Backend{Name: k, Static: v}
	}
	p := NewPool(context.Background(), backends, nil)
	t.Cleanup(p.Close)
	return p
}

// frontend starts a fasthttp server on loopback whose handler forwards with p
// (after running before, when set) and writes a StatusError's status.
func frontend(t testing.TB, p *Pool, opts Options, before func(*fasthttp.RequestCtx)) (url string, results chan Result) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	results = make(chan Result, 1024)
	srv := &fasthttp.Server{
		// Bounded so that Shutdown does not wait for clients' idle or unused connections.
		IdleTimeout: 500 * time.Millisecond,
		ReadTimeout: 5 * time.Second,
		Handler: func(ctx *fasthttp.RequestCtx) {
			if before != nil {
				before(ctx)
			}
			res, err := p.Forward(ctx, "b", opts)
			select {
			case results <- res:
			default:
			}
			if err != nil {
				var se *StatusError
				if !errors.As(err, &se) {
					se = &StatusError{Status: 599}
				}
				ctx.Response.Reset()
				ctx.SetStatusCode(se.Status)
				ctx.SetBodyString(err.Error())
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.ShutdownWithContext(ctx)
	})
	return "http://" + ln.Addr().String(), results
}

// forwardOnce runs Forward for one in-memory request ctx.
func forwardOnce(p *Pool, opts Options, method, uri string) (*fasthttp.RequestCtx, Result, error) {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.SetHost("client.test")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4000}, nil)
	res, err := p.Forward(ctx, "b", opts)
	return ctx, res, err
}

// finish reads and closes a forwarded response body like the server would.
func finish(ctx *fasthttp.RequestCtx) []byte {
	body := ctx.Response.Body() // reads and closes the stream
	ctx.Response.Reset()
	return body
}

func statusOf(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

func dur(d time.Duration) config.Duration { return config.Duration(d) }
