package l4

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Proxy serves the TCP and TLS ports of a gateway. It lives as long as the
// gateway; the Table it serves changes with each snapshot (Current).
type Proxy struct {
	log     *slog.Logger
	current func() *Table
	metrics *metrics

	mu        sync.Mutex
	listeners map[*Listener]struct{}
}

// NewProxy returns a Proxy reading the current Table from current and
// registering its metrics in reg.
func NewProxy(log *slog.Logger, reg prometheus.Registerer, current func() *Table) *Proxy {
	return &Proxy{log: log, current: current, metrics: newMetrics(reg), listeners: map[*Listener]struct{}{}}
}

// Listener is one bound TCP or TLS port.
type Listener struct {
	p    *Proxy
	ln   net.Listener
	port int

	mu    sync.Mutex
	conns map[*conn]struct{}
	wg    sync.WaitGroup
	done  chan struct{}
	once  sync.Once
}

// conn is one proxied client connection.
type conn struct {
	client  net.Conn
	backend atomic.Pointer[net.Conn]
	table   *Table
	route   *Route
}

func (c *conn) close() {
	_ = c.client.Close()
	if b := c.backend.Load(); b != nil {
		_ = (*b).Close()
	}
}

// Listen wraps a bound socket; Serve accepts on it (and makes its
// connections visible to Retire while it does).
func (p *Proxy) Listen(ln net.Listener, port int) *Listener {
	return &Listener{p: p, ln: ln, port: port, conns: map[*conn]struct{}{}, done: make(chan struct{})}
}

// Serve accepts connections until the listener is closed.
func (l *Listener) Serve() error {
	defer close(l.done)
	l.p.mu.Lock()
	l.p.listeners[l] = struct{}{}
	l.p.mu.Unlock()
	defer func() {
		l.p.mu.Lock()
		delete(l.p.listeners, l)
		l.p.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		l.wg.Add(1)
		go l.handle(c)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// Shutdown closes the socket and waits for open connections to end until
// ctx is done; then it closes those still open.
func (l *Listener) Shutdown(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		_ = l.ln.Close()
		idle := make(chan struct{})
		go func() { l.wg.Wait(); close(idle) }()
		select {
		case <-idle:
		case <-ctx.Done():
			l.mu.Lock()
			for c := range l.conns {
				c.close()
			}
			l.mu.Unlock()
			err = ctx.Err()
		}
	})
	return err
}

// Retire closes, after drain, the open connections begun on an older table
// whose route the new table no longer serves as it was (removed, or its
// backends changed). Connections whose route is kept go on.
func (p *Proxy) Retire(next *Table, drain time.Duration) {
	time.AfterFunc(drain, func() {
		p.mu.Lock()
		ls := make([]*Listener, 0, len(p.listeners))
		for l := range p.listeners {
			ls = append(ls, l)
		}
		p.mu.Unlock()
		for _, l := range ls {
			l.mu.Lock()
			for c := range l.conns {
				if c.table != next && c.route != nil && !next.keeps(c.route.Key, c.route.identity()) && !p.current().keeps(c.route.Key, c.route.identity()) {
					c.close()
				}
			}
			l.mu.Unlock()
		}
	})
}

func (l *Listener) track(c *conn, on bool) {
	l.mu.Lock()
	if on {
		l.conns[c] = struct{}{}
	} else {
		delete(l.conns, c)
	}
	l.mu.Unlock()
}

// handle proxies one client connection.
func (l *Listener) handle(nc net.Conn) {
	defer l.wg.Done()
	l.p.metrics.active.Inc()
	defer l.p.metrics.active.Dec()
	start := time.Now()
	t := l.p.current()
	c := &conn{client: nc, table: t}
	l.track(c, true)
	defer l.track(c, false)
	defer c.close()
	rec := record{start: start, port: l.port, client: nc.RemoteAddr().String()}
	defer func() { l.p.finish(t, &rec) }()
	var p *port
	if t != nil {
		p = t.ports[l.port]
	}
	if p == nil {
		rec.reason = "no_route"
		return
	}
	var replay []byte
	client := nc
	route := p.tcp
	if p.protocol != "TCP" {
		rec.kind = "tls"
		route, client, replay = l.tlsRoute(p, nc, &rec)
		if route == nil {
			return
		}
	}
	if route == nil {
		rec.reason = "no_route"
		return
	}
	c.route = route
	rec.route = route.Key
	ctx, cancel := context.WithTimeout(context.Background(), route.connect*time.Duration(max(1, len(route.backends)))+route.connect)
	bc, pk, attempts, err := route.dial(ctx, l.p.log)
	cancel()
	rec.attempts = attempts
	if pk != nil {
		rec.backend, rec.endpoint = pk.backend.name, pk.ep.addr
	}
	if err != nil {
		rec.reason = "connect_failed"
		if errors.Is(err, errNoEndpoint) {
			rec.reason = "no_healthy_endpoint"
		}
		return
	}
	c.backend.Store(&bc)
	pk.ep.active.Add(1)
	defer pk.ep.active.Add(-1)
	if route.proxy != "" {
		if _, err := bc.Write(proxyHeader(route.proxy, nc.RemoteAddr(), nc.LocalAddr())); err != nil {
			rec.reason = "backend_write_failed"
			return
		}
	}
	if len(replay) > 0 {
		if _, err := bc.Write(replay); err != nil {
			rec.reason = "backend_write_failed"
			return
		}
		rec.in.Add(int64(len(replay)))
	}
	if err := relay(client, bc, route.idle, &rec.in, &rec.out); err != nil {
		switch {
		case errors.Is(err, errIdle):
			rec.reason = "idle_timeout"
		case errors.Is(err, net.ErrClosed):
			rec.reason = "closed"
		default:
			rec.reason = "reset"
		}
	}
}

// tlsRoute reads the ClientHello (passthrough) or completes the handshake
// (terminate) and finds the route by SNI. It returns the route, the conn to
// relay from and the bytes to send the backend first; a nil route means
// the connection is refused (the reason is in rec).
func (l *Listener) tlsRoute(p *port, nc net.Conn, rec *record) (*Route, net.Conn, []byte) {
	if p.terminate != nil {
		tc := tls.Server(nc, p.terminate)
		ctx, cancel := context.WithTimeout(context.Background(), p.handshake)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			rec.reason = helloReason(err)
			return nil, nil, nil
		}
		name := tc.ConnectionState().ServerName
		rec.sni = name
		r := p.lookupSNI(name)
		if r == nil {
			rec.reason = sniReason(name)
			_ = tc.Close()
		}
		return r, tc, nil
	}
	h, err := peekHello(nc, p.handshake)
	if err != nil {
		rec.reason = helloReason(err)
		return nil, nil, nil
	}
	rec.sni = h.serverName
	r := p.lookupSNI(h.serverName)
	if r == nil {
		rec.reason = sniReason(h.serverName)
		return nil, nil, nil
	}
	return r, nc, h.replay
}

func helloReason(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return "handshake_timeout"
	}
	return "bad_client_hello"
}

func sniReason(name string) string {
	if name == "" {
		return "no_sni"
	}
	return "unknown_sni"
}
