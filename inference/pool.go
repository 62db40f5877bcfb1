// Package inference routes requests to an InferencePool's model servers. For
// each request a picker chooses the servers in the order to try them: an
// external endpoint picker (an Envoy ext_proc gRPC server, the Gateway API
// Inference Extension's EPP), spoken to over one pooled gRPC connection with
// one stream per request, or the built-in picker, which scrapes the servers'
// vllm:* metrics and picks by queue depth and KV-cache use with prefix
// affinity. The picker's failure modes (FailClose, FailOpen) are applied here.
//
// inference knows nothing of HTTP servers: the router's AI front end builds a
// Request, asks the Pool for a Decision, sends the request to the decision's
// endpoints and reports the one that served.
package inference

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

// Header is one header name and value.
type Header struct{ Name, Value string }

// Request is what a picker is told of one client request.
type Request struct {
	// Method and Path (with the query) of the upstream request (POST
	// /v1/chat/completions, or any request of an opaque pass-through).
	Method, Path string
	// Headers are the client's request headers the picker is told of (any
	// case: they are sent lower-cased; Host as :authority). Pick reads them
	// only while it runs and keeps none, so they may point into the
	// caller's buffers.
	Headers []Header
	// Body is the body to send (read only).
	Body []byte
	// Subset, when set, restricts the endpoints the picker may choose
	// (host:port, or a bare host for any port): the subset hint.
	Subset []string
}

// Immediate is an answer the picker gave instead of an endpoint (429 when
// it sheds load, 503 when no endpoint is ready, ...): the gateway relays it.
type Immediate struct {
	Status  int
	Headers []Header
	Body    []byte
}

// Decision is a picker's answer for one request. Close it once the attempt
// ends; Served reports the endpoint that answered first.
type Decision struct {
	// Endpoints are the endpoints to try, in order (host:port), each one of
	// the pool's.
	Endpoints []string
	// Body is the body to forward: the picker's rewrite, or the request's.
	Body []byte
	// Headers are headers the picker set for the upstream request.
	Headers []Header
	// Immediate is set when the picker answered for the upstream.
	Immediate *Immediate
	// FailedOpen is true when the picker failed and, the pool failing open,
	// the gateway chose the endpoints.
	FailedOpen bool

	pool    *Pool
	session *session // the open picker stream, nil for the built-in picker
	// inflight is the endpoint whose in-flight count this decision holds (-1: none).
	inflight int
}

// Served reports the endpoint that served (its response status and
// headers): an external picker is told (the served-endpoint metadata) and
// may answer headers to set on the response, which are returned.
func (d *Decision) Served(ctx context.Context, endpoint string, status int, contentType string) []Header {
	d.pool.metrics.chosen(d.pool.name, endpoint)
	d.pool.hold(d, endpoint)
	if d.session == nil {
		return nil
	}
	return d.session.served(ctx, endpoint, status, contentType)
}

// Failed reports that endpoint could not be reached (connect error): the
// pool avoids it for a while and hints the picker to.
func (d *Decision) Failed(endpoint string) { d.pool.markDown(endpoint) }

// Close ends the decision's picker stream and releases what it holds. It is
// safe to call more than once.
func (d *Decision) Close() {
	if d == nil {
		return
	}
	if d.session != nil {
		d.session.close()
		d.session = nil
	}
	if d.inflight >= 0 && d.pool != nil {
		d.pool.stats[d.inflight].inflight.Add(-1)
		d.inflight = -1
	}
}

// Error is a picker failure under FailClose: the request is answered with
// Status (500) unless another backend of the rule may serve it.
type Error struct {
	Status int
	// Reason is a short label (connect, timeout, stream, garbage, no-endpoint).
	Reason string
	Err    error
}

