// Package h2 is the gateway's HTTP/2 path, on net/http and
// golang.org/x/net/http2 (fasthttp speaks HTTP/1.1 only): HTTPS listeners
// negotiate h2 by ALPN and HTTP listeners with h2c accept HTTP/2 with prior
// knowledge (Dispatch sorts each accepted connection onto the HTTP/2 Server
// or the HTTP/1.1 server). On HTTP/2, gRPC calls are served by GRPCRoutes
// (Table, Handler): matched by service, method and headers, run through the
// rule's policy chain, proxied to h2c or TLS backends with trailers and all
// four kinds of streaming preserved, retried on gRPC status codes, and
// failed with a gRPC status. Every other HTTP/2 request goes to the
// fallback handler the router gives, which runs the HTTP/1.1 request path
// (route matching, filters, policies, access log) on it.
package h2

//lint:file-ignore SA1019 net/http serves HTTP/2 only from its own listeners: a connection already sorted by
// Dispatch (TLS done, preface peeked) and read through the reset guard needs x/net's http2.Server.ServeConn.

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http2"

	"github.com/switchyard-ai/switchyard/config"
)

// Limits of the HTTP/2 server, per connection.
const (
	maxConcurrentStreams = 250
	// Envoy-style premature reset guard: a connection that has opened at
	// least minStreamsForResetCheck streams and reset at least half of them
	// is closed (the HTTP/2 rapid reset attack).
	minStreamsForResetCheck = 100
)

// Server serves HTTP/2 connections handed to it by a Dispatch. It lives as
// long as its listener; Shutdown drains it.
type Server struct {
	log *slog.Logger
	h2  *http2.Server
	hs  *http.Server

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
	// ResetsClosed counts connections closed for too many stream resets.
	ResetsClosed atomic.Int64
}

// NewServer returns an HTTP/2 server with the snapshot's limits serving handler.
func NewServer(lim config.Server, handler http.Handler, log *slog.Logger) *Server {
	hs := &http.Server{
		Handler:           handler,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ReadHeaderTimeout: lim.ReadTimeout.D(),
		IdleTimeout:       lim.IdleTimeout.D(),
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	h2s := &http2.Server{
		MaxConcurrentStreams:         maxConcurrentStreams,
		MaxReadFrameSize:             1 << 20,
		IdleTimeout:                  lim.IdleTimeout.D(),
		MaxUploadBufferPerConnection: 1 << 20,
		MaxUploadBufferPerStream:     1 << 20,
		// A CONTINUATION flood is bounded by MaxHeaderBytes (hs): the
		// server refuses a header block past it and closes the connection.
	}
	if err := http2.ConfigureServer(hs, h2s); err != nil {
		panic(err) // only when called twice on one server
	}
	return &Server{log: log, h2: h2s, hs: hs, conns: map[net.Conn]struct{}{}}
}

// ServeConn serves one HTTP/2 connection (its preface not yet read) until it ends.
func (s *Server) ServeConn(c net.Conn) {
	s.wg.Add(1)
	defer s.wg.Done()
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	var guarded net.Conn = &resetGuard{Conn: c, s: s}
	if tc, ok := c.(*tls.Conn); ok {
		// The HTTP/2 server takes r.TLS (and its TLS checks) from the conn.
		guarded = &tlsResetGuard{resetGuard: guarded.(*resetGuard), tc: tc}
	}
	s.h2.ServeConn(guarded, &http2.ServeConnOpts{
		Context:    context.Background(),
		BaseConfig: s.hs,
		Handler:    s.hs.Handler,
	})
}

// Shutdown sends GOAWAY to every connection, waits for their streams to
// end until ctx is done, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	_ = s.hs.Shutdown(ctx) // runs the graceful GOAWAY of the HTTP/2 connections
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			_ = c.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// resetGuard reads the client's frame headers as they pass and closes the
// connection when the client resets too many of the streams it opens.
type resetGuard struct {
	net.Conn
	s       *Server
	preface int // preface bytes still to skip
	hdr     [9]byte
	hdrN    int
	skip    uint32 // payload bytes of the current frame still to skip
	streams int
	resets  int
	tripped bool
	started bool
}

func (g *resetGuard) Read(p []byte) (int, error) {
	if !g.started {
		g.started, g.preface = true, len(http2.ClientPreface)
	}
	n, err := g.Conn.Read(p)
	g.scan(p[:n])
	if g.tripped {
		_ = g.Conn.Close()
		return 0, errTooManyResets
	}
	return n, err
}

var errTooManyResets = errors.New("h2: too many stream resets")

// tlsResetGuard is the reset guard of a TLS connection: it tells its TLS state.
type tlsResetGuard struct {
	*resetGuard
	tc *tls.Conn
}

// ConnectionState is the TLS connection's state.
func (g *tlsResetGuard) ConnectionState() tls.ConnectionState { return g.tc.ConnectionState() }

// scan follows the frame boundaries in b.
func (g *resetGuard) scan(b []byte) {
	for len(b) > 0 {
		switch {
		case g.preface > 0:
			k := min(g.preface, len(b))
			g.preface -= k
			b = b[k:]
		case g.skip > 0:
			k := min(int(g.skip), len(b))
			g.skip -= uint32(k)
			b = b[k:]
		default:
			k := copy(g.hdr[g.hdrN:], b)
			g.hdrN += k
			b = b[k:]
			if g.hdrN < len(g.hdr) {
				return
			}
			g.hdrN = 0
			g.skip = uint32(g.hdr[0])<<16 | uint32(g.hdr[1])<<8 | uint32(g.hdr[2])
			switch http2.FrameType(g.hdr[3]) {
			case http2.FrameHeaders:
				g.streams++
			case http2.FrameRSTStream:
				g.resets++
				if g.streams >= minStreamsForResetCheck && 2*g.resets >= g.streams && !g.tripped {
					g.tripped = true
					g.s.ResetsClosed.Add(1)
					g.s.log.Warn("h2: closing a connection that resets most of its streams", "client", g.RemoteAddr().String(),
						"streams", g.streams, "resets", g.resets)
				}
			}
		}
	}
}

// Dispatch is the listener the HTTP/1.1 server accepts from: it takes each
// connection from the socket and either hands it to the HTTP/2 Server (h2
// by ALPN on a TLS listener; the HTTP/2 preface on an h2c one) or passes it
// on. A connection that does not say what it speaks within timeout is closed.
type Dispatch struct {
	ln      net.Listener
	tls     *tls.Config // nil: plaintext
	h2c     bool
	timeout time.Duration
	srv     *Server
	ch      chan net.Conn
	done    chan struct{}
	once    sync.Once
}

// NewDispatch starts sorting ln's connections. With tlsConf the handshake
// is done here (h2 is offered first); with h2c the first bytes are peeked.
func NewDispatch(ln net.Listener, tlsConf *tls.Config, h2c bool, timeout time.Duration, srv *Server) *Dispatch {
	d := &Dispatch{ln: ln, tls: tlsConf, h2c: h2c, timeout: timeout, srv: srv, ch: make(chan net.Conn), done: make(chan struct{})}
	go d.loop()
	return d
}

func (d *Dispatch) loop() {
	var delay time.Duration
	for {
		c, err := d.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			d.Close()
			return
		}
		delay = 0
		go d.sort(c)
	}
}

