package ai

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/openai"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// HeaderBackend names the backend that served a response.
const HeaderBackend = "x-switchyard-backend"

var prefixModels = []byte("/v1/models/")

// Serve handles POST /v1/chat/completions, /v1/completions, /v1/embeddings and
// GET /v1/models[/{id}]. Anything else is a 404 (or 405 for a wrong method) in
// OpenAI's error shape. It writes the response, or the error, into ctx.
func (f *Frontend) Serve(ctx *fasthttp.RequestCtx, r Route) {
	path := ctx.Path()
	var op schema.Operation
	switch string(path) {
	case "/v1/chat/completions":
		op = schema.OpChat
	case "/v1/completions":
		op = schema.OpCompletion
	case "/v1/embeddings":
		op = schema.OpEmbeddings
	case "/v1/models":
		f.serveModels(ctx, r, "")
		return
	default:
		if bytes.HasPrefix(path, prefixModels) && len(path) > len(prefixModels) {
			f.serveModels(ctx, r, string(path[len(prefixModels):]))
			return
		}
		writeError(ctx, &schema.Error{Status: fasthttp.StatusNotFound, Type: schema.ErrInvalidRequest,
			Message: "Unknown request URL: " + string(ctx.Method()) + " " + string(path) + "."})
		return
	}
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		writeError(ctx, &schema.Error{Status: fasthttp.StatusMethodNotAllowed, Type: schema.ErrInvalidRequest,
			Message: "method " + string(ctx.Method()) + " is not allowed on " + string(path) + ": use POST"})
		return
	}
	s := newExchange(f, ctx, r, op)
	x := &s.x
	if id, ok := ctx.UserValue("request_id").(string); ok {
		x.RequestID = id
	} else {
		x.RequestID = string(ctx.Response.Header.Peek("x-request-id"))
	}
	if streamed := s.run(); streamed {
		return // the stream body (sseBody) reports usage when the stream ends, then frees s
	}
	x.Status = ctx.Response.StatusCode()
	f.policies.Done(context.Background(), x, s.usage)
	s.free()
}

// exchange is one client request through the front end. Exchanges are
// pooled: Serve frees a buffered one once Done has run, the stream body a
// streamed one.
type exchange struct {
	f     *Frontend
	ctx   *fasthttp.RequestCtx
	route Route
	op    schema.Operation
	x     policies.Exchange
	usage schema.Usage

	body   []byte // the client's body (bodyCopy for streams: it outlives ctx)
	model  string
	stream bool
	// options is the body's raw stream_options (nil: absent), when
	// optionsKnown: what inspect found, so translators need not look again.
	options      []byte
	optionsKnown bool
	req          *schema.ChatRequest    // decoded lazily for translators and direct adapters
	creds        auth.ClientCredentials // read from the request once, for passthrough backends only
	// haveCreds is true once creds was read.
	haveCreds bool
	// deadline is the route's request deadline (zero: none).
	deadline time.Time

	// hdr is what x.Header reads: the request's headers, nil once a stream is committed.
	hdr      *fasthttp.RequestHeader
	bodyCopy []byte // an in-process stream's copy of the body, which outlives the request
	// header is x.Header, made once per pooled exchange.
	header func(name string) string
}

// maxPooledBody is the largest body copy an exchange keeps when it is freed.
const maxPooledBody = 64 << 10

var exchangePool = sync.Pool{New: func() any {
	s := &exchange{}
	s.header = func(name string) string {
		if s.hdr == nil {
			return "" // a committed stream: the request is gone
		}
		return string(s.hdr.Peek(name))
	}
	return s
}}

func newExchange(f *Frontend, ctx *fasthttp.RequestCtx, r Route, op schema.Operation) *exchange {
	s := exchangePool.Get().(*exchange)
	s.f, s.ctx, s.route, s.op = f, ctx, r, op
	s.hdr = &ctx.Request.Header
	s.x = policies.Exchange{RouteKey: r.Key, Operation: op, Start: time.Now(), Header: s.header}
	return s
}

// free returns s to the pool; s, its Exchange and its body must not be used after.
func (s *exchange) free() {
	s.f, s.ctx, s.route, s.x, s.usage = nil, nil, Route{}, policies.Exchange{}, schema.Usage{}
	s.body, s.model, s.stream, s.req, s.creds, s.haveCreds, s.deadline = nil, "", false, nil, auth.ClientCredentials{}, false, time.Time{}
	s.hdr, s.options, s.optionsKnown = nil, nil, false
	if cap(s.bodyCopy) > maxPooledBody {
		s.bodyCopy = nil
	} else {
		s.bodyCopy = s.bodyCopy[:0]
	}
	exchangePool.Put(s)
}

