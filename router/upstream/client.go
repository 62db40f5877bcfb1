package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/dialer"
	"github.com/valyala/fasthttp"
)

// processStart anchors nanotime; it is set once and never changes.
var processStart = time.Now()

// nanotime is a monotonic clock in nanoseconds, cheap to store in an atomic.
func nanotime() int64 { return int64(time.Since(processStart)) }

// Connection pool defaults, used when the snapshot left a field zero.
const (
	defaultMaxConns       = 1024
	defaultMaxIdle        = 60 * time.Second
	defaultConnectTimeout = 5 * time.Second
	// maxConnWait bounds waiting for a free connection when the attempt has no timeout.
	maxConnWait = 30 * time.Second
)

// connectError marks a failure to establish a connection (dial or TLS handshake):
// always retryable, since the request never reached the endpoint.
type connectError struct{ err error }

var _ error = (*connectError)(nil)

// Error implements error.
func (e *connectError) Error() string { return "connect: " + e.err.Error() }

// Unwrap returns the dial or handshake error.
func (e *connectError) Unwrap() error { return e.err }

// newEndpointState builds an endpoint's client. It always returns a state; on error
// the state has no client and is never picked.
func newEndpointState(fp string, e config.Endpoint, s *config.StaticBackend, dials *dialer.Pool) (*endpointState, error) {
	st := &endpointState{
		fp:   fp,
		addr: net.JoinHostPort(e.Host, strconv.Itoa(e.Port)),
		hc:   s.HealthCheck,
		tls:  s.TLS != nil,
	}
	st.conns.m = make(map[connKey]net.Conn)
	var tlsConf *tls.Config
	if s.TLS != nil {
		var err error
		if tlsConf, err = ClientTLS(s.TLS, e.Host); err != nil {
			return st, fmt.Errorf("upstream: endpoint %s: %w", st.addr, err)
		}
	}
	cp := s.ConnectionPool
	maxConns := cp.MaxConnections
	if maxConns <= 0 {
		maxConns = defaultMaxConns
	}
	idle := cp.MaxIdleTime.D()
	if idle <= 0 {
		idle = defaultMaxIdle
	}
	connectTimeout := cp.ConnectTimeout.D()
	if connectTimeout <= 0 {
		connectTimeout = defaultConnectTimeout
	}
	netDialer := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	st.tlsConf, st.connectTimeout = tlsConf, connectTimeout
	st.client = &fasthttp.HostClient{
		Addr:                      st.addr,
		NoDefaultUserAgentHeader:  true,
		DisablePathNormalizing:    true,
		IsTLS:                     tlsConf != nil,
		TLSConfig:                 tlsConf,
		Dial:                      st.dialFunc(netDialer, dials),
		MaxConns:                  maxConns,
		MaxIdleConnDuration:       idle,
		MaxConnWaitTimeout:        maxConnWait,
		MaxIdemponentCallAttempts: 1, // Forward decides retries
		RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		StreamResponseBody:        true,
		ReadBufferSize:            16 << 10, // room for large upstream headers
		WriteBufferSize:           8 << 10,
	}
	st.healthy.Store(true)
	return st, nil
}

// ClientTLS builds the TLS configuration for a backend's connections to host
// (the verified name unless t.ServerName says otherwise); t may be nil.
func ClientTLS(t *config.BackendTLS, host string) (*tls.Config, error) {
	if t == nil {
		t = &config.BackendTLS{}
	}
	conf := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         host,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, documented as tests only
	}
	if t.ServerName != "" {
		conf.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", t.CAFile)
		}
		conf.RootCAs = pool
	}
	return conf, nil
}

