package upstream

import (
	"context"
	"net"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// BenchmarkForward measures a full proxy hop: a fasthttp client calls a fasthttp
// server whose handler forwards with Pool.Forward to a fasthttp upstream, all over
// in-memory listeners.
func BenchmarkForward(b *testing.B) {
	upLn := fasthttputil.NewInmemoryListener()
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"ok":true}`) }}
	go func() { _ = up.Serve(upLn) }()
	defer func() { _ = up.Shutdown() }()

	s := static(config.Endpoint{Host: "upstream.test", Port: 80, Weight: 1})
	p := NewPool(context.Background(), map[string]*config.Backend{"b": {Static: s}}, nil)
	defer p.Close()
	// Route the endpoint's client to the in-memory listener.
	st := p.backends["b"].members[0].st
	st.client.Dial = func(string) (net.Conn, error) {
		c, err := upLn.Dial()
		if err != nil {
			return nil, err
		}
		return st.conns.add(c), nil
	}

	frontLn := fasthttputil.NewInmemoryListener()
	opts := Options{Retry: &config.Retry{Attempts: 1}}
	front := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if _, err := p.Forward(ctx, "b", opts); err != nil {
			ctx.Error(err.Error(), statusOf(err))
		}
	}}
	go func() { _ = front.Serve(frontLn) }()
	defer func() { _ = front.Shutdown() }()
	client := &fasthttp.HostClient{Addr: "front.test", Dial: func(string) (net.Conn, error) { return frontLn.Dial() }}

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://front.test/v1/chat/completions")
		req.Header.SetMethod(fasthttp.MethodPost)
		req.SetBodyString(`{"model":"m","messages":[]}`)
		for pb.Next() {
			if err := client.Do(req, resp); err != nil {
				b.Fatal(err)
			}
			if resp.StatusCode() != 200 {
				b.Fatalf("status %d", resp.StatusCode())
			}
		}
	})
}
