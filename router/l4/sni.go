package l4

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// maxHello bounds the bytes read while looking for a ClientHello (crypto/tls
// bounds the message itself; this bounds garbage that looks like records).
const maxHello = 64 << 10

// errHelloRead stops the handshake once the ClientHello is parsed.
var errHelloRead = errors.New("l4: client hello read")

// helloResult is what peekHello learnt.
type helloResult struct {
	serverName string
	// replay is every byte read from the client, to send to the backend
	// before relaying the rest.
	replay []byte
}

// peekHello reads the client's ClientHello, however many TCP segments or
// TLS records it spans, with crypto/tls's parser and without answering: the
// recording conn drops anything the parser would write (an alert). It
// returns the server name (SNI, "" when the client sent none) and the bytes
// read. An error means the client sent no valid ClientHello in time.
func peekHello(c net.Conn, timeout time.Duration) (*helloResult, error) {
	rec := &recordingConn{Conn: c}
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	var name string
	var seen bool
	srv := tls.Server(rec, &tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			name, seen = h.ServerName, true
			return nil, errHelloRead
		},
	})
	err := srv.Handshake()
	if !seen {
		if err == nil {
			err = errors.New("l4: no client hello")
		}
		return nil, err
	}
	return &helloResult{serverName: name, replay: rec.buf.Bytes()}, nil
}

// recordingConn records what is read and discards what is written.
type recordingConn struct {
	net.Conn
	buf bytes.Buffer
}

func (r *recordingConn) Read(p []byte) (int, error) {
	if r.buf.Len() >= maxHello {
		return 0, errors.New("l4: client hello too large")
	}
	n, err := r.Conn.Read(p)
	r.buf.Write(p[:n])
	return n, err
}

func (r *recordingConn) Write(p []byte) (int, error) { return len(p), nil }
