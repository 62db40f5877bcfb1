package router

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/router/h2"
)

// The HTTP/2 path. HTTPS listeners negotiate h2 and h2c listeners take
// HTTP/2 with prior knowledge; router/h2 serves those connections with
// net/http. gRPC calls go to the GRPCRoutes (router/h2); every other
// HTTP/2 request is turned into a fasthttp request and taken through the
// same path as HTTP/1.1 (Gateway.handle: route matching, filters, policies,
// the access log), and its response, streamed bodies included, is written
// back over HTTP/2. One request path for both protocols costs a copy of the
// request and response headers per HTTP/2 request.

// http2Handler is the HTTP/2 handler of a port.
func (g *Gateway) http2Handler(port int) http.Handler {
	return &h2.Handler{
		Port: port,
		Current: func() *h2.Table {
			if st := g.cur.Load(); st != nil {
				return st.grpc
			}
			return nil
		},
		Fallback: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serveBridged(w, r, port) }),
		Observe:  g.observeGRPC,
		Log:      g.log,
	}
}

// observeGRPC counts and logs a gRPC call.
func (g *Gateway) observeGRPC(r *h2.Record) {
	g.inflight.Add(1)
	defer g.inflight.Done()
	rec := accessRecord{start: r.Start, port: r.Port, route: r.Route, backend: r.Backend, endpoint: r.Endpoint,
		attempts: r.Attempts, status: r.Status, reason: r.Reason, requestID: r.RequestID, method: "POST", path: r.Path,
		client: clientIP(r.Client), grpc: true, grpcStatus: r.GRPCStatus, proto: "HTTP/2"}
	g.metrics.observe(&rec, time.Since(r.Start))
	if st := g.cur.Load(); st != nil && st.accessLog {
		g.logRecord(&rec)
	}
}

func clientIP(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// compileGRPC builds the snapshot's GRPCRoutes with their policy chains.
func (g *Gateway) compileGRPC(st *state, built []policies.Compiled) error {
	chain := func(route string, p config.Policies) (*policies.Chain, error) {
		var ps []policies.Policy
		for _, b := range built {
			own, err := b.Policies(route, p)
			if err != nil {
				return nil, err
			}
			ps = append(ps, own...)
		}
		ps = append(ps, g.opts.Policies...)
		if len(ps) == 0 {
			return nil, nil
		}
		return policies.NewChain(ps...), nil
	}
	t, err := h2.Compile(st.snap, st.gen, chain, g.log)
	if err != nil {
		return err
	}
	st.grpc = t
	return nil
}

// ctxPool holds the fasthttp request contexts of bridged HTTP/2 requests.
var ctxPool = sync.Pool{New: func() any { return new(fasthttp.RequestCtx) }}

// serveBridged serves a non-gRPC HTTP/2 request through the HTTP/1.1
// request path.
func (g *Gateway) serveBridged(w http.ResponseWriter, r *http.Request, port int) {
	st := g.cur.Load()
	max := config.DefaultServer().MaxBodyBytes
	if st != nil {
		max = st.server.MaxBodyBytes
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(max)+1))
	if err != nil {
		http.Error(w, `{"error":{"message":"could not read the request body","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	if len(body) > max {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = w.Write([]byte(`{"error":{"message":"request body too large","type":"invalid_request_error"}}`))
		return
	}
	ctx := ctxPool.Get().(*fasthttp.RequestCtx)
	defer ctxPool.Put(ctx)
	var conn net.Conn = &bridgeConn{remote: r.RemoteAddr, done: r.Context().Done()}
	if r.TLS != nil {
		// fasthttp's IsTLS (X-Forwarded-Proto, redirects) asks the conn.
		conn = &tlsBridgeConn{bridgeConn: conn.(*bridgeConn), state: r.TLS}
	}
	ctx.Init2(conn, fasthttpLogger{g.log}, true)
	req := &ctx.Request
	req.Reset()
	ctx.Response.Reset()
	req.Header.SetMethod(r.Method)
	req.SetRequestURI(r.URL.RequestURI())
	req.Header.SetHost(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if len(body) > 0 || r.ContentLength >= 0 {
		req.SetBodyRaw(body)
		req.Header.SetContentLength(len(body))
	}
	g.handle(ctx, port)
	resp := &ctx.Response
	h := w.Header()
	for k, v := range resp.Header.All() {
		switch string(k) {
		case "Connection", "Transfer-Encoding", "Keep-Alive", "Content-Length":
			continue
		}
		h.Add(string(k), string(v))
	}
	if !resp.IsBodyStream() {
		h.Set("Content-Length", itoa(len(resp.Body())))
	}
	w.WriteHeader(resp.StatusCode())
	if resp.IsBodyStream() {
		err = resp.BodyWriteTo(flushWriter{w: w, rc: http.NewResponseController(w)})
		_ = resp.CloseBodyStream()
	} else {
		_, err = w.Write(resp.Body())
	}
	if err != nil && !errors.Is(err, io.EOF) {
		g.log.Debug("h2: response write ended early", "err", err.Error())
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

// flushWriter flushes every write: a streamed body (SSE) reaches the
// client event by event.
type flushWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}

// bridgeConn is the connection a bridged request's fasthttp context sees:
// the HTTP/2 client's address; no socket.
type bridgeConn struct {
	remote string
	done   <-chan struct{}
}

func (c *bridgeConn) Read([]byte) (int, error) {
	<-c.done
	return 0, io.EOF
}
func (c *bridgeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *bridgeConn) Close() error                     { return nil }
func (c *bridgeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *bridgeConn) SetDeadline(time.Time) error      { return nil }
func (c *bridgeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bridgeConn) SetWriteDeadline(time.Time) error { return nil }
func (c *bridgeConn) RemoteAddr() net.Addr {
	if ap, err := net.ResolveTCPAddr("tcp", c.remote); err == nil {
		return ap
	}
	return &net.TCPAddr{}
}

// bridged reports whether c is the conn of a request bridged from HTTP/2.
func bridged(c net.Conn) bool {
	switch c.(type) {
	case *bridgeConn, *tlsBridgeConn:
		return true
	}
	return false
}

// tlsBridgeConn is the bridge conn of a request that came over TLS (h2).
type tlsBridgeConn struct {
	*bridgeConn
	state *tls.ConnectionState
}

// Handshake implements fasthttp's TLS conn check: the handshake is done.
func (c *tlsBridgeConn) Handshake() error { return nil }

// ConnectionState is the client connection's TLS state.
func (c *tlsBridgeConn) ConnectionState() tls.ConnectionState { return *c.state }
