package router

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/h2"
	"github.com/switchyard-ai/switchyard/router/l4"
)

// boundListener is one bound port serving one Bind.
type boundListener struct {
	key      string // address:port/protocol
	bind     config.Bind
	lim      config.Server
	port     int
	tls      bool
	ln       net.Listener
	srv      *fasthttp.Server
	l4       *l4.Listener // a TCP or TLS port's proxy instead of srv
	h2       *h2.Server   // the HTTP/2 connections of an HTTPS or h2c port
	done     chan struct{}
	serveErr error
	once     sync.Once
	// conns are the open client connections, so that a shutdown whose drain
	// time ran out can close the ones still busy (long streams).
	conns connSet
}

// track follows the server's connections (fasthttp's ConnState hook).
func (l *boundListener) track(c net.Conn, st fasthttp.ConnState) {
	switch st {
	case fasthttp.StateNew:
		l.conns.add(c)
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		l.conns.remove(c)
	}
}

// connSet is a listener's open connections. A map under a mutex rather than
// a sync.Map: fasthttp calls the hook from its accept loop for every new
// connection, and sync.Map allocates for every key it stores.
type connSet struct {
	mu sync.Mutex
	m  map[net.Conn]struct{}
}

func (s *connSet) add(c net.Conn) {
	s.mu.Lock()
	if s.m == nil {
		s.m = make(map[net.Conn]struct{})
	}
	s.m[c] = struct{}{}
	s.mu.Unlock()
}

func (s *connSet) remove(c net.Conn) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

// all returns the connections open now.
func (s *connSet) all() []net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]net.Conn, 0, len(s.m))
	for c := range s.m {
		out = append(out, c)
	}
	return out
}

func listenerKey(b config.Bind) string {
	if b.H2C {
		return net.JoinHostPort(b.Address, strconv.Itoa(b.Port)) + "/" + b.Protocol + "+h2c"
	}
	return net.JoinHostPort(b.Address, strconv.Itoa(b.Port)) + "/" + b.Protocol
}

// bindAll opens a listener for every bind of st not yet bound. g.mu is held.
//
// A bind whose port is already bound under another key (its protocol or
// address changed) takes the port over: the old listener's socket is closed
// first, its connections drain in the background. When a bind fails, the
// sockets taken over are bound again as they were.
func (g *Gateway) bindAll(st *state) error {
	var opened, replaced []*boundListener
	fail := func(err error) error {
		for _, o := range opened {
			_ = o.ln.Close()
		}
		for _, old := range replaced {
			l, rerr := g.bind(old.bind, old.lim)
			if rerr != nil {
				g.log.Error("could not bind again a listener whose replacement failed", "bind", old.key, "err", rerr.Error())
				delete(g.listeners, old.key)
				continue
			}
			g.listeners[old.key] = l
			go l.serve()
		}
		return err
	}
	for _, b := range st.snap.Binds {
		key := listenerKey(b)
		if _, ok := g.listeners[key]; ok {
			continue
		}
		for okey, old := range g.listeners {
			if old.port == b.Port && okey != key && !compatibleBinds(old.bind, b) && !slices.Contains(replaced, old) {
				g.log.Info("rebinding port for a new protocol or address", "old", okey, "new", key)
				_ = old.ln.Close()
				replaced = append(replaced, old)
			}
		}
		l, err := g.bind(b, st.server)
		if err != nil {
			return fail(err)
		}
		opened = append(opened, l)
	}
	for _, old := range replaced {
		delete(g.listeners, old.key)
		go func(l *boundListener) {
			ctx, cancel := context.WithTimeout(context.Background(), st.server.DrainTimeout.D())
			defer cancel()
			_ = l.shutdown(ctx)
		}(old)
	}
	for _, l := range opened {
		g.listeners[l.key] = l
		g.log.Info("listening", "bind", l.key)
		go l.serve()
	}
	return nil
}

// unbindStale closes listeners whose bind is no longer configured. g.mu is held.
func (g *Gateway) unbindStale(st *state) {
	want := map[string]bool{}
	for _, b := range st.snap.Binds {
		want[listenerKey(b)] = true
	}
	for key, l := range g.listeners {
		if want[key] {
			continue
		}
		delete(g.listeners, key)
		g.log.Info("closing listener no longer configured", "bind", key)
		go func(l *boundListener) {
			ctx, cancel := context.WithTimeout(context.Background(), st.server.DrainTimeout.D())
			defer cancel()
			_ = l.shutdown(ctx)
		}(l)
	}
}

// compatibleBinds reports whether two binds of one port can be bound side by
// side: different specific addresses (127.0.0.1 and 127.0.0.2). A wildcard
// address overlaps every other address of its port.
func compatibleBinds(a, b config.Bind) bool {
	if a.Port != b.Port {
		return true
	}
	wild := func(s string) bool {
		ip := net.ParseIP(s)
		return s == "" || (ip != nil && ip.IsUnspecified())
	}
	return a.Address != b.Address && !wild(a.Address) && !wild(b.Address)
}

