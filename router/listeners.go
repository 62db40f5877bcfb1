package router

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
)

// boundListener is one bound port serving one Bind.
type boundListener struct {
	key      string // address:port/protocol
	port     int
	tls      bool
	ln       net.Listener
	srv      *fasthttp.Server
	done     chan struct{}
	serveErr error
	once     sync.Once
}

func listenerKey(b config.Bind) string {
	return net.JoinHostPort(b.Address, strconv.Itoa(b.Port)) + "/" + b.Protocol
}

// bindAll opens a listener for every bind of st not yet bound. g.mu is held.
func (g *Gateway) bindAll(st *state) error {
	var opened []*boundListener
	for _, b := range st.snap.Binds {
		key := listenerKey(b)
		if _, ok := g.listeners[key]; ok {
			continue
		}
		l, err := g.bind(b, st.server)
		if err != nil {
			for _, o := range opened {
				_ = o.ln.Close()
			}
			return err
		}
		opened = append(opened, l)
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

func (g *Gateway) bind(b config.Bind, lim config.Server) (*boundListener, error) {
	addr := net.JoinHostPort(b.Address, strconv.Itoa(b.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("router: bind %s (%s): %w", b.Key, addr, err)
	}
	l := &boundListener{key: listenerKey(b), port: b.Port, ln: ln, done: make(chan struct{})}
	if b.Protocol == config.ProtocolHTTPS {
		l.tls = true
		port := b.Port
		l.ln = tls.NewListener(ln, &tls.Config{
			MinVersion: tls.VersionTLS12,
			NextProtos: []string{"http/1.1"},
			GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
				return g.certificate(port, hello)
			},
		})
	}
	l.srv = g.newServer(b.Port, lim)
	return l, nil
}

func (l *boundListener) serve() {
	err := l.srv.Serve(l.ln)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		l.serveErr = err
	}
	close(l.done)
}

func (l *boundListener) shutdown(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		err = l.srv.ShutdownWithContext(ctx)
	})
	return err
}

// newServer returns the fasthttp server for one port with the snapshot's
// limits. Limits change with a reload only for newly bound ports.
func (g *Gateway) newServer(port int, lim config.Server) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                       func(ctx *fasthttp.RequestCtx) { g.handle(ctx, port) },
		ErrorHandler:                  g.parseError,
		Name:                          "switchyard",
		NoDefaultServerHeader:         true,
		NoDefaultContentType:          true,
		NoDefaultDate:                 false,
		ReadBufferSize:                lim.MaxHeaderBytes,
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
		if l.Protocol != config.ProtocolHTTPS || l.TLS == nil {
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
