package router

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/router/ai"
	"github.com/switchyard-ai/switchyard/router/route"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// handle serves one request arriving on port.
func (g *Gateway) handle(ctx *fasthttp.RequestCtx, port int) {
	g.inflight.Add(1)
	start := time.Now()
	st := g.cur.Load()
	reqID := requestID(ctx)
	ctx.SetUserValue("request_id", reqID)
	ctx.Response.Header.Set("x-request-id", reqID)

	rec := accessRecord{start: start, port: port}
	defer func() {
		// Forwarding replaces the response headers: set the id again.
		ctx.Response.Header.Set("x-request-id", reqID)
		rec.status = ctx.Response.StatusCode()
		logIt := st != nil && st.accessLog
		if sb, ok := ctx.Response.BodyStream().(streamedBody); ok {
			// A streamed body is written after this handler returns: time,
			// count and log the request once the stream has ended.
			if logIt {
				rec.fill(ctx, reqID)
			}
			rec := rec
			sb.OnClose(func() {
				g.metrics.observe(&rec, time.Since(start))
				if logIt {
					g.logRecord(&rec)
				}
				g.inflight.Done()
			})
			return
		}
		g.metrics.observe(&rec, time.Since(start))
		if logIt {
			rec.fill(ctx, reqID)
			g.logRecord(&rec)
		}
		g.inflight.Done()
	}()
	// A panic anywhere below (a policy, a translator) answers this request with
	// a 500 instead of ending the process; it runs before the access log above.
	defer func() {
		if r := recover(); r != nil {
			rec.reason = "panic"
			g.log.Error("router: panic while serving a request", "request_id", reqID, "panic", fmt.Sprint(r),
				"stack", string(debug.Stack()))
			ctx.SetConnectionClose()
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
	var origHost string
	if !rule.AI {
		origHost = string(ctx.Request.Header.Host()) // X-Forwarded-Host, before a rewrite changes Host
	}
	if rule.ApplyRequest(ctx, m) {
		rule.ApplyResponse(ctx)
		return
	}
	if rule.Mirror != nil && (rule.Mirror.Percent >= 100 || rand.IntN(100) < rule.Mirror.Percent) {
		st.pool.Mirror(&ctx.Request, rule.Mirror.Backend)
	}
	if rule.AI {
		if st.frontend == nil {
			writeError(ctx, fasthttp.StatusServiceUnavailable, "service_unavailable", "AI front end not configured")
		} else {
			st.frontend.Serve(ctx, ai.Route{Key: m.Key, Refs: rule.Config.BackendRefs, Timeouts: rule.Config.Timeouts,
				Retry: rule.Config.Retry})
			if st.accessLog {
				rec.backend = string(ctx.Response.Header.Peek(ai.HeaderBackend))
			}
		}
		rule.ApplyResponse(ctx)
		return
	}
	backend := pickBackend(rule)
	if backend == "" {
		writeError(ctx, fasthttp.StatusServiceUnavailable, "service_unavailable", "route has no backend with a positive weight")
		return
	}
	rec.backend = backend
	res, err := st.pool.Forward(ctx, backend, upstream.Options{
		Timeouts: rule.Config.Timeouts, Retry: rule.Config.Retry, ForwardedHost: origHost})
	rec.endpoint, rec.attempts = res.Endpoint, res.Attempts
	if err != nil {
		status := fasthttp.StatusBadGateway
		var se *upstream.StatusError
		if errors.As(err, &se) {
			status = se.Status
		}
		rec.reason = "upstream_error"
		writeError(ctx, status, errorType(status), upstreamMessage(status))
		rule.ApplyResponse(ctx)
		return
	}
	rule.ApplyResponse(ctx)
}

// streamedBody is a response body written after the handler returns (an SSE
// relay, a streamed upstream body) that can say when it has ended.
type streamedBody interface {
	OnClose(fn func())
}

// pickBackend chooses one of a static rule's backends by weight.
func pickBackend(r *route.Rule) string {
	total := 0
	for _, b := range r.Backends {
		total += b.Weight
	}
	if total <= 0 {
		return ""
	}
	n := rand.IntN(total)
	for _, b := range r.Backends {
		if n < b.Weight {
			return b.Name
		}
		n -= b.Weight
	}
	return ""
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
