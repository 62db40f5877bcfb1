package ai

import (
	"net"
	"time"
)

// DefaultStreamWriteTimeout bounds each write of a streamed response when
// Options.StreamWriteTimeout is 0.
const DefaultStreamWriteTimeout = 30 * time.Second

// streamWriteTimeout returns the bound on each write of a streamed response
// for the configured value d (0 or less: the default).
func streamWriteTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultStreamWriteTimeout
	}
	return d
}

// writeIdle bounds the writes of a committed stream to its client: before
// each event the client connection's write deadline is set to now+d, so that
// a client that stops reading (its receive window full) fails the write that
// blocks for longer than d. The stream then ends as if the client had left:
// its connection goroutine, its upstream stream (after the usage is
// collected) and its exchange are freed. fasthttp writes through a
// bufio.Writer, but every event ends in a flush (one HTTP chunk) within the
// Write that the deadline covers; the chunked body's terminator, flushed
// after the last event, falls under the last event's deadline.
type writeIdle struct {
	conn net.Conn      // the client's (nil: not bounded)
	d    time.Duration // 0: not bounded
}

// arm sets the deadline for the next event's write. It neither allocates nor
// makes a system call (the runtime's poller keeps the deadline).
func (w *writeIdle) arm() {
	if w.conn != nil && w.d > 0 {
		_ = w.conn.SetWriteDeadline(time.Now().Add(w.d))
	}
}

// disarm clears the deadline once the stream is written, so that a later
// response on the kept-alive connection is not cut by it (fasthttp sets a
// write deadline only when the server's own writeTimeout is set). What
// fasthttp flushes after the body's Close (the 2-byte end of the chunked
// trailer) is then bounded only by the server's writeTimeout.
func (w *writeIdle) disarm() {
	if w.conn != nil && w.d > 0 {
		_ = w.conn.SetWriteDeadline(time.Time{})
	}
}
