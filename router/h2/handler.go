package h2

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// Record is what the access log and the metrics say about one HTTP/2 gRPC call.
type Record struct {
	Start             time.Time
	Port              int
	RequestID         string
	Path, Client      string
	Route             string // the match key namespace.name.rule.match
	Backend, Endpoint string
	Attempts          int
	Status            int // the HTTP status equivalent of GRPCStatus
	GRPCStatus        int
	Reason            string
}

// Handler serves one port's HTTP/2 requests: gRPC calls by the GRPCRoutes
// of the current Table, everything else by Fallback.
type Handler struct {
	Port     int
	Current  func() *Table
	Fallback http.Handler
	// Observe receives every call's record once it ended (access log, metrics).
	Observe func(*Record)
	Log     *slog.Logger
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor != 2 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		h.Fallback.ServeHTTP(w, r)
		return
	}
	c := &call{h: h, w: w, r: r, rec: Record{Start: time.Now(), Port: h.Port, Path: r.URL.Path, Client: r.RemoteAddr, GRPCStatus: -1}}
	c.serve()
}

// call is one gRPC call through the gateway.
type call struct {
	h       *Handler
	w       http.ResponseWriter
	r       *http.Request
	rec     Record
	started bool // response headers written
}

func (c *call) fail(code int, reason, msg string) {
	c.rec.GRPCStatus, c.rec.Reason = code, reason
	writeStatus(c.w, c.started, code, msg)
}

func (c *call) serve() {
	r := c.r
	x := &policies.Exchange{Start: c.rec.Start, Header: r.Header.Get}
	var rs policies.Reservations
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			c.h.Log.Error("h2: panic while serving a gRPC call", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			c.fail(codeInternal, "panic", "internal error")
		}
		if c.rec.GRPCStatus < 0 {
			c.rec.GRPCStatus = codeOK
		}
		c.rec.Status = httpStatusOf(c.rec.GRPCStatus)
		x.Status = c.rec.Status
		rs.Settle(context.WithoutCancel(r.Context()), x, schema.Usage{})
		if c.h.Observe != nil {
			c.h.Observe(&c.rec)
		}
	}()
	c.rec.RequestID = requestID(r)
	x.RequestID = c.rec.RequestID
	c.w.Header().Set("X-Request-Id", c.rec.RequestID)
	t := c.h.Current()
	rule, key := t.Lookup(c.h.Port, r.Host, r.URL.Path, r.Header)
	if rule == nil {
		c.fail(codeUnimplemented, "no_route", "no GRPCRoute matches "+r.URL.Path)
		return
	}
	c.rec.Route, x.RouteKey, x.RuleKey = key, key, rule.Key
	ctx := r.Context()
	if err := rule.chain.Observe(ctx, x, &rs); err != nil {
		c.deny(err)
		return
	}
	if err := rule.chain.Authenticate(ctx, x, &rs); err != nil {
		c.deny(err)
		return
	}
	if err := rule.chain.Admit(ctx, x, &rs); err != nil {
		c.deny(err)
		return
	}
	for _, hh := range x.ResponseHeaders {
		c.w.Header().Set(hh.Name, hh.Value)
	}
	timeout := rule.request
	if d, ok := parseTimeout(r.Header.Get("Grpc-Timeout")); ok && (timeout == 0 || d < timeout) {
		timeout = d
	}
	var cancel context.CancelFunc
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c.forward(ctx, rule, newBody(r.Body, t.MaxMessageBytes))
}

// deny ends the call with a policy's denial.
func (c *call) deny(err error) {
	code, msg := denialCode(err)
	c.fail(code, "policy_denied", msg)
}

// forward tries the rule's endpoints, retrying what the rule retries.
func (c *call) forward(ctx context.Context, rule *Rule, b *body) {
	tried := make(map[*endpoint]bool, 2)
	for attempt := 1; ; attempt++ {
		b2, ep := rule.pick(tried)
		if ep == nil {
			c.fail(codeUnavailable, "no_healthy_upstream", "no healthy upstream")
			return
		}
		tried[ep] = true
		c.rec.Attempts, c.rec.Backend, c.rec.Endpoint = attempt, b2.name, ep.addr
		if !c.attempt(ctx, rule, b2, ep, b, attempt <= rule.attempts) {
			return
		}
		if !upstream.Wait(ctx, backoff(rule.backoff, attempt)) {
			c.fail(codeDeadlineExceeded, "timeout", "deadline exceeded while waiting to retry")
			return
		}
		if len(tried) >= rule.endpoints() {
			clear(tried) // every endpoint tried: start over
		}
	}
}

