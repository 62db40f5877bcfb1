package l4

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// bufPool holds relay buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// relay copies bytes both ways between client and backend until both
// directions end, an error, or idle time with no byte either way. A
// direction that ends cleanly half-closes the other side, so protocols that
// shut down their write side still get their answer. It returns the bytes
// read from the client (in) and written to it (out).
func relay(client, backend net.Conn, idle time.Duration, in, out *atomic.Int64) error {
	if err, ok := relayTCP(client, backend, idle, in, out); ok {
		return err
	}
	var last atomic.Int64 // unix nanos of the last byte either way
	last.Store(time.Now().UnixNano())
	errc := make(chan error, 2)
	go func() { errc <- pipe(backend, client, idle, &last, in) }()
	go func() { errc <- pipe(client, backend, idle, &last, out) }()
	first := <-errc
	if first != nil {
		// A failed direction ends both: closing unblocks the other read.
		_ = client.Close()
		_ = backend.Close()
	}
	second := <-errc
	if first == nil {
		first = second
	}
	return first
}

// pipe copies src to dst, counting into n and stamping last; it half-closes
// dst at src's EOF. A read idle for longer than idle fails with
// os.ErrDeadlineExceeded unless the other direction moved meanwhile.
func pipe(dst, src net.Conn, idle time.Duration, last, n *atomic.Int64) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	// Deadlines are moved at most every idle/4, not on every read.
	var armed int64
	for {
		now := time.Now().UnixNano()
		if idle > 0 && now-armed > int64(idle/4) {
			_ = src.SetReadDeadline(time.Unix(0, now).Add(idle))
			armed = now
		}
		nr, rerr := src.Read(buf)
		if nr > 0 {
			last.Store(time.Now().UnixNano())
			nw, werr := dst.Write(buf[:nr])
			n.Add(int64(nw))
			if werr != nil {
				return werr
			}
		}
		if rerr == nil {
			continue
		}
		if errors.Is(rerr, io.EOF) {
			closeWrite(dst)
			return nil
		}
		if errors.Is(rerr, os.ErrDeadlineExceeded) && idle > 0 {
			if since := time.Now().UnixNano() - last.Load(); since < int64(idle) {
				// The other direction moved: this one is only quiet.
				_ = src.SetReadDeadline(time.Unix(0, last.Load()).Add(idle))
				armed = time.Now().UnixNano()
				continue
			}
			return errIdle
		}
		return rerr
	}
}

var errIdle = errors.New("l4: idle timeout")

// closeWrite half-closes c when it can (TCP, TLS), else closes it.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}
