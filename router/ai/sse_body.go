package ai

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// sseBody is a committed stream's response body. fasthttp writes it from the
// connection's own goroutine through WriteTo (each Write is one flushed HTTP
// chunk, one SSE event), so that a stream costs no extra goroutine, pipe or
// buffered writer between the producer and the client's connection. Close,
// which fasthttp calls once the body is written or abandoned, stops the
// producer if needed, waits for it, releases the upstream response and
// reports the exchange to the policy chain.
type sseBody struct {
	s *exchange
	// Either p, a producer goroutine's chunks (with interrupt and release),
	// or pull, an upstream stream read by the connection's goroutine itself.
	p         *pump
	interrupt func()
	release   func()
	pull      *pullStream

	first    []byte
	hasFirst bool
	// second is the chunk after a role-only first one, read before the
	// stream was committed (a producer's stream only).
	second    []byte
	hasSecond bool
	started   bool
	deadline  <-chan time.Time
	timer     *time.Timer
	timedOut  bool
	ended     bool // the final event was produced
	gone      bool // a write to the client failed

	// write bounds each write to the client (server.streamWriteTimeout).
	write writeIdle
	// idle is the backend's stream idle timeout, which bounds the time spent
	// collecting the usage after the client left (see drainBound).
	idle time.Duration
	// produced counts the chunks the upstream produced: relayed to the
	// client and, after it left, read and dropped; an estimate of the
	// completion tokens when the usage does not arrive.
	produced int

	buf     []byte // the current event, framed
	pending []byte // what Read has not returned yet of buf
	once    sync.Once
	// onClose, when set, runs once the stream has ended and been reported.
	onClose func()
}

// OnClose registers fn to run once the stream has been written to the client
// or abandoned (the router's access log and metrics use it to time a stream).
func (b *sseBody) OnClose(fn func()) { b.onClose = fn }

var (
	_ fasthttp.BodyWriterTo = (*sseBody)(nil)
	_ io.ReadCloser         = (*sseBody)(nil)
	// The router times a streamed response through OnClose.
	_ interface{ OnClose(func()) } = (*sseBody)(nil)
)

var (
	eventPrefix = []byte("data: ")
	eventSuffix = []byte("\n\n")
	doneEvent   = []byte("data: [DONE]\n\n")
)

// frame sets b.buf to c as one SSE data event.
func (b *sseBody) frame(c []byte) []byte {
	b.buf = append(append(append(b.buf[:0], eventPrefix...), c...), eventSuffix...)
	return b.buf
}

// next returns the next event to write, framed; ok is false at the end. The
// pulled stream's steady state comes first and the rest lives in other
// functions: an open stream parks its connection's goroutine below this
// frame, and a shallow stack lets the runtime shrink it (memory per stream).
func (b *sseBody) next() (ev []byte, ok bool) {
	if b.started && !b.ended && b.pull != nil {
		if b.pull.err == nil {
			c, err := b.pull.next()
			if err == nil {
				b.produced++
				return b.frame(c), true
			}
			b.pull.err = err
		}
		return b.final()
	}
	return b.nextSlow()
}

// nextSlow is next for the first event, a producer's stream and the end.
func (b *sseBody) nextSlow() (ev []byte, ok bool) {
	if b.ended {
		return nil, false
	}
	if !b.started {
		b.started = true
		if d := b.s.deadline; !d.IsZero() && b.pull == nil { // pullStream watches its deadline
			b.timer = time.NewTimer(time.Until(d))
			b.deadline = b.timer.C
		}
		if b.hasFirst {
			b.s.x.FirstByte = time.Now()
			b.produced++
			return b.frame(b.first), true
		}
	}
	if b.pull != nil {
		return b.next()
	}
	if b.hasSecond {
		b.hasSecond = false
		b.produced++
		return b.frame(b.second), true
	}
	if b.hasFirst {
		for {
			select {
			case c, more := <-b.p.ch:
				if !more {
					return b.final()
				}
				b.produced++
				if !b.timedOut {
					return b.frame(c), true
				}
			case <-b.deadline:
				b.deadline, b.timedOut = nil, true
				b.p.halt()
				b.interrupt()
			}
		}
	}
	return b.final()
}

// final returns the event that ends the stream: a timeout or stream error,
// or [DONE].
func (b *sseBody) final() ([]byte, bool) {
	b.ended = true
	if ps := b.pull; ps != nil {
		switch {
		case ps.timedOut():
			return b.frame(requestTimeout().JSON()), true
		case !errors.Is(ps.err, io.EOF):
			return b.frame(streamError(ps.err).JSON()), true
		}
		return doneEvent, true
	}
	b.p.drain()
	switch p := b.p; {
	case b.timedOut:
		return b.frame(requestTimeout().JSON()), true
	case p.err != nil && !errors.Is(p.err, errClientGone):
		return b.frame(streamError(p.err).JSON()), true
	}
	return doneEvent, true
}

// SupportsBodyWriteTo implements fasthttp.BodyWriterTo.
func (b *sseBody) SupportsBodyWriteTo() bool { return true }

// WriteTo implements io.WriterTo: one Write per event.
func (b *sseBody) WriteTo(w io.Writer) (int64, error) {
	var n int64
	for {
		ev, ok := b.next()
		if !ok {
			return n, nil
		}
		b.write.arm()
		m, err := w.Write(ev)
		n += int64(m)
		if err != nil {
			b.clientGone()
			return n, err
		}
	}
}

// Read implements io.Reader, for a writer that does not use WriteTo.
func (b *sseBody) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		ev, ok := b.next()
		if !ok {
			return 0, io.EOF
		}
		b.write.arm() // the caller writes what Read returns
		b.pending = ev
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// clientGone notes that the client left: a producer runs on, its chunks
// dropped, for the usage at the end of its stream (Close then settles the
// exchange later: see collectLater).
func (b *sseBody) clientGone() {
	if !b.gone {
		b.gone = true
		b.s.ex.ClientGone()
		if b.p != nil {
			b.p.discard()
		}
	}
}

// Close implements io.Closer: it ends the exchange (once). When the client
// left before the end, the usage is collected, and the exchange settled, by
// a goroutine (see collectLater); otherwise here.
func (b *sseBody) Close() error {
	b.once.Do(func() {
		if fn := b.onClose; fn != nil {
			// Deferred: fasthttp recovers a panic raised while it closes a
			// body (a policy's Done), and the router's accounting (access
			// log, metrics, requests in flight) must run all the same.
			b.onClose = nil
			defer fn()
		}
		if !b.ended {
			b.clientGone() // abandoned before the end: the client is gone
		} else if !b.gone {
			b.write.disarm()
		}
		if b.timer != nil {
			b.timer.Stop()
		}
		if b.collectLater() {
			return
		}
		b.settle()
	})
	return nil
}