// run serves the request and reports whether a stream was committed (the
// stream body then owns the rest of the exchange).
//
// It is split in stages whose frames do not stack up: a committed stream keeps
// the stack its request grew to, and one that stays within the runtime's
// first size (8 KiB) costs half as much (memory per open stream).
func (s *exchange) run() (streamed bool) {
	var buf [maxInline]candidate
	cands, ok := s.prepare(buf[:])
	if !ok {
		return false
	}
	return s.try(cands, buf[:])
}

// prepare checks the body, finds the candidates and runs the policies'
// request stage; ok is false when it wrote an error.
func (s *exchange) prepare(buf []candidate) (cands []candidate, ok bool) {
	ctx, f := s.ctx, s.f
	if cl := ctx.Request.Header.ContentLength(); cl > f.maxBody {
		writeError(ctx, tooLarge(f.maxBody))
		return nil, false
	}
	body := ctx.PostBody()
	ri, e := inspect(body, s.op, f.maxBody)
	if e != nil {
		writeError(ctx, e)
		return nil, false
	}
	s.body, s.model, s.stream = body, ri.model, ri.stream
	s.options, s.optionsKnown = ri.options, ri.optionsKnown
	s.x.Stream = ri.stream
	cands, matched, _ := candidates(f.resolve(s.route), s.model, time.Now(), buf)
	if matched == 0 {
		writeError(ctx, modelNotFound(s.model))
		return nil, false
	}
	s.x.Model = s.model
	if len(cands) == 0 {
		writeError(ctx, &schema.Error{Status: fasthttp.StatusServiceUnavailable, Type: schema.ErrUnavailable,
			Message: "no healthy backend serves model `" + s.model + "` right now; retry later", RetryAfter: 1})
		return nil, false
	}
	s.x.Body = body
	if err := f.policies.Request(ctx, &s.x); err != nil {
		writeError(ctx, denialError(err))
		return nil, false
	}
	if t := s.route.Timeouts; t != nil && t.Request > 0 {
		s.deadline = s.x.Start.Add(t.Request.D())
	}
	return cands, true
}

// try attempts the candidates in order, and again for the route's retry
// passes, until one answers, a failure may not be retried or the deadline
// passes; it writes the last error when none answered.
func (s *exchange) try(cands, buf []candidate) (streamed bool) {
	f, deadline := s.f, s.deadline
	var last *schema.Error
	for pass := 0; ; pass++ {
		again := true // every candidate failed in a way another pass may cure
		for i, c := range cands {
			if !deadline.IsZero() && !time.Now().Before(deadline) {
				last, again = errRequestTimeout(), false
				break
			}
			s.x.Backend, s.x.Provider, s.x.UpstreamModel, s.x.ModelListed = c.b.key, c.b.cfg.Provider, c.upstream, c.listed
			res := s.attempt(c, deadline)
			if res.streamed {
				return true
			}
			if res.err == nil {
				c.b.succeeded()
				return false
			}
			last = res.err
			if !res.retry {
				again = false
				break
			}
			c.b.failed(time.Now(), res.wait)
			if i < len(cands)-1 {
				s.logFailover(c, res.err)
			}
		}
		wait, ok := s.retryWait(pass, last, deadline)
		if !again || !ok {
			break
		}
		time.Sleep(wait)
		if cands, _, _ = candidates(f.resolve(s.route), s.model, time.Now(), buf); len(cands) == 0 {
			break
		}
		s.logRetryPass(pass, last)
	}
	s.fail(last)
	return false
}

// fail writes the error of a request no candidate could serve.
func (s *exchange) fail(last *schema.Error) {
	if last.Status == fasthttp.StatusTooManyRequests && last.RetryAfter == 0 {
		last.RetryAfter = 1
	}
	if s.x.Backend != "" {
		s.ctx.Response.Header.Set(HeaderBackend, s.x.Backend) // the last backend tried, for the access log
	}
	writeError(s.ctx, last)
}

// errRequestTimeout is the error of a request whose route deadline passed.
func errRequestTimeout() *schema.Error {
	return schema.Errorf(fasthttp.StatusGatewayTimeout, schema.ErrTimeout, "the request timed out")
}

// logFailover logs an attempt that failed before the next candidate is
// tried. Not inlined: the log call's arguments would sit in try's frame.
//
//go:noinline
func (s *exchange) logFailover(c candidate, e *schema.Error) {
	s.f.log.Warn("ai: upstream attempt failed, trying the next backend", "route", s.route.Key,
		"backend", c.b.key, "status", e.Status, "error", e.Message)
}

