package ai

import (
	"errors"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/inference"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/engine"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// exchange is one client request through the front end: the handler's
// state of an engine.Exchange (ex.Local) between Admit and the end of the
// response. Exchanges are pooled: Serve frees a buffered one, the stream
// body a streamed one.
type exchange struct {
	h     *ruleHandler
	f     *Frontend
	ex    *engine.Exchange
	ctx   *fasthttp.RequestCtx
	op    schema.Operation
	x     *policies.Exchange
	usage schema.Usage

	body   []byte // the client's body (bodyCopy for streams: it outlives ctx)
	model  string
	stream bool
	// options is the body's raw stream_options (nil: absent), when
	// optionsKnown: what inspect found, so translators need not look again.
	options      []byte
	optionsKnown bool
	req          *schema.ChatRequest // decoded lazily for translators and direct adapters, once
	reqErr       *schema.Error
	creds        auth.ClientCredentials // read from the request once, for passthrough backends only
	// haveCreds is true once creds was read.
	haveCreds bool
	// deadline is the route's request deadline (zero: none).
	deadline time.Time
	// promptEstimate is what a stream's prompt is charged when its usage
	// never arrives (estimatePrompt, when it is served).
	promptEstimate int
	bodyCopy       []byte // an in-process stream's copy of the body, which outlives the request
	// decoded is x.Decoded, made once per pooled exchange.
	decoded func() (*schema.ChatRequest, error)
	// opaque is set for a request to a pool rule that is not an OpenAI
	// operation: forwarded as it is (opaque.go).
	opaque bool
	// im is the last picker's answer for its pool of an opaque request.
	im *inference.Immediate
	// phdr is the headers told to an external picker, reused across requests.
	phdr []inference.Header
}

// maxPooledBody is the largest body copy an exchange keeps when it is freed.
const maxPooledBody = 64 << 10

var exchangePool = sync.Pool{New: func() any {
	s := &exchange{}
	s.decoded = func() (*schema.ChatRequest, error) {
		r, e := s.decode()
		if e != nil {
			return nil, e
		}
		return r, nil
	}
	return s
}}

func newExchange(h *ruleHandler, ex *engine.Exchange, op schema.Operation) *exchange {
	s := exchangePool.Get().(*exchange)
	s.h, s.f, s.ex, s.ctx, s.op, s.x = h, h.f, ex, ex.Ctx, op, &ex.X
	ex.Local = s
	ex.X.Operation = op
	if op == schema.OpChat {
		ex.X.Decoded = s.decoded
	}
	return s
}

var _ engine.Local = (*exchange)(nil)

// Free implements [engine.Local]: the router frees an exchange the handler
// did not (a policy denied after Admit, a redirect answered).
func (s *exchange) Free() { s.free() }

// free returns s to the pool; s must not be used after.
func (s *exchange) free() {
	if s.ex != nil && s.ex.Local == s {
		s.ex.Local = nil
	}
	s.h, s.f, s.ex, s.ctx, s.x, s.usage = nil, nil, nil, nil, nil, schema.Usage{}
	s.body, s.model, s.stream, s.req, s.reqErr, s.creds, s.haveCreds, s.deadline = nil, "", false, nil, nil, auth.ClientCredentials{}, false, time.Time{}
	s.options, s.optionsKnown, s.promptEstimate = nil, false, 0
	s.opaque, s.im = false, nil
	clear(s.phdr) // the strings of the last request
	s.phdr = s.phdr[:0]
	if cap(s.bodyCopy) > maxPooledBody {
		s.bodyCopy = nil
	} else {
		s.bodyCopy = s.bodyCopy[:0]
	}
	exchangePool.Put(s)
}

// admit checks the body and reads what the policies need: model, stream,
// and whether any backend of the rule serves the model. It writes the error
// and returns false when the request cannot go on.
func (s *exchange) admit() bool {
	ctx, f := s.ctx, s.f
	if cl := ctx.Request.Header.ContentLength(); cl > f.maxBody {
		writeError(ctx, tooLarge(f.maxBody))
		return false
	}
	body := ctx.PostBody()
	ri, e := inspect(body, s.op, f.maxBody)
	if e != nil {
		writeError(ctx, e)
		return false
	}
	s.body, s.model, s.stream = body, ri.model, ri.stream
	s.options, s.optionsKnown = ri.options, ri.optionsKnown
	s.x.Stream, s.x.Model, s.x.Body, s.x.MaxTokens = ri.stream, ri.model, body, ri.maxTokens
	// The router set the rule's request deadline when the request arrived.
	s.deadline = s.ex.Deadline()
	return true
}

// try finds the candidates and attempts them in order (failover, without a
// wait), then retries (the rule's retry.attempts, each on the next candidate
// after a jittered backoff) while the failure may be retried and the
// deadline allows; it writes the last error when none answered. It reports
// whether a stream was committed (the stream body then owns the rest).
//
// Its frames do not stack up: a committed stream keeps the stack its
// request grew to, and one that stays within the runtime's first size
// (8 KiB) costs half as much (memory per open stream).
func (s *exchange) try() (streamed bool) {
	if s.opaque {
		return s.tryOpaque()
	}
	s.estimatePrompt()
	var order [maxInline]int
	var buf [maxInline]candidate
	cands := s.h.resolve(s.h.Select(s.ex.Context(), s.x, order[:0]), s.model, buf[:0])
	if len(cands) == 0 {
		s.noCandidate()
		return false
	}
	return s.attempts(cands, buf[:])
}

// noCandidate writes why no backend may be tried: none serves the model
// (404), or none that does is healthy now (503).
func (s *exchange) noCandidate() {
	if _, matched, _ := s.h.candidates(s.model, upstream.Now(), nil); matched == 0 {
		writeError(s.ctx, modelNotFound(s.model))
		return
	}
	writeError(s.ctx, &schema.Error{Status: fasthttp.StatusServiceUnavailable, Type: schema.ErrUnavailable,
		Message: "no healthy backend serves model `" + s.model + "` right now; retry later", RetryAfter: 1})
}

// attempts runs the failover and retry loop of try.
func (s *exchange) attempts(cands, buf []candidate) (streamed bool) {
	deadline := s.deadline
	retries := s.h.retry.Attempts()
	var last *schema.Error
	for n, retry := 0, 0; ; n++ {
		if n >= len(cands) {
			// Every candidate was tried: a retry goes round again, after a backoff.
			if retry >= retries || last == nil || !s.h.retry.On(last.Status) {
				break
			}
			retry++
			wait := s.h.retry.Backoff(retry)
			if !deadline.IsZero() && !time.Now().Add(wait).Before(deadline) {
				break
			}
			if !s.sleepOrGone(wait) {
				last = errClientClosed()
				break
			}
			if cands = s.reselect(buf); len(cands) == 0 {
				break
			}
			s.logRetry(retry, last)
			n = 0
		}
		c := cands[n]
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			last = errRequestTimeout()
			break
		}
		s.x.Backend, s.x.Provider, s.x.UpstreamModel, s.x.ModelListed = c.b.key, c.b.cfg.Provider, c.upstream, c.listed
		s.x.Attempt++
		s.ex.Access.Backend, s.ex.Access.Attempts = c.b.key, s.x.Attempt
		if err := s.ex.Chain.Attempt(s.ex.Context(), s.x); err != nil {
			e := engine.DenialError(err)
			last = &schema.Error{Status: e.Status, Type: e.Type, Code: e.Code, Message: e.Message, RetryAfter: e.RetryAfter}
			break
		}
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
			break
		}
		if c.b.pool == nil {
			// A pool's endpoints keep their own health: a picker that sheds
			// load or fails does not eject the pool.
			c.b.failed(upstream.Now(), res.wait)
		}
		if n < len(cands)-1 {
			if c.b.pool != nil {
				c.b.pool.Fallback(res.err.Status)
			}
			s.logFailover(c, res.err)
		}
	}
	s.fail(last)
	return false
}