// dialFunc dials with the connect timeout, marks failures as connect errors, and
// registers each connection so that Forward can lift the header deadline once a
// response starts to stream.
//
// For a TLS endpoint it also completes the handshake here, within the connect
// timeout: a certificate that does not verify, or an endpoint that accepts but never
// answers the handshake, is then a connect error (the request never reached the
// endpoint, so it is retried elsewhere) instead of a write error that fasthttp would
// hit with no deadline at all. fasthttp leaves a connection that already has a
// Handshake method as it is.
//
// The dial runs on one of dials' goroutines, not on the request's (see
// package dialer: memory per open stream).
func (st *endpointState) dialFunc(d *net.Dialer, dials *dialer.Pool) fasthttp.DialFunc {
	return func(addr string) (net.Conn, error) {
		return dials.Dial(func() (net.Conn, error) { return st.dial(d, addr) })
	}
}

// dial connects to addr (and completes the TLS handshake for a TLS endpoint).
func (st *endpointState) dial(d *net.Dialer, addr string) (net.Conn, error) {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, &connectError{err: err}
	}
	c = st.conns.add(c)
	if st.tlsConf == nil {
		return c, nil
	}
	tc := tls.Client(c, st.tlsConf)
	ctx, cancel := context.WithTimeout(context.Background(), d.Timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, &connectError{err: fmt.Errorf("tls handshake: %w", err)}
	}
	return tc, nil
}

// connRegistry maps a connection's local and remote addresses to the connection.
// The local address alone is not unique: connections to different remote
// addresses (an endpoint hostname resolving to several) may share a local port.
type connRegistry struct {
	mu sync.Mutex
	m  map[connKey]net.Conn
}

// connKey identifies a TCP connection.
type connKey struct{ local, remote netip.AddrPort }

// trackedConn removes itself from its registry on Close.
type trackedConn struct {
	net.Conn
	reg  *connRegistry
	key  connKey
	once sync.Once
}

var _ net.Conn = (*trackedConn)(nil)

// Close implements net.Conn; it also forgets the connection in the registry.
func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.reg.mu.Lock()
		if c.reg.m[c.key] == net.Conn(c) {
			delete(c.reg.m, c.key)
		}
		c.reg.mu.Unlock()
	})
	return c.Conn.Close()
}

func (r *connRegistry) add(c net.Conn) net.Conn {
	key, ok := newConnKey(c.LocalAddr(), c.RemoteAddr())
	if !ok {
		return c
	}
	tc := &trackedConn{Conn: c, reg: r, key: key}
	r.mu.Lock()
	r.m[key] = tc
	r.mu.Unlock()
	return tc
}

// setReadDeadline sets the read deadline of the connection between laddr and raddr.
func (r *connRegistry) setReadDeadline(laddr, raddr net.Addr, t time.Time) {
	key, ok := newConnKey(laddr, raddr)
	if !ok {
		return
	}
	r.mu.Lock()
	c := r.m[key]
	r.mu.Unlock()
	if c != nil {
		_ = c.SetReadDeadline(t)
	}
}

func newConnKey(laddr, raddr net.Addr) (connKey, bool) {
	l, ok1 := addrPort(laddr)
	r, ok2 := addrPort(raddr)
	return connKey{l, r}, ok1 && ok2
}

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta == nil {
		return netip.AddrPort{}, false
	}
	return ta.AddrPort(), true
}

// usable reports whether the endpoint has a client.
func (st *endpointState) usable() bool { return st != nil && st.client != nil }

// stop ends the health checker and closes idle connections.
func (st *endpointState) stop() {
	st.checkMu.Lock()
	c, hc := st.checker, st.checkClient
	st.checker, st.checkClient = nil, nil
	st.checkMu.Unlock()
	c.Stop()
	if hc != nil {
		hc.CloseIdleConnections()
	}
	if st.client != nil {
		st.client.CloseIdleConnections()
	}
}

// classify maps an attempt error to the status the client gets and whether it is a
// connect error.
func classify(err error) (status int, connect bool) {
	var ce *connectError
	switch {
	case errors.As(err, &ce):
		return fasthttp.StatusBadGateway, true
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return fasthttp.StatusServiceUnavailable, false
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return fasthttp.StatusGatewayTimeout, false
	}
	return fasthttp.StatusBadGateway, false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
