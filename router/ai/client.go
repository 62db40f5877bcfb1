package ai

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/dialer"
)

// dialTimeout bounds one TCP connect to an upstream.
const dialTimeout = 5 * time.Second

// upstreamConn is a connection to an upstream, made by the backend client's
// Dial. fasthttp sets its read deadline for the attempt's time to the
// response headers; once a stream's headers have arrived the front end
// switches the connection to an idle deadline, renewed before every Read, so
// that a stream may run for as long as data keeps coming but a hung upstream
// is cut off (see streamIdle). The next SetReadDeadline (fasthttp sets one for
// every request on a reused connection) ends the idle mode.
type upstreamConn struct {
	net.Conn
	local connAddr
	idle  atomic.Int64 // nanoseconds; > 0: every Read first sets the deadline to now+idle
}

var _ net.Conn = (*upstreamConn)(nil)

// connAddr is an upstreamConn's local address. It carries the connection, so
// that the front end finds it from fasthttp.Response.LocalAddr (fasthttp
// records the connection's LocalAddr on the response; a TLS connection
// reports the address of the connection it wraps).
type connAddr struct {
	net.Addr
	c *upstreamConn
}

// LocalAddr implements net.Conn.
func (c *upstreamConn) LocalAddr() net.Addr { return &c.local }

// Read implements net.Conn, applying the idle deadline in idle mode.
func (c *upstreamConn) Read(p []byte) (int, error) {
	if d := c.idle.Load(); d > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(time.Duration(d))); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(p)
}

// SetReadDeadline implements net.Conn; it ends the idle mode.
func (c *upstreamConn) SetReadDeadline(t time.Time) error {
	c.idle.Store(0)
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline implements net.Conn; it ends the idle mode.
func (c *upstreamConn) SetDeadline(t time.Time) error {
	c.idle.Store(0)
	return c.Conn.SetDeadline(t)
}

// configureHostClient gives each host client of a backend's fasthttp.Client
// (one per upstream host) its dialer; for an https host the dialer also
// completes the TLS handshake with a copy of base (the backend's roots and
// session cache) verifying the host's name unless base names another. Dials
// run on dials' goroutines, not on the request's (see package dialer: memory
// per open stream).
func configureHostClient(base *tls.Config, dials *dialer.Pool) func(*fasthttp.HostClient) error {
	d := &fasthttp.TCPDialer{Concurrency: 1000}
	return func(hc *fasthttp.HostClient) error {
		var conf *tls.Config
		if hc.IsTLS {
			host, _, err := net.SplitHostPort(hc.Addr)
			if err != nil {
				return fmt.Errorf("ai: upstream address %q: %w", hc.Addr, err)
			}
			conf = base.Clone()
			if conf.ServerName == "" {
				conf.ServerName = host
			}
		}
		hc.Dial = func(addr string) (net.Conn, error) {
			return dials.Dial(func() (net.Conn, error) { return dial(d, addr, conf) })
		}
		return nil
	}
}

// dial connects to addr and, with conf, completes the TLS handshake, both
// within dialTimeout. fasthttp leaves a connection that already has a
// Handshake method as it is.
func dial(d *fasthttp.TCPDialer, addr string, conf *tls.Config) (net.Conn, error) {
	start := time.Now()
	c, err := d.DialTimeout(addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	uc := &upstreamConn{Conn: c}
	uc.local = connAddr{Addr: c.LocalAddr(), c: uc}
	if conf == nil {
		return uc, nil
	}
	tc := tls.Client(uc, conf)
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(dialTimeout))
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("tls handshake with %s: %w", addr, err)
	}
	return tc, nil
}

// streamIdle switches the connection resp arrived on from fasthttp's
// time-to-headers deadline to an idle deadline of d per Read (d <= 0: no
// deadline at all). It reports false when resp did not arrive on an
// upstreamConn (nor as an h2c stream).
func streamIdle(resp *fasthttp.Response, d time.Duration) bool {
	a, ok := resp.LocalAddr().(*connAddr)
	if !ok || a.c == nil {
		if hb, ok := resp.BodyStream().(*h2cBody); ok {
			hb.setIdle(d) // an h2c stream (h2c.go): no connection of its own
			return true
		}
		return false
	}
	c := a.c
	if d <= 0 {
		return c.SetReadDeadline(time.Time{}) == nil
	}
	if err := c.Conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		return false
	}
	c.idle.Store(int64(d))
	return true
}

// endStreamIdle ends the idle mode of the connection resp arrived on, before
// the connection goes back to the pool.
// streamDeadline ends the idle mode of the connection resp arrived on and
// bounds its reads by one absolute deadline; false when the connection is not
// one of ours.
func streamDeadline(resp *fasthttp.Response, t time.Time) bool {
	a, ok := resp.LocalAddr().(*connAddr)
	if !ok || a.c == nil {
		return false
	}
	return a.c.SetReadDeadline(t) == nil
}

func endStreamIdle(resp *fasthttp.Response) {
	if a, ok := resp.LocalAddr().(*connAddr); ok && a.c != nil {
		a.c.idle.Store(0)
	}
}

// transportError maps a client error to a gateway error: 504 for timeouts,
// 502 for connect failures and broken connections, 503 for a full pool.
func transportError(err error) *schema.Error {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.As(err, &ne) && ne.Timeout():
		return schema.Errorf(fasthttp.StatusGatewayTimeout, schema.ErrTimeout, "the upstream provider did not answer in time")
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return schema.Errorf(fasthttp.StatusServiceUnavailable, schema.ErrUnavailable, "too many requests in flight to the upstream provider")
	}
	return schema.Errorf(fasthttp.StatusBadGateway, schema.ErrServer, "could not reach the upstream provider")
}

// retryable reports whether an attempt that failed with status may be tried on
// another backend: connect errors, timeouts, 429 and 5xx.
func retryable(status int) bool {
	return status == fasthttp.StatusTooManyRequests || status >= 500
}

// maxRetryAfter caps how long an upstream's Retry-After keeps its backend
// out of rotation: a huge value (or one that overflows) must not disable a
// backend until the next reload.
const maxRetryAfter = 10 * time.Minute

// retryAfter parses a Retry-After (seconds or HTTP date) or retry-after-ms
// header, capped at maxRetryAfter.
func retryAfter(h *fasthttp.ResponseHeader, now time.Time) time.Duration {
	if v := h.Peek("retry-after-ms"); len(v) > 0 {
		if ms, err := strconv.Atoi(string(v)); err == nil && ms > 0 {
			return time.Duration(min(ms, int(maxRetryAfter/time.Millisecond))) * time.Millisecond
		}
	}
	v := h.Peek("Retry-After")
	if len(v) == 0 {
		return 0
	}
	if s, err := strconv.Atoi(string(v)); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, int(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := fasthttp.ParseHTTPDate(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// copyRateLimitHeaders passes the upstream's x-ratelimit-* headers to the
// client, except those the gateway's own rate limits already set.
func copyRateLimitHeaders(dst *fasthttp.ResponseHeader, src *fasthttp.ResponseHeader) {
	for k, v := range src.All() {
		if len(k) > 12 && equalFoldASCII(k[:12], "x-ratelimit-") && dst.PeekBytes(k) == nil {
			dst.SetBytesKV(k, v)
		}
	}
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