func backoff(base time.Duration, attempt int) time.Duration {
	d := base << min(attempt-1, 6)
	return d/2 + rand.N(d/2+1)
}

// attempt makes one upstream call. It returns true when the call
// failed with a retried status before anything reached the client and the
// request stream can be sent again (and mayRetry).
func (c *call) attempt(ctx context.Context, rule *Rule, be *backend, ep *endpoint, b *body, mayRetry bool) (retry bool) {
	actx := ctx
	if rule.perTry > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, rule.perTry)
		defer cancel()
	} else {
		var cancel context.CancelFunc
		actx, cancel = context.WithCancel(ctx)
		defer cancel()
	}
	out := c.outgoing(actx, rule, be, ep, b)
	resp, err := ep.transport.RoundTrip(out)
	if err != nil {
		_ = out.Body.Close()
		switch {
		case b.tooLarge.Load():
			c.fail(codeResourceExhausted, "message_too_large", fmt.Sprintf("request message larger than the gateway's limit of %d bytes", b.limit))
			return false
		case deadlineNear(actx):
			// The backend, told the remaining time in grpc-timeout, may
			// give up (RST_STREAM) a moment before the gateway does.
			c.fail(codeDeadlineExceeded, "timeout", "upstream call timed out")
			return false
		case errors.Is(c.r.Context().Err(), context.Canceled):
			c.rec.GRPCStatus, c.rec.Reason = codeCancelled, "client_gone"
			return false
		}
		be.failed(ep)
		c.h.Log.Warn("h2: upstream call failed", "route", c.rec.Route, "endpoint", ep.addr, "err", err.Error())
		if mayRetry && rule.retry[codeUnavailable] && b.replayable() {
			return true
		}
		c.fail(codeUnavailable, "upstream_unavailable", "upstream connection failed")
		return false
	}
	defer resp.Body.Close()
	if code := statusOf(resp.Header); code >= 0 {
		// Trailers-only: the call ended before any message.
		if code == codeUnavailable {
			be.failed(ep)
		} else {
			ep.Succeeded()
		}
		if code != codeOK && mayRetry && rule.retry[code] && b.replayable() {
			_ = out.Body.Close()
			return true
		}
	} else {
		ep.Succeeded()
	}
	c.relay(actx, rule, resp, b)
	return false
}

// outgoing builds the upstream request of one attempt.
func (c *call) outgoing(ctx context.Context, rule *Rule, be *backend, ep *endpoint, b *body) *http.Request {
	r := c.r
	scheme := "http"
	if be.tls {
		scheme = "https"
	}
	h := make(http.Header, len(r.Header)+1)
	for k, vs := range r.Header {
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Grpc-Timeout":
			continue
		}
		h[k] = vs
	}
	h.Set("Te", "trailers")
	if dl, ok := ctx.Deadline(); ok {
		h.Set("Grpc-Timeout", formatTimeout(time.Until(dl)))
	}
	for _, m := range rule.reqMod {
		modify(h, m)
	}
	out := &http.Request{
		Method:        http.MethodPost,
		URL:           &url.URL{Scheme: scheme, Host: ep.addr, Path: r.URL.Path},
		Proto:         "HTTP/2.0",
		ProtoMajor:    2,
		Header:        h,
		Host:          r.Host,
		Body:          b.attempt(),
		ContentLength: -1,
	}
	return out.WithContext(ctx)
}

// modify applies a header modifier.
func modify(h http.Header, m *config.HeaderModifier) {
	for _, s := range m.Set {
		h.Set(s.Name, s.Value)
	}
	for _, a := range m.Add {
		h.Add(a.Name, a.Value)
	}
	for _, name := range m.Remove {
		h.Del(name)
	}
}

