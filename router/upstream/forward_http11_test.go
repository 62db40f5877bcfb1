package upstream

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/valyala/fasthttp"
)

// TestForwardHTTP10WithoutHost: an HTTP/1.0 client may omit Host; the upstream
// gets HTTP/1.1 (the gateway's own version) with the endpoint as Host, instead
// of a 502 for a request the client had every right to send.
func TestForwardHTTP10WithoutHost(t *testing.T) {
	type seen struct{ proto, host string }
	got := make(chan seen, 1)
	ep := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Proto, r.Host}
		_, _ = w.Write([]byte("ok"))
	})
	p := newTestPool(t, static(ep), nil)
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.Header.SetProtocol("HTTP/1.0")
	req.SetRequestURI("/x")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4000}, nil)
	ctx.Request.Header.SetHost("")
	if _, err := p.Forward(ctx, "b", Options{}); err != nil {
		t.Fatalf("Forward: %v", err)
	}
	if b := finish(ctx); string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
	s := <-got
	if s.proto != "HTTP/1.1" {
		t.Errorf("upstream saw %s, want HTTP/1.1", s.proto)
	}
	if want := net.JoinHostPort(ep.Host, strconv.Itoa(ep.Port)); s.host != want {
		t.Errorf("upstream Host %q, want %q", s.host, want)
	}
}

// TestForwardSendsHTTP11: an HTTP/1.0 client's version is not forwarded.
func TestForwardSendsHTTP11(t *testing.T) {
	got := make(chan string, 1)
	ep := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		got <- r.Proto
	})
	p := newTestPool(t, static(ep), nil)
	var req fasthttp.Request
	req.Header.SetMethod("GET")
	req.Header.SetProtocol("HTTP/1.0")
	req.SetRequestURI("/x")
	req.Header.SetHost("client.test")
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4000}, nil)
	if _, err := p.Forward(ctx, "b", Options{}); err != nil {
		t.Fatalf("Forward: %v", err)
	}
	finish(ctx)
	if proto := <-got; proto != "HTTP/1.1" {
		t.Fatalf("upstream saw %s, want HTTP/1.1", proto)
	}
}

// TestOutlierMaxEjectionPercentNotExceeded: 50% of three endpoints is one
// ejection, not two (ejecting the second would reach 66%).
func TestOutlierMaxEjectionPercentNotExceeded(t *testing.T) {
	b := testBackend(t, config.LBRoundRobin, 1, 1, 1)
	b.outlier = &config.OutlierDetection{Consecutive5xx: 1, BaseEjectionTime: dur(time.Minute), MaxEjectionPercent: 50}
	for i := range b.members {
		b.record(b.members[i].st, true)
	}
	ejected, now := 0, nanotime()
	for i := range b.members {
		if b.members[i].st.ejectedUntil.Load() > now {
			ejected++
		}
	}
	if ejected != 1 {
		t.Fatalf("%d of 3 ejected at maxEjectionPercent 50, want 1", ejected)
	}
}

// fakeConn is a net.Conn with fixed addresses that records its read deadline.
type fakeConn struct {
	net.Conn
	local, remote net.Addr
	deadline      time.Time
	closed        bool
}

func (c *fakeConn) LocalAddr() net.Addr               { return c.local }
func (c *fakeConn) RemoteAddr() net.Addr              { return c.remote }
func (c *fakeConn) SetReadDeadline(t time.Time) error { c.deadline = t; return nil }
func (c *fakeConn) Close() error                      { c.closed = true; return nil }

// TestConnRegistrySameLocalPortDifferentRemote: a hostname endpoint may resolve
// to several addresses, and the kernel may give connections to different remote
// addresses the same local port: the registry must tell them apart.
func TestConnRegistrySameLocalPortDifferentRemote(t *testing.T) {
	var r connRegistry
	r.m = make(map[connKey]net.Conn)
	local := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("10.0.0.1:40000"))
	a := &fakeConn{local: local, remote: net.TCPAddrFromAddrPort(netip.MustParseAddrPort("192.0.2.1:80"))}
	b := &fakeConn{local: local, remote: net.TCPAddrFromAddrPort(netip.MustParseAddrPort("192.0.2.2:80"))}
	ca, cb := r.add(a), r.add(b)
	_ = ca.Close() // a goes away: b must still be found
	_ = cb
	when := time.Now().Add(time.Hour)
	r.setReadDeadline(b.local, b.remote, when)
	if !b.deadline.Equal(when) {
		t.Fatal("the deadline did not reach the connection still open")
	}
	r.setReadDeadline(a.local, a.remote, when)
	if !a.deadline.IsZero() {
		t.Fatal("the deadline reached a closed connection")
	}
}