func (g *Gateway) bind(b config.Bind, lim config.Server) (*boundListener, error) {
	addr := net.JoinHostPort(b.Address, strconv.Itoa(b.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("router: bind %s (%s): %w", b.Key, addr, err)
	}
	l := &boundListener{key: listenerKey(b), bind: b, lim: lim, port: b.Port, ln: wrapReadAhead(ln), done: make(chan struct{})}
	if b.Protocol == config.ProtocolTCP || b.Protocol == config.ProtocolTLS {
		l.ln = ln
		l.l4 = g.l4.Listen(ln, b.Port)
		return l, nil
	}
	if b.Protocol == config.ProtocolHTTPS || b.H2C {
		// HTTP/2 (h2 by ALPN, or h2c by its preface) goes to net/http; the
		// rest to fasthttp, which accepts from the Dispatch.
		l.h2 = h2.NewServer(lim, g.http2Handler(b.Port), g.log)
		var conf *tls.Config
		if b.Protocol == config.ProtocolHTTPS {
			l.tls = true
			port := b.Port
			conf = &tls.Config{
				MinVersion: tls.VersionTLS12,
				NextProtos: []string{"h2", "http/1.1"},
				GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
					return g.certificate(port, hello)
				},
			}
		}
		l.ln = h2.NewDispatch(l.ln, conf, b.H2C, lim.ReadTimeout.D(), l.h2)
	}
	l.srv = g.newServer(b.Port, lim)
	l.srv.ConnState = l.track
	return l, nil
}

func (l *boundListener) serve() {
	var err error
	if l.l4 != nil {
		err = l.l4.Serve()
	} else {
		err = l.srv.Serve(l.ln)
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		l.serveErr = err
	}
	close(l.done)
}

func (l *boundListener) shutdown(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		// Close the socket here: fasthttp's Shutdown does nothing when Serve
		// has not registered the listener yet, and Serve would then run on.
		_ = l.ln.Close()
		if l.l4 != nil {
			err = l.l4.Shutdown(ctx)
			return
		}
		var h2err error
		var wg sync.WaitGroup
		if l.h2 != nil {
			wg.Add(1)
			go func() { defer wg.Done(); h2err = l.h2.Shutdown(ctx) }()
		}
		err = l.srv.ShutdownWithContext(ctx)
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
		wg.Wait()
		err = errors.Join(err, h2err)
		if ctx.Err() != nil {
			// The drain time is over: close what is still open (streams that
			// outlived it), so that nothing is served by a closed listener.
			for _, c := range l.conns.all() {
				_ = c.Close()
			}
		}
	})
	return err
}

// newServer returns the fasthttp server for one port with the snapshot's
// limits. Limits change with a reload only for newly bound ports.
func (g *Gateway) newServer(port int, lim config.Server) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:               func(ctx *fasthttp.RequestCtx) { g.handle(ctx, port) },
		ErrorHandler:          g.parseError,
		Name:                  "switchyard",
		NoDefaultServerHeader: true,
		NoDefaultContentType:  true,
		NoDefaultDate:         false,
		// fasthttp's read buffer is fixed in size and is also the request
		// header limit: it cannot start small and grow to MaxHeaderBytes.
		// ReduceMemoryUsage returns it (and the write buffer) to a pool while
		// the connection is idle or a response is being streamed, so a
		// long-lived stream does not hold MaxHeaderBytes for its lifetime.
		// Its price, a 1-byte read per keep-alive request before the
		// request's own read, is folded into one read by readAheadConn.
		ReadBufferSize:                lim.MaxHeaderBytes,
		ReduceMemoryUsage:             true,
		MaxRequestBodySize:            lim.MaxBodyBytes,
		ReadTimeout:                   lim.ReadTimeout.D(),
		WriteTimeout:                  lim.WriteTimeout.D(),
		IdleTimeout:                   lim.IdleTimeout.D(),
		DisablePreParseMultipartForm:  true,
		CloseOnShutdown:               true,
		SecureErrorLogMessage:         true,
		DisableHeaderNamesNormalizing: false,
		Logger:                        fasthttpLogger{g.log},
	}
}

// certificate picks the HTTPS certificate for a ClientHello by SNI.
func (g *Gateway) certificate(port int, hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	st := g.cur.Load()
	if st == nil {
		return nil, errors.New("router: no configuration loaded")
	}
	certs := st.certs[port]
	if len(certs) == 0 {
		return nil, fmt.Errorf("router: no certificate for port %d", port)
	}
	for _, c := range certs {
		if hello.SupportsCertificate(c) == nil {
			return c, nil
		}
	}
	return certs[0], nil
}

// loadCertificates reads every HTTPS listener's key pairs, by port.
func loadCertificates(snap *config.Snapshot) (map[int][]*tls.Certificate, error) {
	out := map[int][]*tls.Certificate{}
	for _, l := range snap.Config.Listeners {
		if l.TLS == nil || l.TLS.Mode != config.TLSModeTerminate || (l.Protocol != config.ProtocolHTTPS && l.Protocol != config.ProtocolTLS) {
			continue
		}
		for _, c := range l.TLS.Certificates {
			pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("router: listener %q: load certificate %s: %w", l.Name, c.CertFile, err)
			}
			out[l.Port] = append(out[l.Port], &pair)
		}
	}
	return out, nil
}

type fasthttpLogger struct {
	log interface{ Debug(string, ...any) }
}

func (f fasthttpLogger) Printf(format string, args ...any) {
	f.log.Debug(fmt.Sprintf(format, args...))
}
