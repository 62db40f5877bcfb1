//go:build unix

package ai

import (
	"net"
	"syscall"
)

// peerClosed reports whether the client has closed its end of c: a
// non-blocking MSG_PEEK read finds the end of the stream (as nginx checks for
// a client that went away while the upstream works). Unread bytes (a
// pipelined request, a TLS close_notify) and connections without a socket
// report false: the client is then noticed only when a write fails.
func peerClosed(c net.Conn) bool {
	if b, ok := c.(interface{ Buffered() int }); ok && b.Buffered() > 0 {
		return false // the listener read ahead: unread bytes
	}
	for {
		u, ok := c.(interface{ NetConn() net.Conn }) // *tls.Conn
		if !ok {
			break
		}
		c = u.NetConn()
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
		closed = n == 0 && err == nil || err == syscall.ECONNRESET
		return true // never wait for readability
	})
	return err == nil && closed
}
