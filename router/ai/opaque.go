package ai

import (
	"bytes"
	"io"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/inference"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/engine"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// An AI rule with an inferencePool backend also forwards the requests that
// are not OpenAI operations, as Envoy-based gateways forward any request to
// a pool: opaque HTTP. The picker is told the client's method, path (with
// the query), headers and body as they are; the endpoint it chooses gets the
// request unchanged (its method, path, query, headers but hop-by-hop ones
// and the gateway's own credential, body); the answer is relayed unchanged
// (status, headers but hop-by-hop ones, body, streamed as it comes). The
// rule's policies that need no parsed model apply: client auth, request rate
// limits, timeouts, failover between the rule's pools, the next endpoint of
// the picker's list after a connect failure (and after a retryable status
// when the rule retries), the served-endpoint report and the picker's
// response headers, metrics and the access log. No model is read, no
// translation, token count or budget reconciliation happens.

// operationPath reports whether path is one the OpenAI front end serves
// itself: the three operations and /v1/models[/{id}].
func operationPath(path []byte) bool {
	switch string(path) {
	case "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models":
		return true
	}
	return bytes.HasPrefix(path, prefixModels) && len(path) > len(prefixModels)
}

// admitOpaque starts the opaque exchange of a request to a pool rule: the
// body is bounded as an OpenAI request's is; nothing of it is read.
func (h *ruleHandler) admitOpaque(ex *engine.Exchange) bool {
	ctx, f := ex.Ctx, h.f
	if cl := ctx.Request.Header.ContentLength(); cl > f.maxBody {
		writeError(ctx, tooLarge(f.maxBody))
		return false
	}
	body := ctx.PostBody()
	if len(body) > f.maxBody {
		writeError(ctx, tooLarge(f.maxBody))
		return false
	}
	s := newExchange(h, ex, 0) // no operation: not a GenAI exchange for the metrics
	s.opaque, s.body, s.deadline = true, body, ex.Deadline()
	s.x.Opaque = true
	return true
}

// opaqueCandidates are the rule's pools that may be tried now, by priority,
// each priority group in a weighted random order. buf is reused when large
// enough.
func (h *ruleHandler) opaqueCandidates(now int64, buf []candidate) []candidate {
	out := buf[:0]
	for i, b := range h.bs {
		if b == nil || b.pool == nil {
			continue
		}
		w := weightOf(h.refs[i])
		if w <= 0 || !b.healthy(now) {
			continue
		}
		out = append(out, candidate{i: i, b: b, weight: w, rank: h.refs[i].Priority})
	}
	if len(out) > 1 {
		order(out)
	}
	return out
}

// tryOpaque is try for an opaque request.
func (s *exchange) tryOpaque() bool {
	var buf [maxInline]candidate
	cands := s.h.opaqueCandidates(upstream.Now(), buf[:0])
	if len(cands) == 0 {
		writeError(s.ctx, &schema.Error{Status: fasthttp.StatusServiceUnavailable, Type: schema.ErrUnavailable,
			Message: "no inference pool of the route may serve the request right now; retry later", RetryAfter: 1})
		return false
	}
	return s.attempts(cands, buf[:])
}

// attemptOpaque tries one pool with the client's request.
func (s *exchange) attemptOpaque(c candidate, deadline time.Time) result {
	ctx := s.ctx
	s.im = nil // only this pool's picker answer may reach the client
	pc := poolCall{method: string(ctx.Method()), path: string(ctx.Request.URI().RequestURI()), body: s.body}
	return s.sendPool(c.b, s.h.refs[c.i].Endpoints, pc, s.attemptTimeout(c.b, deadline))
}

// fillOpaque sets req to the client's request for endpoint ep with body
// (the picker's): the path the gateway matched (normalized, rewritten by a
// URLRewrite) with the query, the client's headers but hop-by-hop ones,
// Expect, and the credential the gateway's client auth consumed; the
// client's Host; the request id.
func (s *exchange) fillOpaque(req *fasthttp.Request, ep string, body []byte) {
	in := &s.ctx.Request
	in.Header.CopyTo(&req.Header)
	req.Header.SetRequestURIBytes(in.URI().RequestURI())
	req.Header.SetProtocol("HTTP/1.1")
	upstream.StripRequestHopByHop(&req.Header)
	req.Header.Del(fasthttp.HeaderExpect)
	if s.x.Credential {
		req.Header.Del(fasthttp.HeaderAuthorization)
		req.Header.Del("x-api-key")
		req.Header.Del("api-key")
	}
	if s.x.RequestID != "" {
		req.Header.Set("X-Request-Id", s.x.RequestID)
	}
	req.SetBodyRaw(body)
	req.UseHostHeader = len(in.Header.Host()) > 0
	uri := req.URI()
	uri.SetScheme("http")
	uri.SetHost(ep)
}

// relayOpaque writes an endpoint's answer to an opaque request as it is:
// status, headers (but hop-by-hop ones and Date; the picker's served answer
// and the policies' headers win), and the body, streamed when it came as a
// stream (each read flushed to the client as it arrives; bounded by the
// route's request deadline when it has one, over HTTP/1.1, else by the
// pool's streamIdleTimeout per read). It releases resp, or hands it to the
// body.
func (s *exchange) relayOpaque(b *backend, ep string, resp *fasthttp.Response, set []inference.Header) result {
	ctx := s.ctx
	h := &ctx.Response.Header
	status := resp.StatusCode()
	ctx.SetStatusCode(status)
	upstream.StripResponseHopByHop(&resp.Header)
	if len(resp.Header.ContentType()) == 0 {
		h.SetNoDefaultContentType(true)
	}
	for k, v := range resp.Header.All() {
		if equalFoldASCII(k, "content-length") || equalFoldASCII(k, "date") || s.gatewaySets(k, set) {
			continue
		}
		h.AddBytesKV(k, v)
	}
	for _, ph := range set {
		h.Set(ph.Name, ph.Value)
	}
	for _, ph := range s.x.ResponseHeaders {
		h.Set(ph.Name, ph.Value)
	}
	h.Set(HeaderServed, ep)
	h.Set(HeaderBackend, b.key)
	s.x.Status = status
	if status == fasthttp.StatusNoContent || status < fasthttp.StatusOK || status == fasthttp.StatusNotModified {
		fasthttp.ReleaseResponse(resp)
		return result{}
	}
	if ctx.IsHead() {
		// Headers only: the length a GET would have, and no body (a body
		// stream would frame the answer as chunked).
		if n := resp.Header.ContentLength(); n >= 0 {
			h.SetContentLength(n)
		}
		fasthttp.ReleaseResponse(resp)
		return result{}
	}
	if resp.BodyStream() == nil {
		ctx.SetBody(resp.Body()) // copies
		fasthttp.ReleaseResponse(resp)
		return result{}
	}
	if d := s.deadline; d.IsZero() || !streamDeadline(resp, d) {
		streamIdle(resp, b.streamIdle)
	}
	size := resp.Header.ContentLength()
	if size < 0 {
		size = -1
		ctx.Response.ImmediateHeaderFlush = true
	}
	// Not detached: the router finishes the exchange once the body is
	// written (or abandoned), through OnClose.
	ctx.SetBodyStream(&opaqueBody{resp: resp, body: resp.BodyStream()}, size)
	return result{}
}

// gatewaySets reports whether the gateway sets response header k itself (its
// request id, backend and served endpoint, the picker's and the policies'
// headers): the endpoint's copy is dropped, or the client would get both.
func (s *exchange) gatewaySets(k []byte, set []inference.Header) bool {
	if equalFoldASCII(k, "x-request-id") || equalFoldASCII(k, HeaderServed) || equalFoldASCII(k, HeaderBackend) {
		return true
	}
	for _, ph := range set {
		if equalFoldASCII(k, ph.Name) {
			return true
		}
	}
	for _, ph := range s.x.ResponseHeaders {
		if equalFoldASCII(k, ph.Name) {
			return true
		}
	}
	return false
}

// writeImmediate writes a picker's answer for the pool as the picker gave it
// (an opaque request no backend could serve).
func writeImmediate(ctx *fasthttp.RequestCtx, im *inference.Immediate) {
	ctx.Response.ResetBody()
	ctx.SetStatusCode(im.Status)
	for _, h := range im.Headers {
		ctx.Response.Header.Set(h.Name, h.Value)
	}
	ctx.SetBody(im.Body)
}

// opaqueBody is a streamed endpoint answer to an opaque request: fasthttp
// reads it on the connection's goroutine (each read written and flushed as
// one chunk) and closes it when it is written or the client left, which
// releases the upstream response (its connection is kept when the body was
// read to the end).
type opaqueBody struct {
	mu      sync.Mutex
	resp    *fasthttp.Response
	body    io.Reader
	closed  bool
	onClose func()
}

var (
	_ io.ReadCloser = (*opaqueBody)(nil)
	// The router finishes, times and logs the exchange through OnClose.
	_ interface{ OnClose(func()) } = (*opaqueBody)(nil)
)

// Read implements io.Reader.
func (o *opaqueBody) Read(p []byte) (int, error) { return o.body.Read(p) }

// Close implements io.Closer; it is idempotent.
func (o *opaqueBody) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	resp, fn := o.resp, o.onClose
	o.resp, o.onClose = nil, nil
	o.mu.Unlock()
	if fn != nil {
		// Deferred: the router's accounting runs even if closing panics.
		defer fn()
	}
	endStreamIdle(resp)
	err := resp.CloseBodyStream()
	fasthttp.ReleaseResponse(resp)
	return err
}

// OnClose registers fn to run once the body has been written or abandoned.
func (o *opaqueBody) OnClose(fn func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.onClose = fn
}