// sort decides what c speaks.
func (d *Dispatch) sort(c net.Conn) {
	if d.tls != nil {
		tc := tls.Server(c, d.tls)
		ctx, cancel := context.WithTimeout(context.Background(), d.timeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			_ = c.Close()
			return
		}
		if tc.ConnectionState().NegotiatedProtocol == http2.NextProtoTLS {
			d.srv.ServeConn(tc)
			return
		}
		d.pass(tc)
		return
	}
	if !d.h2c {
		d.pass(c)
		return
	}
	pc, isH2, err := peekPreface(c, d.timeout)
	if err != nil {
		_ = c.Close()
		return
	}
	if isH2 {
		d.srv.ServeConn(pc)
		return
	}
	d.pass(pc)
}

func (d *Dispatch) pass(c net.Conn) {
	select {
	case d.ch <- c:
	case <-d.done:
		_ = c.Close()
	}
}

// Accept implements net.Listener.
func (d *Dispatch) Accept() (net.Conn, error) {
	select {
	case c := <-d.ch:
		return c, nil
	case <-d.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener: it closes the socket.
func (d *Dispatch) Close() error {
	var err error
	d.once.Do(func() {
		err = d.ln.Close()
		close(d.done)
	})
	return err
}

// Addr implements net.Listener.
func (d *Dispatch) Addr() net.Addr { return d.ln.Addr() }

// peekPreface reads as many bytes as it takes to tell an HTTP/2 client
// preface from an HTTP/1.1 request; the returned conn replays them.
func peekPreface(c net.Conn, timeout time.Duration) (net.Conn, bool, error) {
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	preface := http2.ClientPreface
	buf := make([]byte, 0, len(preface))
	for len(buf) < len(preface) {
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if string(buf) != preface[:len(buf)] {
			return &prefixConn{Conn: c, prefix: buf}, false, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	return &prefixConn{Conn: c, prefix: buf}, true, nil
}

// prefixConn reads prefix before the connection's own bytes.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// Buffered is the number of peeked bytes not yet read again.
func (p *prefixConn) Buffered() int { return len(p.prefix) }

// SyscallConn exposes the socket (for client-gone probes) when there is one.
func (p *prefixConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := p.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}
