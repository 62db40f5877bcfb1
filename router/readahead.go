//go:build unix

package router

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// With ReduceMemoryUsage, fasthttp waits for a keep-alive connection's next
// request by reading one byte (so that an idle connection holds no read
// buffer), then reads the rest through a pooled buffer: two read system calls
// per request where one would do. A readAheadConn folds them into one: a
// short read waits for readability without a buffer, then reads whatever
// arrived into a pooled buffer, hands out what was asked and keeps the rest
// for the reads that follow; the buffer goes back to the pool once they have
// drained it. An idle connection still holds no buffer.

// readAheadSize is the pooled buffer's size: a request's head and a small body
// in one read, like fasthttp's own read buffer.
const readAheadSize = 16 << 10

// shortRead is the largest read served ahead: fasthttp's first-byte read is 1.
const shortRead = 16

var readAheadPool = sync.Pool{New: func() any { b := make([]byte, readAheadSize); return &b }}

// wrapReadAhead returns ln with its TCP connections' short reads reading ahead.
func wrapReadAhead(ln net.Listener) net.Listener { return readAheadListener{ln} }

// readAheadListener wraps the accepted TCP connections in readAheadConns.
type readAheadListener struct{ net.Listener }

// Accept implements [net.Listener.Accept].
func (l readAheadListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c, nil
	}
	return &readAheadConn{TCPConn: tc, raw: rc}, nil
}

// readAheadConn is a TCP connection whose short reads read ahead (see above).
// It supports one reader at a time (fasthttp's connection goroutine); Close
// may come from another goroutine, so it leaves a pending buffer to the
// garbage collector rather than the pool.
type readAheadConn struct {
	*net.TCPConn
	raw     syscall.RawConn
	buf     *[]byte // pooled, nil when nothing is pending
	pending []byte  // unread bytes in buf
}

// Read implements [net.Conn.Read].
func (c *readAheadConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		if len(c.pending) == 0 {
			c.release()
		}
		return n, nil
	}
	if len(p) == 0 || len(p) > shortRead {
		return c.TCPConn.Read(p)
	}
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		b := readAheadPool.Get().(*[]byte)
		for {
			n, rerr = syscall.Read(int(fd), *b)
			if !errors.Is(rerr, syscall.EINTR) {
				break
			}
		}
		if errors.Is(rerr, syscall.EAGAIN) {
			readAheadPool.Put(b)
			return false // wait for readability without a buffer
		}
		if n > 0 {
			c.buf, c.pending = b, (*b)[:n]
		} else {
			readAheadPool.Put(b)
		}
		return true
	})
	switch {
	case err != nil: // deadline, closed connection
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	case rerr != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(),
			Err: os.NewSyscallError("read", rerr)}
	case n == 0:
		return 0, io.EOF
	}
	return c.Read(p)
}

// Buffered returns how many bytes were read from the socket and not yet by
// the caller (a pipelined request): a probe of the socket does not see them.
func (c *readAheadConn) Buffered() int { return len(c.pending) }

func (c *readAheadConn) release() {
	readAheadPool.Put(c.buf)
	c.buf, c.pending = nil, nil
}

// WriteTo and ReadFrom are not *net.TCPConn's: its WriteTo would read the
// socket past the pending bytes.

// WriteTo implements [io.WriterTo] through Read.
func (c *readAheadConn) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, struct{ io.Reader }{c})
}
