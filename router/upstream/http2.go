package upstream

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// HTTP2 ping settings of the HTTP/2 client transports: a connection that
// has been silent for SendPingTimeout is pinged, and closed when the ping is
// not answered within PingTimeout, so that a dead peer does not hold streams.
const (
	http2SendPingTimeout = 30 * time.Second
	http2PingTimeout     = 10 * time.Second
)

// HTTP2Transport is a client transport that speaks HTTP/2 only, never
// HTTP/1.1: h2c with prior knowledge (cleartext, no Upgrade) when conf is
// nil, TLS with ALPN h2 otherwise. dial makes its connections (nil: a
// net.Dialer with connect as its timeout); idle connections close after
// idle (0: never). It is what gRPC backends and h2c inference pools are
// spoken to with; callers close its idle connections when done with it.
func HTTP2Transport(dial func(ctx context.Context, network, addr string) (net.Conn, error), connect, idle time.Duration, conf *tls.Config) *http.Transport {
	if dial == nil {
		d := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
		dial = d.DialContext
	}
	var protos http.Protocols
	tr := &http.Transport{
		IdleConnTimeout: idle,
		HTTP2:           &http.HTTP2Config{SendPingTimeout: http2SendPingTimeout, PingTimeout: http2PingTimeout},
		DialContext:     dial,
		Protocols:       &protos,
	}
	if conf == nil {
		protos.SetUnencryptedHTTP2(true)
		return tr
	}
	protos.SetHTTP2(true)
	tr.TLSClientConfig = conf
	return tr
}