// logRetryPass logs the start of another pass over the candidates.
//
//go:noinline
func (s *exchange) logRetryPass(pass int, last *schema.Error) {
	s.f.log.Warn("ai: every backend failed, retrying", "route", s.route.Key, "pass", pass+1, "status", last.Status)
}

// result is the outcome of one attempt.
type result struct {
	err      *schema.Error // nil: a response was written
	retry    bool          // the next candidate may be tried
	wait     time.Duration // the backend asked not to be called for this long
	streamed bool          // a stream was committed to the client
}

func failure(e *schema.Error) result { return result{err: e, retry: retryable(e.Status)} }

// chatRequest decodes the body for a translator or direct adapter, with the
// upstream model set; the decoded form is shared between attempts (read only).
func (s *exchange) chatRequest(upstream string) (*schema.ChatRequest, *schema.Error) {
	if s.op != schema.OpChat {
		return nil, nil
	}
	if s.req == nil {
		r, err := schema.ParseChatRequest(s.body)
		if err != nil {
			return nil, asSchemaError(err, fasthttp.StatusBadRequest)
		}
		s.req = r
	}
	if s.req.Model == upstream {
		return s.req, nil
	}
	cp := *s.req
	cp.Model = upstream
	return &cp, nil
}

// attempt tries one candidate.
func (s *exchange) attempt(c candidate, deadline time.Time) result {
	b := c.b
	raw := s.body
	if c.upstream != s.model {
		var err error
		if raw, err = SetModel(s.body, s.model, c.upstream); err != nil {
			return result{err: badRequest("model", "could not set the upstream model")}
		}
	}
	var req *schema.ChatRequest
	if !b.passthrough || b.direct != nil {
		var e *schema.Error
		if req, e = s.chatRequest(c.upstream); e != nil {
			return result{err: e}
		}
	}
	if b.direct != nil {
		return s.direct(b, raw, req)
	}
	tr, err := b.adapter.NewTranslator(s.op, b.cfg)
	if err != nil {
		return result{err: asSchemaError(err, fasthttp.StatusBadRequest)}
	}
	if ot, ok := tr.(*openai.Translator); ok && s.optionsKnown {
		ot.Known(s.stream, s.options) // no second walk of a large body
	}
	up, err := tr.Request(raw, req)
	if err != nil {
		return result{err: asSchemaError(err, fasthttp.StatusBadRequest)}
	}
	if err := b.signer.Sign(s.ctx, up, s.clientCredentials(b)); err != nil {
		// The client gets a generic message; the cause is for the operator.
		s.f.log.Warn("ai: signing the upstream request failed", "route", s.route.Key, "backend", b.key, "err", err.Error())
		return failure(asSchemaError(err, fasthttp.StatusBadGateway)) // another backend may have credentials
	}
	timeout := b.timeout
	if t := s.route.Timeouts; t != nil && t.BackendRequest > 0 && t.BackendRequest.D() < timeout {
		timeout = t.BackendRequest.D()
	}
	if !deadline.IsZero() {
		if rem := time.Until(deadline); rem < timeout {
			timeout = rem
		}
	}
	return s.send(b, tr, up, timeout)
}

// send performs the upstream HTTP call of one attempt.
func (s *exchange) send(b *backend, tr providers.Translator, up *schema.Upstream, timeout time.Duration) result {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	req.SetRequestURI(up.URL)
	if up.Method != "" {
		req.Header.SetMethod(up.Method)
	} else {
		req.Header.SetMethod(fasthttp.MethodPost)
	}
	ct := up.ContentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.SetContentType(ct)
	for _, h := range up.Header {
		req.Header.Set(h.Name, h.Value)
	}
	if s.x.RequestID != "" {
		req.Header.Set("X-Request-Id", s.x.RequestID)
	}
	req.SetBodyRaw(up.Body)
	resp.StreamBody = up.Stream
	err := b.client.DoTimeout(req, resp, timeout)
	fasthttp.ReleaseRequest(req)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		s.f.log.Warn("ai: upstream request failed", "route", s.route.Key, "backend", b.key,
			"upstream", urlWithoutQuery(up.URL), "err", err.Error())
		return failure(transportError(err))
	}
	status := resp.StatusCode()
	if up.Stream && status >= 200 && status <= 299 {
		// The headers are in: from now on the stream is bounded by the idle
		// timeout per read (and the route's request deadline), not by timeout.
		streamIdle(resp, b.streamIdle)
		return s.relayUpstream(b, tr, resp)
	}
	out, u, terr := tr.Response(status, resp.Body())
	if terr != nil {
		// Only a failure may be retried after a wait: an answer's headers are
		// not searched for Retry-After.
		wait := retryAfter(&resp.Header, time.Now())
		fasthttp.ReleaseResponse(resp)
		e := asSchemaError(terr, fasthttp.StatusBadGateway)
		if e.RetryAfter > 0 && wait == 0 {
			wait = time.Duration(e.RetryAfter) * time.Second
		}
		if wait > 0 && e.Status == fasthttp.StatusTooManyRequests {
			e.RetryAfter = int((wait + time.Second - 1) / time.Second)
		}
		r := failure(e)
		r.wait = wait
		return r
	}
	ctx := s.ctx
	copyRateLimitHeaders(&ctx.Response.Header, &resp.Header)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set(HeaderBackend, b.key)
	ctx.SetBody(out) // copies: out may alias resp's body
	fasthttp.ReleaseResponse(resp)
	s.usage = u
	return result{}
}

