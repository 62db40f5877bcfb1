package router

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/engine"
	"github.com/switchyard-ai/switchyard/router/route"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// staticFactory is the handler factory of plain HTTP routes: static
// backends, forwarded by router/upstream.
type staticFactory struct{ log *slog.Logger }

var _ HandlerFactory = staticFactory{}

// Kind implements [HandlerFactory.Kind].
func (staticFactory) Kind() route.Kind { return route.KindHTTP }

// Compile implements [HandlerFactory.Compile]: the snapshot's static
// backends, their endpoint states drawn from gen.
func (f staticFactory) Compile(snap *config.Snapshot, gen *upstream.Generation) (CompiledKind, error) {
	return &staticKind{pool: upstream.BuildPool(gen, snap.Backends, f.log)}, nil
}

// staticKind is one snapshot's static backends.
type staticKind struct{ pool *upstream.Pool }

// Handler implements [CompiledKind.Handler]: the rule's backends are
// resolved to the Pool's once, here.
func (k *staticKind) Handler(rule *route.Rule) (engine.Handler, error) {
	h := &staticHandler{pool: k.pool, rule: rule}
	for _, ref := range rule.Backends {
		if ref.Invalid != "" {
			if ref.Weight > 0 {
				h.refs = append(h.refs, staticRef{invalid: ref.Invalid, weight: ref.Weight})
				h.total += ref.Weight
			}
			continue
		}
		b, ok := k.pool.Lookup(ref.Name)
		if !ok {
			return nil, fmt.Errorf("backend %s is not a static backend", ref.Name)
		}
		if ref.Weight > 0 {
			h.refs = append(h.refs, staticRef{b: b, weight: ref.Weight})
			h.total += ref.Weight
		}
	}
	return h, nil
}

// Problems implements [CompiledKind.Problems]: endpoint problems are logged
// and shown as health in /config instead.
func (k *staticKind) Problems() map[string]string { return nil }

// staticHandler forwards a rule's requests to its static backends.
type staticHandler struct {
	pool  *upstream.Pool
	rule  *route.Rule
	refs  []staticRef // backends with a positive weight
	total int         // the sum of their weights
}

// staticRef is a rule's backend resolved to the Pool, with its weight; or,
// when invalid is set, a reference that did not resolve (its share answers 500).
type staticRef struct {
	b       upstream.Backend
	weight  int
	invalid string
}

// pick chooses one of the rule's backends by weight; false when none has a
// positive weight.
func (h *staticHandler) pick() (staticRef, bool) {
	if h.total <= 0 {
		return staticRef{}, false
	}
	n := rand.IntN(h.total)
	for _, r := range h.refs {
		if n < r.weight {
			return r, true
		}
		n -= r.weight
	}
	return staticRef{}, false
}

var _ engine.Handler = (*staticHandler)(nil)

// Admit implements [engine.Handler.Admit]: it keeps the Host the client sent
// for X-Forwarded-Host, before a rewrite changes it.
func (h *staticHandler) Admit(ex *engine.Exchange) bool {
	ex.ClientHost = string(ex.Ctx.Request.Header.Host())
	return true
}

// Serve implements [engine.Handler.Serve].
func (h *staticHandler) Serve(ex *engine.Exchange) {
	ctx := ex.Ctx
	ref, ok := h.pick()
	if !ok {
		writeError(ctx, fasthttp.StatusServiceUnavailable, "service_unavailable", "route has no backend with a positive weight")
		return
	}
	if ref.invalid != "" {
		ex.Access.Reason = "invalid_backend_ref"
		writeError(ctx, fasthttp.StatusInternalServerError, "server_error", "the route's backend reference does not resolve")
		return
	}
	b := ref.b
	ex.Access.Backend = b.Name()
	ex.X.Backend = b.Name()
	rc := h.rule.Config
	res, err := h.pool.ForwardTo(ctx, b, upstream.Options{
		Context: ex.Context(), Timeouts: rc.Timeouts, Retry: rc.Retry, ForwardedHost: ex.ClientHost})
	ex.Access.Endpoint, ex.Access.Attempts = res.Endpoint, res.Attempts
	ex.X.Endpoint, ex.X.Attempt = res.Endpoint, res.Attempts
	if err != nil {
		status := fasthttp.StatusBadGateway
		var se *upstream.StatusError
		if errors.As(err, &se) {
			status = se.Status
		}
		ex.Access.Reason = "upstream_error"
		writeError(ctx, status, errorType(status), upstreamMessage(status))
	}
}

// WriteError implements [engine.Handler.WriteError].
func (h *staticHandler) WriteError(ex *engine.Exchange, e *engine.Error) { writeEngineError(ex, e) }

// writeEngineError writes e in the gateway's JSON error shape.
func writeEngineError(ex *engine.Exchange, e *engine.Error) {
	typ := e.Type
	if typ == "" {
		typ = errorType(e.Status)
	}
	if e.RetryAfter > 0 {
		ex.Ctx.Response.Header.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeError(ex.Ctx, e.Status, typ, e.Message)
}

// mirrored mirrors a share of a rule's requests to another backend,
// fire and forget, before its handler serves them.
type mirrored struct {
	engine.Handler
	pool *upstream.Pool
	spec *route.MirrorSpec
}

// Serve implements [engine.Handler.Serve].
func (m mirrored) Serve(ex *engine.Exchange) {
	if m.spec.Percent >= 100 || rand.IntN(100) < m.spec.Percent {
		m.pool.Mirror(&ex.Ctx.Request, m.spec.Backend)
	}
	m.Handler.Serve(ex)
}
