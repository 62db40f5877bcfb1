package ai

import (
	"github.com/switchyard-ai/switchyard/router/upstream"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

var benchBody = []byte(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello to the benchmark."}],"temperature":0.2,"max_tokens":64}`)

// BenchmarkPassthrough sends a chat request through Frontend.Serve to a
// fasthttp fake upstream on loopback.
func BenchmarkPassthrough(b *testing.B) {
	answer := []byte(`{"id":"x","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":2,"total_tokens":22}}`)
	fe := benchFrontend(b, "application/json", answer)
	benchChats(b, fe, Route{Key: "default.r.0.0", Refs: []config.BackendRef{{Name: "default/oa"}}})
}

// benchChats serves benchBody as chat requests through route, in parallel,
// each answered 200.
func benchChats(b *testing.B, fe *Frontend, route Route) {
	benchRequests(b, fe, route, "/v1/chat/completions")
}

// benchRequests serves benchBody as POSTs to path through route, in
// parallel, each answered 200, with the headers (name, value pairs).
func benchRequests(b *testing.B, fe *Frontend, route Route, path string, headers ...string) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.SetRequestURI(path)
			ctx.Request.Header.SetContentType("application/json")
			for i := 0; i+1 < len(headers); i += 2 {
				ctx.Request.Header.Set(headers[i], headers[i+1])
			}
			ctx.Request.SetBody(benchBody)
			fe.Serve(&ctx, route)
			_ = ctx.Response.Body() // a streamed body is read to its end, as the server writes it
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
}

// BenchmarkModelLookup measures the body check, model/stream lookup and
// candidate choice.
func BenchmarkModelLookup(b *testing.B) {
	fe, r := routingFrontend(b)
	var buf [maxInline]candidate
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ri, e := inspect(benchBody, schema.OpChat, 0)
		if e != nil {
			b.Fatal(e)
		}
		cs, _, _ := fe.rule(r).h.candidates(ri.model, upstream.Now(), buf[:])
		if len(cs) == 0 {
			b.Fatal("no candidate")
		}
	}
}

// bigBody returns a chat body of about n bytes (one long user message).
func bigBody(n int) []byte {
	pad := strings.Repeat("lorem ipsum dolor sit amet ", n/27+1)[:n]
	return []byte(`{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"` +
		pad + `"}],"temperature":0.2,"max_tokens":64}`)
}

// BenchmarkInspect measures the request-body check alone on bodies of 1, 32
// and 256 KB.
func BenchmarkInspect(b *testing.B) {
	for _, n := range []int{1 << 10, 32 << 10, 256 << 10} {
		body := bigBody(n)
		b.Run(strconv.Itoa(n>>10)+"KB", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, e := inspect(body, schema.OpChat, 0); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}

// BenchmarkCandidates10k measures the candidate choice on a route of 10,000
// backends, one model each, asking for the last model.
func BenchmarkCandidates10k(b *testing.B) {
	const n = 10000
	snap := &config.Snapshot{Backends: map[string]*config.Backend{}}
	refs := make([]config.BackendRef, n)
	for i := range n {
		name := "default/m" + strconv.Itoa(i)
		snap.Backends[name] = &config.Backend{AI: &config.AIBackend{Provider: "openai-compatible", BaseURL: "http://l",
			Models: []string{"model-" + strconv.Itoa(i)}}}
		refs[i] = config.BackendRef{Name: name}
	}
	fe, err := New(snap, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fe.Close)
	r := Route{Key: "default.r.0.0", Refs: refs}
	model := "model-" + strconv.Itoa(n-1)
	var buf [maxInline]candidate
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs, _, _ := fe.rule(r).h.candidates(model, upstream.Now(), buf[:])
		if len(cs) != 1 {
			b.Fatalf("%d candidates", len(cs))
		}
	}
}

// benchFrontend returns a Frontend whose backend default/oa (openai, model
// gpt-4o-mini) is a loopback fasthttp server answering every request with
// body as contentType.
func benchFrontend(b *testing.B, contentType string, body []byte) *Frontend {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType(contentType)
		ctx.SetBody(body)
	}}
	go func() { _ = up.Serve(ln) }()
	b.Cleanup(func() { _ = up.Shutdown() })
	snap := &config.Snapshot{Backends: map[string]*config.Backend{"default/oa": {AI: &config.AIBackend{
		Provider: "openai", BaseURL: "http://" + ln.Addr().String(), Models: []string{"gpt-4o-mini"},
		Auth: config.BackendAuth{APIKey: "k"}, Timeout: config.Duration(5 * time.Second)}}}}
	fe, err := New(snap, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fe.Close)
	return fe
}