// reselect orders the candidates again for a retry.
func (s *exchange) reselect(buf []candidate) []candidate {
	if s.opaque {
		return s.h.opaqueCandidates(upstream.Now(), buf)
	}
	var order [maxInline]int
	return s.h.resolve(s.h.Select(s.ex.Context(), s.x, order[:0]), s.model, buf)
}

// sleepOrGone waits d, probing the client's connection every
// clientProbeInterval; false when the client left meanwhile (its context is
// then cancelled).
func (s *exchange) sleepOrGone(d time.Duration) bool {
	conn := s.ctx.Conn()
	for end := time.Now().Add(d); ; {
		left := time.Until(end)
		if left <= 0 {
			return true
		}
		if !upstream.Wait(s.ex.Context(), min(left, clientProbeInterval)) {
			return false
		}
		if conn != nil && peerClosed(conn) {
			s.ex.ClientGone()
			return false
		}
	}
}

// fail writes the error of a request no candidate could serve.
func (s *exchange) fail(last *schema.Error) {
	if last.Status == fasthttp.StatusTooManyRequests && last.RetryAfter == 0 {
		last.RetryAfter = 1
	}
	if s.x.Backend != "" {
		s.ctx.Response.Header.Set(HeaderBackend, s.x.Backend) // the last backend tried, for the access log
	}
	if im := s.im; im != nil && im.Status == last.Status {
		writeImmediate(s.ctx, im) // an opaque request gets the picker's answer as it is
		return
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
	s.f.log.Warn("ai: upstream attempt failed, trying the next backend", "rule", s.h.key,
		"backend", c.b.key, "status", e.Status, "error", e.Message)
}

// logRetry logs a retry once every candidate failed.
//
//go:noinline
func (s *exchange) logRetry(retry int, last *schema.Error) {
	s.f.log.Warn("ai: every backend failed, retrying", "rule", s.h.key, "retry", retry, "status", last.Status)
}

// result is the outcome of one attempt.
type result struct {
	err      *schema.Error // nil: a response was written
	retry    bool          // the next candidate may be tried
	wait     time.Duration // the backend asked not to be called for this long
	streamed bool          // a stream was committed to the client
}

func failure(e *schema.Error) result { return result{err: e, retry: retryable(e.Status)} }

// decode decodes the body into the common schema once per exchange; the
// front end's own model and stream are handed to it, so that what was
// checked is what is sent.
func (s *exchange) decode() (*schema.ChatRequest, *schema.Error) {
	if s.op != schema.OpChat {
		return nil, nil
	}
	if s.req == nil && s.reqErr == nil {
		r, err := schema.ParseChatRequest(s.body)
		if err != nil {
			s.reqErr = asSchemaError(err, fasthttp.StatusBadRequest)
		} else {
			r.Model, r.Stream = s.model, s.stream
			s.req = r
		}
	}
	return s.req, s.reqErr
}

// chatRequest is the decoded request with the upstream model set; the
// decoded form is shared between attempts (read only).
func (s *exchange) chatRequest(upstream string) (*schema.ChatRequest, *schema.Error) {
	r, e := s.decode()
	if r == nil || e != nil {
		return r, e
	}
	if r.Model == upstream {
		return r, nil
	}
	cp := *r
	cp.Model = upstream
	return &cp, nil
}

// attempt tries one candidate.
func (s *exchange) attempt(c candidate, deadline time.Time) result {
	if s.opaque {
		return s.attemptOpaque(c, deadline)
	}
	b := c.b
	var req *schema.ChatRequest
	if !b.raw || b.direct != nil {
		var e *schema.Error
		if req, e = s.chatRequest(c.upstream); e != nil {
			return result{err: e}
		}
	}
	// A translator given req reads the upstream model from it, never from
	// raw: the body is rewritten only for adapters that forward or read it.
	raw := s.body
	if c.upstream != s.model && (req == nil || b.raw || b.direct != nil) {
		var err error
		if raw, err = SetModel(s.body, s.model, c.upstream); err != nil {
			return result{err: badRequest("model", "could not set the upstream model")}
		}
	}
	if b.direct != nil {
		return s.direct(b, raw, req)
	}

	tr, err := b.adapter.NewTranslator(s.op, b.cfg)
	if err != nil {
		return result{err: asSchemaError(err, fasthttp.StatusBadRequest)}
	}
	if kt, ok := tr.(providers.KnownRequest); ok && s.optionsKnown {
		kt.Known(s.stream, s.options) // no second walk of a large body
	}
	up, err := tr.Request(raw, req)
	if err != nil {
		return result{err: asSchemaError(err, fasthttp.StatusBadRequest)}
	}
	if err := b.up.signer.Sign(s.ex.Context(), up, s.clientCredentials(b)); err != nil {
		// The client gets a generic message; the cause is for the operator.
		s.f.log.Warn("ai: signing the upstream request failed", "rule", s.h.key, "backend", b.key, "err", err.Error())
		return failure(asSchemaError(err, fasthttp.StatusBadGateway)) // another backend may have credentials
	}
	timeout := s.attemptTimeout(b, deadline)
	if b.pool != nil {
		return s.sendPool(b, s.h.refs[c.i].Endpoints, openAICall(tr, up), timeout)
	}
	return s.send(b, tr, up, timeout)
}

// attemptTimeout bounds an attempt on b to its response headers: the
// backend's timeout, the rule's backendRequest timeout, the request deadline.
func (s *exchange) attemptTimeout(b *backend, deadline time.Time) time.Duration {
	timeout := b.timeout
	if t := s.h.timeouts; t != nil && t.BackendRequest > 0 && t.BackendRequest.D() < timeout {
		timeout = t.BackendRequest.D()
	}
	if !deadline.IsZero() {
		if rem := time.Until(deadline); rem < timeout {
			timeout = rem
		}
	}
	return timeout
}

// send performs the upstream HTTP call of one attempt.
func (s *exchange) send(b *backend, tr providers.Translator, up *schema.Upstream, timeout time.Duration) result {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	req.SetRequestURI(up.URL)
	s.fillRequest(req, up, up.Body)
	resp.StreamBody = up.Stream
	err := b.up.client.DoTimeout(req, resp, timeout)
	fasthttp.ReleaseRequest(req)
	if err != nil {
		fasthttp.ReleaseResponse(resp)
		s.f.log.Warn("ai: upstream request failed", "rule", s.h.key, "backend", b.key,
			"upstream", redactURL(up.URL), "err", err.Error())
		return failure(transportError(err))
	}
	return s.receive(b, tr, up, resp)
}

// fillRequest sets an upstream request's method, content type, headers
// (the translator's, then the request id) and body.
func (s *exchange) fillRequest(req *fasthttp.Request, up *schema.Upstream, body []byte) {
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
	req.SetBodyRaw(body)
}

// receive handles an upstream response of one attempt: a stream is relayed,
// a buffered answer translated and written, a failure returned. It releases resp.
func (s *exchange) receive(b *backend, tr providers.Translator, up *schema.Upstream, resp *fasthttp.Response) result {
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

// detach drops the exchange's references into the request, which fasthttp
// recycles once Serve returns: a committed stream needs neither the body nor
// the headers (the upstream request was sent; an in-process producer has its
// own copy). Policies' Settle then sees Body nil and Header "" for a stream,
// and a long stream does not keep a large prompt alive.
func (s *exchange) detach() {
	s.ex.Detach()
	s.body, s.req, s.reqErr, s.options, s.optionsKnown = nil, nil, nil, nil, false
	s.x.Decoded = nil
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
	if !b.cfg.Auth.Passthrough || s.ex.X.Credential {
		// The client's credential is the gateway's own key when client
		// auth consumed it: never forwarded.
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