// relay copies the upstream response, messages as they come and trailers.
func (c *call) relay(ctx context.Context, rule *Rule, resp *http.Response, b *body) {
	w := c.w
	wh := w.Header()
	for k, vs := range resp.Header {
		switch k {
		case "Connection", "Keep-Alive", "Transfer-Encoding", "Trailer", "Content-Length":
			continue
		}
		wh[k] = vs
	}
	for _, m := range rule.respMod {
		modify(wh, m)
	}
	if code := statusOf(resp.Header); code >= 0 {
		c.rec.GRPCStatus = code
	}
	w.WriteHeader(resp.StatusCode)
	c.started = true
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				c.rec.GRPCStatus, c.rec.Reason = codeCancelled, "client_gone"
				return
			}
			_ = rc.Flush()
		}
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		switch {
		case b.tooLarge.Load():
			c.fail(codeResourceExhausted, "message_too_large", fmt.Sprintf("request message larger than the gateway's limit of %d bytes", b.limit))
		case deadlineNear(ctx):
			c.fail(codeDeadlineExceeded, "timeout", "upstream call timed out")
		case c.r.Context().Err() != nil:
			c.rec.GRPCStatus, c.rec.Reason = codeCancelled, "client_gone"
		default:
			c.fail(codeUnavailable, "upstream_reset", "upstream stream broken")
		}
		return
	}
	for k, vs := range resp.Trailer {
		wh[http.TrailerPrefix+k] = vs
	}
	if code := statusOf(resp.Trailer); code >= 0 {
		c.rec.GRPCStatus = code
	} else if c.rec.GRPCStatus < 0 {
		c.fail(codeInternal, "no_status", "upstream ended the call without a status")
	}
}

// pick chooses a backend by weight, then an available endpoint by weight,
// skipping tried ones; ejected endpoints are a last resort.
func (r *Rule) pick(tried map[*endpoint]bool) (*backend, *endpoint) {
	now := upstream.Now()
	var fb *backend
	var fallback *endpoint
	order := r.backendOrder()
	for _, b := range order {
		total := 0
		for _, m := range b.members {
			if !tried[m.ep] && m.ep.Available(now) && m.ep.healthy.Load() {
				total += m.weight
			}
		}
		if total > 0 {
			n := rand.IntN(total)
			for _, m := range b.members {
				if tried[m.ep] || !m.ep.Available(now) || !m.ep.healthy.Load() {
					continue
				}
				if n < m.weight {
					return b, m.ep
				}
				n -= m.weight
			}
		}
		for _, m := range b.members {
			if !tried[m.ep] && fallback == nil && m.ep.healthy.Load() {
				fb, fallback = b, m.ep // ejected, but healthy: a last resort
			}
		}
	}
	return fb, fallback
}

// backendOrder is the rule's backends, one chosen by weight first.
func (r *Rule) backendOrder() []*backend {
	if len(r.backends) <= 1 || r.total <= 0 {
		return r.backends
	}
	n := rand.IntN(r.total)
	first := len(r.backends) - 1
	for i, b := range r.backends {
		if n < b.weight {
			first = i
			break
		}
		n -= b.weight
	}
	out := make([]*backend, 0, len(r.backends))
	out = append(out, r.backends[first])
	for i, b := range r.backends {
		if i != first {
			out = append(out, b)
		}
	}
	return out
}

// endpoints counts the rule's endpoints.
func (r *Rule) endpoints() int {
	n := 0
	for _, b := range r.backends {
		n += len(b.members)
	}
	return n
}

// failed records an upstream failure, ejecting per the backend's outlier
// detection (never its last endpoint).
func (b *backend) failed(ep *endpoint) {
	now := upstream.Now()
	ejected := 0
	for _, m := range b.members {
		if m.ep.Ejected(now) {
			ejected++
		}
	}
	ep.FailedAmong(now, b.outlier, len(b.members), ejected)
}

// requestID keeps a sane client x-request-id or makes one.
func requestID(r *http.Request) string {
	if v := r.Header.Get("X-Request-Id"); v != "" && len(v) <= 128 && printable(v) {
		return v
	}
	return strconv.FormatUint(rand.Uint64(), 36)
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// deadlineMargin is how close to its deadline a failed call counts as timed out.
const deadlineMargin = 50 * time.Millisecond

// deadlineNear reports whether ctx's deadline passed or is about to.
func deadlineNear(ctx context.Context) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < deadlineMargin
}