// Error implements error; it names no address or secret of the picker.
func (e *Error) Error() string {
	return fmt.Sprintf("inference: endpoint picker failed (%s): %v", e.Reason, e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Options configure a Pool.
type Options struct {
	// Log receives warnings (nil: slog.Default()).
	Log *slog.Logger
	// Metrics records picker latency, failures and choices (nil: none).
	Metrics *Metrics
	// Conns shares gRPC connections to pickers between pools (nil: the pool's own).
	Conns *Conns
	// PickerTLS is the TLS configuration to the external picker, required
	// when its TLS is on (the router builds it as for any upstream).
	PickerTLS *tls.Config
}

// Pool is one InferencePool of a snapshot: its endpoints and picker. It is
// safe for concurrent use; Close stops its background work.
type Pool struct {
	name      string
	cfg       *config.InferencePool
	addrs     []string
	index     map[string]int
	stats     []endpointStats
	ext       *extPicker
	builtin   *builtin
	metrics   *Metrics
	log       *slog.Logger
	rr        atomic.Uint64
	mode      string
	closeOnce atomic.Bool
}

// endpointStats is what the gateway knows of one endpoint's load and health.
type endpointStats struct {
	inflight atomic.Int64
	// downUntil is a unix-nano time before which the endpoint is avoided (connect failures).
	downUntil atomic.Int64
	// scraped load (built-in picker): waiting requests, running, KV-cache use in 1/1000.
	waiting, running, kv atomic.Int64
	scraped              atomic.Bool
}

// downFor is how long a connect failure keeps an endpoint out.
const downFor = 5 * time.Second

// New builds the pool named name. An external picker's connection is made
// lazily (the first request dials); the built-in picker starts scraping.
func New(name string, cfg *config.InferencePool, opts Options) (*Pool, error) {
	p := &Pool{name: name, cfg: cfg, addrs: cfg.Addresses(), index: map[string]int{}, metrics: opts.Metrics,
		log: opts.Log, mode: cfg.FailureMode()}
	if p.log == nil {
		p.log = slog.Default()
	}
	if len(p.addrs) == 0 {
		return nil, errors.New("inference: pool has no endpoints")
	}
	for i, a := range p.addrs {
		p.index[a] = i
	}
	p.stats = make([]endpointStats, len(p.addrs))
	p.builtin = newBuiltin(p, cfg.Picker, !cfg.External())
	if cfg.External() {
		ext, err := newExtPicker(p, cfg.EndpointPicker, opts.PickerTLS, opts.Conns)
		if err != nil {
			p.builtin.stop()
			return nil, err
		}
		p.ext = ext
	}
	return p, nil
}

// Name is the pool's backend key.
func (p *Pool) Name() string { return p.name }

// Endpoints are the pool's endpoints (host:port), in configuration order.
func (p *Pool) Endpoints() []string { return p.addrs }

// External reports whether an external endpoint picker chooses.
func (p *Pool) External() bool { return p.ext != nil }

// Close stops the built-in picker's scraping and releases the picker connection.
func (p *Pool) Close() {
	if !p.closeOnce.CompareAndSwap(false, true) {
		return
	}
	p.builtin.stop()
	if p.ext != nil {
		p.ext.close()
	}
}

// Pick asks the pool's picker for r's endpoints. Under FailClose a picker
// failure is an *Error; under FailOpen the gateway chooses (FailedOpen).
// An answer the picker gave instead of an endpoint is d.Immediate.
func (p *Pool) Pick(ctx context.Context, r *Request) (*Decision, error) {
	start := time.Now()
	if p.ext == nil {
		d := p.builtinDecision(r)
		p.metrics.latency(p.name, "builtin", time.Since(start))
		return d, nil
	}
	d, err := p.ext.pick(ctx, r)
	p.metrics.latency(p.name, "external", time.Since(start))
	if err == nil {
		if d.Immediate != nil {
			p.metrics.immediate(p.name, d.Immediate.Status)
		} else {
			p.hold(d, d.Endpoints[0])
		}
		return d, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err() // the client left: not the picker's failure
	}
	var pe *Error
	if !errors.As(err, &pe) {
		pe = &Error{Status: 500, Reason: "stream", Err: err}
	}
	p.metrics.failure(p.name, p.mode, pe.Reason)
	p.log.Warn("inference: endpoint picker failed", "pool", p.name, "mode", p.mode, "reason", pe.Reason, "err", pe.Err.Error())
	if p.mode != config.FailOpen {
		return nil, pe
	}
	d = p.builtinDecision(r)
	d.FailedOpen = true
	return d, nil
}

// builtinDecision is the gateway's own choice (the built-in picker, or
// FailOpen's fallback): the original body, the endpoints by load.
func (p *Pool) builtinDecision(r *Request) *Decision {
	d := &Decision{pool: p, Body: r.Body, Endpoints: p.builtin.order(r), inflight: -1}
	if len(d.Endpoints) > 0 {
		p.hold(d, d.Endpoints[0])
	}
	return d
}

// hold counts the decision's request in flight on endpoint until Close.
func (p *Pool) hold(d *Decision, endpoint string) {
	i, ok := p.index[endpoint]
	if !ok || d.inflight == i {
		return
	}
	if d.inflight >= 0 {
		p.stats[d.inflight].inflight.Add(-1)
	}
	p.stats[i].inflight.Add(1)
	d.inflight = i
}

// markDown keeps endpoint out for downFor.
func (p *Pool) markDown(endpoint string) {
	if i, ok := p.index[endpoint]; ok {
		p.stats[i].downUntil.Store(time.Now().Add(downFor).UnixNano())
	}
}

// up reports whether endpoint i may be chosen now.
func (p *Pool) up(i int, now int64) bool { return p.stats[i].downUntil.Load() <= now }

// Subset is the subset hint for a request of a rule that restricts the pool
// to restrict (host:port or bare hosts; nil: the whole pool): the allowed
// endpoints that are up, or every allowed one when none is up. It is nil
// when every endpoint of the pool may be chosen.
func (p *Pool) Subset(restrict []string) []string {
	now := time.Now().UnixNano()
	var up, allowed []string
	for i, a := range p.addrs {
		if restrict != nil && !inSubset(a, restrict) {
			continue
		}
		allowed = append(allowed, a)
		if p.up(i, now) {
			up = append(up, a)
		}
	}
	switch {
	case len(up) > 0 && len(up) < len(p.addrs):
		return up
	case len(up) == 0 && restrict != nil:
		return allowed
	}
	return nil
}

// members keeps the endpoints of list that belong to the pool (and to
// subset, when set), in order, without duplicates.
func (p *Pool) members(list, subset []string) []string {
	out := list[:0:0]
	for _, e := range list {
		if _, ok := p.index[e]; !ok || slices.Contains(out, e) {
			continue
		}
		if subset != nil && !inSubset(e, subset) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// inSubset reports whether endpoint host:port is in a subset hint of
// host:port entries or bare hosts (any port).
func inSubset(endpoint string, subset []string) bool {
	for _, s := range subset {
		if s == endpoint {
			return true
		}
		if len(endpoint) > len(s) && endpoint[len(s)] == ':' && endpoint[:len(s)] == s {
			return true
		}
	}
	return false
}
