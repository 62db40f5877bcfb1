package ai

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
)

// poolAnswer is what the benchmarks' model server answers a chat request with.
var poolAnswer = []byte(`{"id":"x","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":2,"total_tokens":22}}`)

// BenchmarkPool sends a chat request through Frontend.Serve to an
// inferencePool (built-in picker) of one model server on loopback:
// http is a fasthttp server spoken to over HTTP/1.1, h2c a net/http server
// spoken to over HTTP/2 cleartext (appProtocol kubernetes.io/h2c).
func BenchmarkPool(b *testing.B) {
	b.Run("http", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) == "/metrics" {
				ctx.SetContentType("text/plain")
				return
			}
			ctx.SetContentType("application/json")
			ctx.SetBody(poolAnswer)
		}}
		go func() { _ = up.Serve(ln) }()
		b.Cleanup(func() { _ = up.Shutdown() })
		benchPool(b, &config.InferencePool{Endpoints: []string{ln.Addr().String()}, AppProtocol: config.AppProtocolHTTP,
			Timeout: config.Duration(5 * time.Second)})
	})
	b.Run("h2c", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		var protos http.Protocols
		protos.SetUnencryptedHTTP2(true)
		up := &http.Server{Protocols: &protos, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if r.URL.Path == "/metrics" {
				w.Header().Set("Content-Type", "text/plain")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(poolAnswer)
		})}
		go func() { _ = up.Serve(ln) }()
		b.Cleanup(func() { _ = up.Close() })
		benchPool(b, &config.InferencePool{Endpoints: []string{ln.Addr().String()}, AppProtocol: config.AppProtocolH2C,
			Timeout: config.Duration(5 * time.Second)})
	})
}

// BenchmarkPoolExternal sends requests with the headers of the OpenAI SDK
// through a pool of one fasthttp model server whose external picker is an
// in-process eppfake over loopback gRPC (client and picker in one process):
// chat is an OpenAI chat request, opaque a request to another path,
// forwarded as it is.
func BenchmarkPoolExternal(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/json")
		ctx.SetBody(poolAnswer)
	}}
	go func() { _ = up.Serve(ln) }()
	b.Cleanup(func() { _ = up.Shutdown() })
	addr := ln.Addr().String()
	epp := eppfake.Start(b, &eppfake.Picker{NoRecord: true, Choose: func(eppfake.Seen) eppfake.Answer {
		return eppfake.Answer{Endpoints: []string{addr}}
	}}, nil)
	pool := &config.InferencePool{Endpoints: []string{addr}, AppProtocol: config.AppProtocolHTTP, Timeout: config.Duration(5 * time.Second),
		EndpointPicker: &config.EndpointPicker{Address: epp, Timeout: config.Duration(5 * time.Second)}}
	snap := &config.Snapshot{Backends: map[string]*config.Backend{"default/pool": {Name: "default/pool", InferencePool: pool}}}
	fe, err := New(snap, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fe.Close)
	route := Route{Key: "default.pool.0.0", Refs: []config.BackendRef{{Name: "default/pool"}}}
	sdk := []string{"Host", "gateway.example.com", "User-Agent", "OpenAI/Python 1.99.0", "Accept", "application/json",
		"Authorization", "Bearer sk-client", "X-Stainless-Lang", "python", "X-Stainless-Package-Version", "1.99.0",
		"X-Stainless-Os", "Linux", "X-Stainless-Arch", "x64", "X-Stainless-Runtime", "CPython",
		"X-Stainless-Runtime-Version", "3.12.3", "X-Stainless-Retry-Count", "0", "X-Stainless-Read-Timeout", "600"}
	b.Run("chat", func(b *testing.B) { benchRequests(b, fe, route, "/v1/chat/completions", sdk...) })
	b.Run("opaque", func(b *testing.B) { benchRequests(b, fe, route, "/generate", sdk...) })
}

// benchPool serves chat requests through a route to pool.
func benchPool(b *testing.B, pool *config.InferencePool) {
	snap := &config.Snapshot{Backends: map[string]*config.Backend{"default/pool": {Name: "default/pool", InferencePool: pool}}}
	fe, err := New(snap, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fe.Close)
	benchChats(b, fe, Route{Key: "default.pool.0.0", Refs: []config.BackendRef{{Name: "default/pool"}}})
}
