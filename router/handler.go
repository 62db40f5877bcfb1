package router

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/engine"
	"github.com/switchyard-ai/switchyard/router/route"
)

// handle serves one request arriving on port: it checks the framing, finds
// the rule, and takes an Exchange through the rule's filters, policies and
// handler (engine.Run). The exchange is finished (every reservation settled
// once) when the handler returns, or by the stream body when it ends, and
// also when a panic ends the request.
func (g *Gateway) handle(ctx *fasthttp.RequestCtx, port int) {
	g.inflight.Add(1)
	start := time.Now()
	st := g.cur.Load()
	reqID := requestID(ctx)
	ctx.SetUserValue("request_id", reqID)
	ctx.Response.Header.Set("x-request-id", reqID)

	rec := accessRecord{start: start, port: port}
	var ex *engine.Exchange
	defer func() {
		// Forwarding replaces the response headers: set the id again.
		ctx.Response.Header.Set("x-request-id", reqID)
		rec.status = ctx.Response.StatusCode()
		if ex != nil {
			rec.backend, rec.endpoint, rec.attempts, rec.tool = ex.Access.Backend, ex.Access.Endpoint, ex.Access.Attempts, ex.Access.Tool
			if rec.reason == "" {
				rec.reason = ex.Access.Reason
			}
		}
		// own is the exchange the router ends. A detached one belongs to its
		// stream body, which ends and releases it (maybe after the stream
		// closed, once it collected the usage of a client that left; or when
		// fasthttp closes a body the response dropped).
		own := ex
		if ex != nil && ex.Detached() {
			own = nil
		}
		logIt := st != nil && st.accessLog
		if sb, ok := ctx.Response.BodyStream().(streamedBody); ok {
			// A streamed body is written after this handler returns: time,
			// count and log the request once the stream has ended.
			if logIt {
				rec.fill(ctx, reqID)
			}
			rec := rec
			if ex != nil && own == nil {
				// In flight (a drain waits for it) until its body releases it.
				g.inflight.Add(1)
				ex.OnRelease = g.doneInflight
			}
			sb.OnClose(func() {
				if own != nil {
					g.finish(own, schema.Usage{})
				}
				g.metrics.observe(&rec, time.Since(start))
				if logIt {
					g.logRecord(&rec)
				}
				g.inflight.Done()
			})
			return
		}
		if own != nil {
			g.finish(own, own.Usage)
		}
		g.metrics.observe(&rec, time.Since(start))
		if logIt {
			rec.fill(ctx, reqID)
			g.logRecord(&rec)
		}
		g.inflight.Done()
	}()
	// A panic anywhere below (a policy, a translator) answers this request with
	// a 500 instead of ending the process; it runs before the access log above,
	// which then settles the exchange's reservations.
	defer func() {
		if r := recover(); r != nil {
			rec.reason = "panic"
			g.log.Error("router: panic while serving a request", "request_id", reqID, "panic", fmt.Sprint(r),
				"stack", string(debug.Stack()))
			ctx.SetConnectionClose()
			if ex != nil && ex.Detached() {
				// The stream body owns the exchange: dropping the body below
				// closes it, which finishes and releases the exchange.
				rec.backend, rec.endpoint, rec.attempts, rec.tool = ex.Access.Backend, ex.Access.Endpoint, ex.Access.Attempts, ex.Access.Tool
				ex = nil
			}
			writeError(ctx, fasthttp.StatusInternalServerError, "server_error", "internal error")
		}
	}()

	if status, msg := checkFraming(ctx, st); status != 0 {
		rec.reason = "bad_request"
		ctx.SetConnectionClose()
		writeError(ctx, status, "invalid_request_error", msg)
		return
	}
	if st == nil {
		writeError(ctx, fasthttp.StatusServiceUnavailable, "service_unavailable", "no configuration loaded")
		return
	}
	path, err := route.NormalizePath(rawPath(ctx))
	if err != nil {
		rec.reason = "bad_path"
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request_error", "invalid request path: "+err.Error())
		return
	}
	ctx.Request.URI().SetPathBytes(path)
	host := hostOnly(ctx.Request.Header.Host())
	m := st.table.Lookup(port, host, ctx.Method(), path, &ctx.Request)
	if m == nil {
		rec.reason = "no_route"
		writeError(ctx, fasthttp.StatusNotFound, "not_found_error",
			"no route matches "+string(ctx.Method())+" "+string(path))
		return
	}
	rule := m.Rule
	rec.route = m.Key
	ex = engine.Acquire(ctx, reqID, start, g.log)
	ex.Chain = rule.Chain
	ex.X.RouteKey, ex.X.RuleKey = m.Key, rule.Key
	if t := rule.Config.Timeouts; t != nil && t.Request > 0 {
		ex.SetDeadline(start.Add(t.Request.D()))
	}
	engine.Run(ex, m, rule.Handler)
}

// finish ends an exchange and releases it. Finish is idempotent: for a
// stream the body has already finished it with the stream's usage, and this
// only covers a body that ended without doing so.
func (g *Gateway) finish(ex *engine.Exchange, u schema.Usage) {
	ex.Finish(u)
	engine.Release(ex)
}

// streamedBody is a response body written after the handler returns (an SSE
// relay, a streamed upstream body) that can say when it has ended.
type streamedBody interface {
	OnClose(fn func())
}

func upstreamMessage(status int) string {
	switch status {
	case fasthttp.StatusServiceUnavailable:
		return "no healthy upstream"
	case fasthttp.StatusGatewayTimeout:
		return "upstream request timed out"
	}
	return "upstream connection failed"
}

func errorType(status int) string {
	switch status {
	case fasthttp.StatusServiceUnavailable:
		return "service_unavailable"
	case fasthttp.StatusGatewayTimeout:
		return "timeout"
	case fasthttp.StatusNotFound:
		return "not_found_error"
	}
	if status >= 500 {
		return "server_error"
	}
	return "invalid_request_error"
}

// rawPath returns the request target's path, without the query.
func rawPath(ctx *fasthttp.RequestCtx) []byte {
	uri := ctx.Request.Header.RequestURI()
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if i := bytes.IndexByte(uri, '#'); i >= 0 {
		uri = uri[:i]
	}
	// absolute-form already checked to name our Host: strip scheme://authority.
	if j := bytes.Index(uri, []byte("://")); j >= 0 && bytes.IndexByte(uri[:j], '/') < 0 {
		rest := uri[j+3:]
		if k := bytes.IndexByte(rest, '/'); k >= 0 {
			return rest[k:]
		}
		return []byte("/")
	}
	return uri
}

func hostOnly(h []byte) []byte {
	if len(h) > 0 && h[0] == '[' {
		if i := bytes.IndexByte(h, ']'); i > 0 {
			return h[:i+1]
		}
		return h
	}
	if i := bytes.LastIndexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

// requestID keeps a sane client-supplied x-request-id or makes one.
func requestID(ctx *fasthttp.RequestCtx) string {
	if v := ctx.Request.Header.Peek("x-request-id"); len(v) > 0 && len(v) <= 128 && printable(v) {
		return string(v)
	}
	var b [20]byte
	buf := strconv.AppendUint(b[:0], rand.Uint64(), 36)
	return string(buf)
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}
