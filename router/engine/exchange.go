// Package engine holds the seams between the router and the handlers of each
// kind of route: the Exchange the router builds for one request, the Handler
// a route kind implements, the Filters a matched rule applies, and Run, the
// one path every request takes through filters, policies and its handler.
//
// engine imports neither router nor any route kind, so that the router, its
// route table (router/route) and every kind (router/ai, and later MCP, A2A and
// inference pools) can import it.
package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Exchange is one request through the router. The router acquires it when a
// request matches a rule, hands it to the rule's handler, and releases it once
// the exchange has ended: when the handler returns, or, for a streamed
// response, when the stream body closes. A handler that commits a stream
// calls Detach and ends the exchange itself with Finish.
type Exchange struct {
	// Ctx is the client's request and response.
	Ctx *fasthttp.RequestCtx
	// X is what policies see; the router fills the route fields, the handler
	// the model, stream, backend and attempt fields.
	X policies.Exchange
	// Chain is the rule's compiled policy chain (nil: none).
	Chain *policies.Chain
	// Usage is the usage of a buffered response, set by the handler.
	Usage schema.Usage
	// Access is what the access log reports of the upstream side.
	Access Access
	// Log receives the handler's warnings.
	Log *slog.Logger
	// ClientHost is the Host the client sent, kept by handlers that need it
	// after a rewrite changed it (X-Forwarded-Host).
	ClientHost string
	// Local is the handler's own state for this request, kept between Admit
	// and Serve (nil until the handler sets it). Release frees it when the
	// handler did not (a policy denied after Admit, a redirect answered).
	Local Local
	// OnRelease, when set, runs once when the exchange is released (the
	// router counts a detached exchange in flight until then).
	OnRelease func()

	res      policies.Reservations
	rctx     *requestContext
	detached bool
	finished bool
	header   func(name string) string
	// hdr is what X.Header reads; nil once a stream is committed.
	hdr *fasthttp.RequestHeader
	// respHdr backs X.ResponseHeaders across uses of the exchange.
	respHdr [8]policies.Header
}

// Local is a handler's per-request state.
type Local interface {
	// Free releases the state; it is called at most once.
	Free()
}

// Access is the upstream side of an exchange, for the access log.
type Access struct {
	Backend  string
	Endpoint string
	Attempts int
	// Reason says why the router or handler ended the request itself
	// ("upstream_error", "policy_denied", ...); "" for a normal answer.
	Reason string
	// Tool is the MCP tool (or prompt, resource) a call named, "" otherwise.
	Tool string
}

var pool = sync.Pool{New: func() any {
	ex := &Exchange{}
	ex.header = func(name string) string {
		if ex.hdr == nil {
			return "" // a committed stream: the request is gone
		}
		return string(ex.hdr.Peek(name))
	}
	return ex
}}

// Acquire returns an Exchange for ctx, which arrived at start, with requestID.
func Acquire(ctx *fasthttp.RequestCtx, requestID string, start time.Time, log *slog.Logger) *Exchange {
	ex := pool.Get().(*Exchange)
	ex.Ctx, ex.Log = ctx, log
	ex.hdr = &ctx.Request.Header
	ex.X = policies.Exchange{RequestID: requestID, Start: start, Header: ex.header, ResponseHeaders: ex.respHdr[:0]}
	if ex.rctx == nil {
		ex.rctx = new(requestContext)
	}
	ex.rctx.reset(ctx)
	return ex
}

// Release returns ex to the pool; it must not be used after. The exchange
// must have been finished.
func Release(ex *Exchange) {
	if l := ex.Local; l != nil {
		ex.Local = nil
		l.Free()
	}
	if fn := ex.OnRelease; fn != nil {
		ex.OnRelease = nil
		defer fn()
	}
	if ex.rctx.release() {
		// Someone holds its Done channel (a context.AfterFunc, a child
		// context): a reused context would tell them Err() == nil after
		// Done closed, which the context package panics on. Let it go.
		ex.rctx = nil
	}
	ex.res.Reset()
	ex.Ctx, ex.Chain, ex.Log, ex.hdr, ex.Local = nil, nil, nil, nil, nil
	ex.X, ex.Usage, ex.Access, ex.ClientHost = policies.Exchange{}, schema.Usage{}, Access{}, ""
	ex.detached, ex.finished = false, false
	pool.Put(ex)
}

// Context returns the request's context: it carries the route's request
// deadline (SetDeadline) and is cancelled when the client goes away
// (ClientGone). Policies and upstream calls take it.
func (ex *Exchange) Context() context.Context { return ex.rctx }

// SetDeadline sets the request's deadline (the route's request timeout).
func (ex *Exchange) SetDeadline(t time.Time) { ex.rctx.setDeadline(t) }

// Deadline is the request's deadline (zero: none).
func (ex *Exchange) Deadline() time.Time { return ex.rctx.deadline }

// ClientGone records that the client went away: the context is cancelled.
func (ex *Exchange) ClientGone() { ex.rctx.cancel(context.Canceled) }

// Reservations are the reservations made by the chain for this exchange.
func (ex *Exchange) Reservations() *policies.Reservations { return &ex.res }

// Detach hands the end of the exchange to a streamed response body: the
// router no longer finishes it when the handler returns, and the request's
// headers and body are no longer readable (fasthttp recycles the request
// once the handler returns).
func (ex *Exchange) Detach() {
	ex.detached = true
	ex.hdr = nil
	ex.X.Body = nil
}

// Detached reports whether a stream body owns the end of the exchange.
func (ex *Exchange) Detached() bool { return ex.detached }

// Finish ends the exchange: it settles every reservation exactly once with
// u (later calls do nothing) and reports whether this call did it. The
// status must be in X.Status. A settlement that panics is logged.
func (ex *Exchange) Finish(u schema.Usage) bool {
	if ex.finished {
		return false
	}
	ex.finished = true
	if ex.X.Status == 0 {
		ex.X.Status = ex.Ctx.Response.StatusCode()
	}
	if ex.X.End.IsZero() {
		ex.X.End = time.Now()
	}
	// Settlement outlives the client: its context is never cancelled.
	first, err := ex.res.Settle(context.Background(), &ex.X, u)
	if err != nil && ex.Log != nil {
		ex.Log.Error("engine: a policy's settlement panicked", "request_id", ex.X.RequestID, "err", err.Error())
	}
	return first
}
