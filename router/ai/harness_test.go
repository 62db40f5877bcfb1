package ai

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/engine"
	"github.com/switchyard-ai/switchyard/router/route"
)

// recorder is a policy that records Done calls.
type recorder struct {
	mu   sync.Mutex
	done []done
	ch   chan done
}

type done struct {
	x policies.Exchange
	u schema.Usage
}

func newRecorder() *recorder { return &recorder{ch: make(chan done, 1024)} }

func (r *recorder) Request(context.Context, *policies.Exchange) (policies.Reservation, error) {
	return r, nil
}

func (r *recorder) Settle(_ context.Context, x *policies.Exchange, u schema.Usage) {
	r.mu.Lock()
	r.done = append(r.done, done{x: *x, u: u})
	r.mu.Unlock()
	r.ch <- done{x: *x, u: u}
}

// next waits for the next Done call.
func (r *recorder) next(t *testing.T) done {
	t.Helper()
	select {
	case d := <-r.ch:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("the exchange was not settled")
		return done{}
	}
}

// Route is a test rule: the rule key, its refs, timeouts, retry and the
// policies of its chain.
type Route struct {
	Key      string
	Refs     []config.BackendRef
	Timeouts *config.Timeouts
	Retry    *config.Retry
	Policies []policies.Policy
}

// testRule is a Route compiled into its handler and chain.
type testRule struct {
	h     *ruleHandler
	chain *policies.Chain
}

// rules caches compiled test rules by Frontend and route key, so that a
// benchmark does not compile its rule per request.
var rules sync.Map // ruleID -> *testRule

type ruleID struct {
	f   *Frontend
	key string
}

func (f *Frontend) rule(r Route) *testRule {
	if v, ok := rules.Load(ruleID{f, r.Key}); ok {
		return v.(*testRule)
	}
	tr := &testRule{h: f.newRuleHandler(&route.Rule{Key: r.Key, Config: &config.RouteRule{BackendRefs: r.Refs,
		Timeouts: r.Timeouts, Retry: r.Retry}})}
	if len(r.Policies) > 0 {
		tr.chain = policies.NewChain(r.Policies...)
	}
	v, _ := rules.LoadOrStore(ruleID{f, r.Key}, tr)
	return v.(*testRule)
}

// Serve serves one request through rule r as the router does: an Exchange
// through engine.Run, finished when the handler returns or, for a stream,
// when its body closes.
func (f *Frontend) Serve(ctx *fasthttp.RequestCtx, r Route) {
	tr := f.rule(r)
	id, _ := ctx.UserValue("request_id").(string)
	ex := engine.Acquire(ctx, id, time.Now(), f.log)
	ex.Chain = tr.chain
	ex.X.RouteKey, ex.X.RuleKey = r.Key, r.Key
	if r.Timeouts != nil && r.Timeouts.Request > 0 {
		ex.SetDeadline(ex.X.Start.Add(r.Timeouts.Request.D()))
	}
	engine.Run(ex, nil, tr.h)
	if ex.Detached() {
		return // the stream body ends and releases the exchange
	}
	ex.Finish(ex.Usage)
	engine.Release(ex)
}

// backendSpec is one AI backend of a test route.
type backendSpec struct {
	name     string
	ai       config.AIBackend
	priority int
	weight   *int
	// pool, when set, makes the backend an inferencePool (ai is ignored).
	pool *config.InferencePool
}

// harness runs a Frontend behind a real fasthttp server on loopback.
type harness struct {
	fe    *Frontend
	rec   *recorder
	route Route
	addr  string
}

func newHarness(t testing.TB, specs []backendSpec, opts Options, timeouts ...*config.Timeouts) *harness {
	t.Helper()
	snap := &config.Snapshot{Backends: map[string]*config.Backend{}}
	var refs []config.BackendRef
	for _, s := range specs {
		ai := s.ai
		snap.Backends["default/"+s.name] = &config.Backend{Name: "default/" + s.name, AI: &ai}
		if s.pool != nil {
			snap.Backends["default/"+s.name] = &config.Backend{Name: "default/" + s.name, InferencePool: s.pool}
		}
		refs = append(refs, config.BackendRef{Name: "default/" + s.name, Priority: s.priority, Weight: s.weight})
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	rec := newRecorder()
	fe, err := New(snap, opts)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{fe: fe, rec: rec, route: Route{Key: "default.test.0.0", Refs: refs, Policies: []policies.Policy{rec}}}
	if len(timeouts) > 0 {
		h.route.Timeouts = timeouts[0]
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetUserValue("request_id", "req-test")
			ctx.Response.Header.Set("x-request-id", "req-test")
			fe.Serve(ctx, h.route)
		},
		MaxRequestBodySize: 4 << 20,
		StreamRequestBody:  false,
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		fe.Close()
	})
	h.addr = ln.Addr().String()
	return h
}

// sdk returns an OpenAI SDK client pointed at the harness.
func (h *harness) sdk() openai.Client {
	return openai.NewClient(option.WithBaseURL("http://"+h.addr+"/v1"), option.WithAPIKey("client-key"),
		option.WithMaxRetries(0), option.WithRequestTimeout(10*time.Second))
}

// post sends a raw request and returns status, headers and body.
func (h *harness) do(t testing.TB, method, path, contentType string, body []byte) (int, *fasthttp.ResponseHeader, []byte) {
	t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + h.addr + path)
	req.Header.SetMethod(method)
	if contentType != "" {
		req.Header.SetContentType(contentType)
	}
	req.SetBody(body)
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	hdr := new(fasthttp.ResponseHeader)
	resp.Header.CopyTo(hdr)
	return resp.StatusCode(), hdr, append([]byte(nil), resp.Body()...)
}

func intp(v int) *int { return &v }
