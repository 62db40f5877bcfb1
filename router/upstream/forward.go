package upstream

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/valyala/fasthttp"
)

// Retry defaults.
const (
	defaultBackoff = 25 * time.Millisecond
	// maxBackoffFactor caps the exponential backoff at this multiple of the base.
	maxBackoffFactor = 10
)

// defaultRetryCodes are retried when a Retry lists no codes.
var defaultRetryCodes = [...]int{fasthttp.StatusBadGateway, fasthttp.StatusServiceUnavailable, fasthttp.StatusGatewayTimeout}

// errNoEndpoint is the cause of a 503 when no endpoint is usable.
var errNoEndpoint = errors.New("no healthy endpoint")

// Options are the route rule's policies for one Forward.
type Options struct {
	// Context is the request's: a retry's backoff ends early when it ends
	// (the client went away). Nil: context.Background().
	Context context.Context
	// Timeouts: Request bounds the whole call including retries and the response
	// stream; BackendRequest bounds each attempt up to the response headers.
	Timeouts *config.Timeouts
	// Retry retries connect errors and the listed statuses on another endpoint.
	Retry *config.Retry
	// ForwardedHost, when set, is sent as X-Forwarded-Host (the Host the client sent,
	// when a rewrite changed it). Default: the Host header of ctx.Request.
	ForwardedHost string
}

// Result describes a Forward: the endpoint that answered (or was tried last), the
// number of attempts, and the upstream status (0 when none answered).
type Result struct {
	Endpoint string
	Attempts int
	Status   int
}

// StatusError is an error with the HTTP status the client should get: 502 for a
// connect or protocol error, 503 when no endpoint is usable or the connection pool is
// full, 504 on timeout, 500 for an unknown backend.
type StatusError struct {
	// Status is the HTTP status the client should get (502, 503, 504, 500).
	Status int
	// Err is the cause, for logs.
	Err error
}

var _ error = (*StatusError)(nil)

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("upstream: status %d: %v", e.Status, e.Err)
}

// Unwrap returns the cause.
func (e *StatusError) Unwrap() error { return e.Err }

// Forward sends ctx.Request (already filtered and rewritten by the caller) to a
// usable endpoint of the static backend and puts the upstream response in
// ctx.Response, its body as a stream that the server writes (chunked bodies are
// flushed chunk by chunk, so SSE events reach the client as they arrive). Hop-by-hop
// headers are removed both ways and X-Forwarded-For/-Proto/-Host are set.
//
// Connect errors and statuses in opts.Retry.Codes are retried on a new endpoint when
// one exists, after an exponential backoff with jitter; a request whose body is a
// stream is never retried, nor is a response once handed to ctx. When the last
// attempt answers with a retryable status, that answer is returned as is.
//
// On failure Forward returns a *StatusError and leaves ctx.Response untouched.
// Forward is safe for concurrent use.
func (p *Pool) Forward(ctx *fasthttp.RequestCtx, backend string, opts Options) (Result, error) {
	b := p.backends[backend]
	if b == nil {
		return Result{}, &StatusError{Status: fasthttp.StatusInternalServerError,
			Err: fmt.Errorf("unknown static backend %q", backend)}
	}
	return p.forward(ctx, b, opts)
}

// Backend is a static backend of a Pool resolved by name once (when a
// rule's handler is built), so that a request does not look it up.
type Backend struct{ b *backend }

// Lookup resolves a backend key; false when the Pool has no such static backend.
func (p *Pool) Lookup(name string) (Backend, bool) {
	b := p.backends[name]
	return Backend{b: b}, b != nil
}

// Name is the backend's key.
func (h Backend) Name() string { return h.b.name }

// ForwardTo is Forward to a backend resolved with Lookup.
func (p *Pool) ForwardTo(ctx *fasthttp.RequestCtx, h Backend, opts Options) (Result, error) {
	return p.forward(ctx, h.b, opts)
}

