package ai

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// dialTimeout bounds one TCP connect to an upstream.
const dialTimeout = 5 * time.Second

// connRegistry remembers the backend's open connections by local address, so
// that a streamed response can lift the read deadline fasthttp set for the
// attempt's time-to-headers once the headers have arrived.
type connRegistry struct {
	mu     sync.Mutex
	byAddr map[string]net.Conn
	dialer fasthttp.TCPDialer
}

func newConnRegistry() *connRegistry {
	return &connRegistry{byAddr: map[string]net.Conn{}, dialer: fasthttp.TCPDialer{Concurrency: 1000}}
}

// trackedConn unregisters itself when closed.
type trackedConn struct {
	net.Conn
	reg  *connRegistry
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.reg.mu.Lock()
		delete(c.reg.byAddr, c.LocalAddr().String())
		c.reg.mu.Unlock()
	})
	return c.Conn.Close()
}

func (r *connRegistry) dial(addr string) (net.Conn, error) {
	c, err := r.dialer.DialTimeout(addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, reg: r}
	r.mu.Lock()
	r.byAddr[c.LocalAddr().String()] = tc
	r.mu.Unlock()
	return tc, nil
}

// clearReadDeadline lifts the read deadline of the connection resp arrived on.
func (r *connRegistry) clearReadDeadline(resp *fasthttp.Response) {
	la := resp.LocalAddr()
	if la == nil {
		return
	}
	r.mu.Lock()
	c := r.byAddr[la.String()]
	r.mu.Unlock()
	if c != nil {
		_ = c.SetReadDeadline(time.Time{})
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

// retryAfter parses a Retry-After (seconds or HTTP date) or retry-after-ms header.
func retryAfter(h *fasthttp.ResponseHeader, now time.Time) time.Duration {
	if v := h.Peek("retry-after-ms"); len(v) > 0 {
		if ms, err := strconv.Atoi(string(v)); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
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
		return time.Duration(s) * time.Second
	}
	if t, err := fasthttp.ParseHTTPDate(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// copyRateLimitHeaders passes the upstream's x-ratelimit-* headers to the client.
func copyRateLimitHeaders(dst *fasthttp.ResponseHeader, src *fasthttp.ResponseHeader) {
	for k, v := range src.All() {
		if len(k) > 12 && equalFoldASCII(k[:12], "x-ratelimit-") {
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
