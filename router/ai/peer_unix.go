//go:build unix

package ai

import (
	"net"
	"syscall"
)

// recordTypeAlert is the content type of a TLS alert record (close_notify
// among them), the first byte of its record header.
const recordTypeAlert = 0x15

// peerClosed reports whether the client has closed its end of c: a
// non-blocking MSG_PEEK read finds the end of the stream (as nginx checks for
// a client that went away while the upstream works). Nothing is consumed.
//
// Over TLS (c is a *tls.Conn, seen through to its socket) a client that
// leaves first sends a close_notify alert, so bytes are pending rather than
// the end of the stream: a pending alert record (TLS 1.2 and before, where
// the record type is in clear) counts as gone, and so does any pending record
// once the client has also closed its side of the TCP connection (TLS 1.3
// hides an alert's type; where the platform tells, see finReceived), as nginx
// does when the socket reports the peer's FIN. On a plain connection unread
// bytes (a pipelined request) report false, and so does a connection without
// a socket: the client is then noticed only when a write fails.
func peerClosed(c net.Conn) bool {
	if b, ok := c.(interface{ Buffered() int }); ok && b.Buffered() > 0 {
		return false // the listener read ahead: unread bytes
	}
	isTLS := false
	for {
		u, ok := c.(interface{ NetConn() net.Conn }) // *tls.Conn
		if !ok {
			break
		}
		c, isTLS = u.NetConn(), true
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case n == 0 && err == nil, err == syscall.ECONNRESET:
			closed = true
		case n > 0 && isTLS:
			closed = b[0] == recordTypeAlert || finReceived(int(fd))
		}
		return true // never wait for readability
	})
	return err == nil && closed
}