func (p *Pool) forward(ctx *fasthttp.RequestCtx, b *backend, opts Options) (Result, error) {
	var res Result
	backend := b.name
	var deadline time.Time
	var perAttempt time.Duration
	if t := opts.Timeouts; t != nil {
		if t.Request > 0 {
			deadline = time.Now().Add(t.Request.D())
		}
		perAttempt = t.BackendRequest.D()
	}
	maxAttempts := 1
	if r := opts.Retry; r != nil && r.Attempts > 0 && !ctx.Request.IsBodyStream() {
		maxAttempts += r.Attempts
	}

	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	prepareRequest(ctx, req, b.tls, opts.ForwardedHost)
	noHost := len(req.Header.Host()) == 0
	resp := fasthttp.AcquireResponse()
	handedOff := false
	defer func() {
		if !handedOff {
			fasthttp.ReleaseResponse(resp)
		}
	}()

	var tried uint64
	var lastErr error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if attempt > 1 && !sleepBackoff(opts.Context, opts.Retry, attempt-1, deadline) {
			break
		}
		i := b.pick(tried)
		if i < 0 {
			if lastErr == nil {
				lastErr = &StatusError{Status: fasthttp.StatusServiceUnavailable,
					Err: fmt.Errorf("backend %s: %w", backend, errNoEndpoint)}
			}
			break
		}
		if i < 64 {
			tried |= 1 << uint(i)
		}
		st := b.members[i].st
		res.Endpoint, res.Attempts = st.addr, attempt
		if noHost {
			// An HTTP/1.0 client may omit Host; HTTP/1.1 to the upstream needs one.
			req.Header.SetHost(st.addr)
		}
		timeout := perAttempt
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				lastErr = &StatusError{Status: fasthttp.StatusGatewayTimeout,
					Err: fmt.Errorf("backend %s: request timeout", backend)}
				break
			}
			if timeout <= 0 || left < timeout {
				timeout = left
			}
		}

		st.active.Add(1)
		var err error
		if timeout > 0 {
			err = st.client.DoTimeout(req, resp, timeout)
		} else {
			err = st.client.Do(req, resp)
		}
		if err != nil {
			st.active.Add(-1)
			status, connect := classify(err)
			if status == fasthttp.StatusGatewayTimeout && resp.LocalAddr() == nil {
				// The attempt timed out before a connection was free: the pool is full.
				status = fasthttp.StatusServiceUnavailable
				err = fmt.Errorf("wait for a free connection: %w", err)
			}
			b.record(st, status != fasthttp.StatusServiceUnavailable) // a full local pool is no outlier
			lastErr = &StatusError{Status: status, Err: fmt.Errorf("backend %s endpoint %s: %w", backend, st.addr, err)}
			if connect || retryable(opts.Retry, status) {
				continue
			}
			break
		}
		status := resp.StatusCode()
		res.Status = status
		b.record(st, status >= 500)
		if attempt < maxAttempts && retryable(opts.Retry, status) {
			_ = resp.CloseBodyStream()
			st.active.Add(-1)
			lastErr = &StatusError{Status: status,
				Err: fmt.Errorf("backend %s endpoint %s: answered %d", backend, st.addr, status)}
			continue
		}
		handedOff = p.respond(ctx, resp, st, deadline)
		return res, nil
	}
	return res, lastErr
}

// respond moves the upstream response into ctx.Response; true when resp now belongs
// to the body stream (released when the server closes it).
func (p *Pool) respond(ctx *fasthttp.RequestCtx, resp *fasthttp.Response, st *endpointState, deadline time.Time) bool {
	h := &ctx.Response.Header
	resp.Header.CopyTo(h)
	stripResponseHopByHop(h)
	if status := resp.StatusCode(); status == fasthttp.StatusNoContent || status < fasthttp.StatusOK {
		// RFC 9110 section 8.6: no Content-Length on a 1xx or 204, even when the
		// upstream sent one (a 304 may keep the representation's).
		h.Del(fasthttp.HeaderContentLength)
	}
	body := resp.BodyStream()
	if body == nil {
		if b := resp.Body(); len(b) > 0 {
			ctx.Response.SetBody(b)
		}
		st.active.Add(-1)
		return false
	}
	// The attempt's header deadline is still on the connection: the stream is bounded
	// by the whole request's deadline only (none when zero).
	st.conns.setReadDeadline(resp.LocalAddr(), resp.RemoteAddr(), deadline)
	size := resp.Header.ContentLength()
	if size < 0 {
		size = -1
	}
	s := p.acquireStream(resp, st)
	if size < 0 {
		ctx.Response.ImmediateHeaderFlush = true
	}
	ctx.Response.SetBodyStream(s, size)
	return true
}

// retryable reports whether status is in the retry policy's codes.
func retryable(r *config.Retry, status int) bool {
	if r == nil || r.Attempts <= 0 {
		return false
	}
	if len(r.Codes) == 0 {
		return slices.Contains(defaultRetryCodes[:], status)
	}
	return slices.Contains(r.Codes, status)
}

// backoff is base*2^(retry-1), capped at maxBackoffFactor*base, with jitter: a
// uniform draw from the upper half.
func backoff(r *config.Retry, retry int) time.Duration {
	base := defaultBackoff
	if r != nil && r.Backoff > 0 {
		base = r.Backoff.D()
	}
	d := base * maxBackoffFactor
	if retry <= 4 { // 2^4 > maxBackoffFactor
		d = min(base<<(retry-1), d)
	}
	half := d / 2
	return half + rand.N(half+1)
}

// sleepBackoff waits before retry number retry; false when the wait would reach the
// request's deadline or ctx ended (the client went away).
func sleepBackoff(ctx context.Context, r *config.Retry, retry int, deadline time.Time) bool {
	d := backoff(r, retry)
	if !deadline.IsZero() && time.Until(deadline) <= d {
		return false
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return Wait(ctx, d)
}