// direct serves an attempt in-process (the sim adapter).
func (s *exchange) direct(b *backend, raw []byte, req *schema.ChatRequest) result {
	if s.stream {
		return s.relayDirect(b, raw, req)
	}
	out, u, err := b.direct.Do(s.ctx, s.op, b.cfg, raw, req, nil)
	if err != nil {
		return failure(asSchemaError(err, fasthttp.StatusInternalServerError))
	}
	ctx := s.ctx
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set(HeaderBackend, b.key)
	ctx.SetBody(out)
	s.usage = u
	return result{}
}

// asSchemaError returns err as an *schema.Error, or a generic one with status.
func asSchemaError(err error, status int) *schema.Error {
	var se *schema.Error
	if errors.As(err, &se) {
		cp := *se
		return &cp
	}
	return &schema.Error{Status: status, Type: schema.TypeForStatus(status), Message: "the gateway could not serve the request"}
}

// denialError maps a policy's error to a client error.
func denialError(err error) *schema.Error {
	var d *policies.Denial
	if errors.As(err, &d) {
		typ := d.Type
		if typ == "" {
			typ = schema.TypeForStatus(d.Status)
		}
		return &schema.Error{Status: d.Status, Type: typ, Message: d.Message}
	}
	return asSchemaError(err, fasthttp.StatusForbidden)
}

// urlWithoutQuery drops a URL's query string, which may carry credentials, for logs.
func urlWithoutQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// detach drops the exchange's references into the request, which fasthttp
// recycles once Serve returns: a committed stream needs neither the body nor
// the headers (the upstream request was sent; an in-process producer has its
// own copy). Policies' Done then sees Body nil and Header "" for a stream, and
// a long stream does not keep a large prompt alive.
func (s *exchange) detach() {
	s.body, s.x.Body, s.hdr, s.req, s.options, s.optionsKnown = nil, nil, nil, nil, nil, false
	// fasthttp keeps the request until the response is written: drop its body
	// now (the upstream request has been sent; an in-process producer has its
	// own copy), so that a long stream does not hold the prompt.
	s.ctx.Request.ResetBody()
}

// clientCredentials returns the client's credential headers for a backend that
// forwards them (auth passthrough), reading them once per request; other
// backends sign with their own credentials and get none, so the hot path does
// not copy header values it does not use.
func (s *exchange) clientCredentials(b *backend) auth.ClientCredentials {
	if !b.cfg.Auth.Passthrough {
		return auth.ClientCredentials{}
	}
	if !s.haveCreds {
		h := &s.ctx.Request.Header
		s.creds = auth.ClientCredentials{Authorization: string(h.Peek("Authorization"))}
		if k := h.Peek("x-api-key"); len(k) > 0 {
			s.creds.APIKey = string(k)
		} else if k := h.Peek("api-key"); len(k) > 0 {
			s.creds.APIKey = string(k)
		}
		s.haveCreds = true
	}
	return s.creds
}

// maxRetryBackoff caps the wait between two passes over the candidates.
const maxRetryBackoff = 10 * time.Second

// retryWait says whether the route's retry policy allows another pass over
// the candidates after pass failed with last, and how long to wait first.
func (s *exchange) retryWait(pass int, last *schema.Error, deadline time.Time) (time.Duration, bool) {
	r := s.route.Retry
	if r == nil || last == nil || pass >= r.Attempts {
		return 0, false
	}
	codes := r.Codes
	if len(codes) == 0 {
		codes = []int{fasthttp.StatusBadGateway, fasthttp.StatusServiceUnavailable, fasthttp.StatusGatewayTimeout}
	}
	if !slices.Contains(codes, last.Status) {
		return 0, false
	}
	wait := min(r.Backoff.D()<<pass, maxRetryBackoff)
	if !deadline.IsZero() && !time.Now().Add(wait).Before(deadline) {
		return 0, false
	}
	return wait, true
}
