package ai

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/engine"
)

// pullStream is an OpenAI-shaped upstream stream read without a producer
// goroutine: the handler's goroutine reads the first chunk (so that a
// failure before it can still fail over), and the connection's goroutine
// reads the rest as it writes them (sseBody). A watchdog timer, not a
// goroutine, interrupts a pending upstream read when the client leaves
// before the first chunk or when the route's request deadline passes.
type pullStream struct {
	chunks providers.Chunks
	resp   *fasthttp.Response
	log    *slog.Logger
	ex     *engine.Exchange // told when the client is gone
	err    error            // what ended the stream; io.EOF: its normal end

	mu       sync.Mutex
	timer    *time.Timer
	conn     net.Conn  // the client's, probed until the first chunk
	deadline time.Time // the route's request deadline (zero: none)
	first    bool      // still waiting for the first chunk
	why      *schema.Error
	closed   bool
	released bool
}

// newPullStream starts watching the client and the deadline while the first
// chunk is read.
func newPullStream(s *exchange, chunks providers.Chunks, resp *fasthttp.Response) *pullStream {
	ps := &pullStream{chunks: chunks, resp: resp, log: s.f.log, ex: s.ex, conn: s.ctx.Conn(), deadline: s.deadline, first: true}
	ps.mu.Lock() // the watchdog reads ps.timer
	ps.timer = time.AfterFunc(ps.wait(time.Now()), ps.watch)
	ps.mu.Unlock()
	return ps
}

// wait is how long the watchdog sleeps: until the next client probe before
// the first chunk, until the deadline after it.
func (ps *pullStream) wait(now time.Time) time.Duration {
	if ps.first {
		if !ps.deadline.IsZero() {
			return min(clientProbeInterval, ps.deadline.Sub(now))
		}
		return clientProbeInterval
	}
	return ps.deadline.Sub(now)
}

// watch is the watchdog: it runs on a timer's goroutine.
func (ps *pullStream) watch() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.closed || ps.why != nil {
		return
	}
	now := time.Now()
	switch {
	case !ps.deadline.IsZero() && !now.Before(ps.deadline):
		ps.why = requestTimeout()
	case ps.first && ps.conn != nil && peerClosed(ps.conn):
		ps.ex.ClientGone()
		ps.why = errClientClosed()
	case ps.first:
		ps.timer.Reset(ps.wait(now))
		return
	default:
		return
	}
	// Closing the body stream closes the upstream connection, which ends
	// the pending read (fasthttp waits for it before releasing anything).
	_ = ps.resp.CloseBodyStream()
}

// next returns the next chunk; a panic while reading (a hostile upstream
// must not take the process down) ends the stream with an error.
func (ps *pullStream) next() (chunk []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			ps.log.Error("ai: stream reader panicked", "panic", r, "stack", string(debug.Stack()))
			chunk, err = nil, errProducerPanic
		}
	}()
	return ps.chunks.Next()
}

// readFirst reads the first chunk on the handler's goroutine. stopped is set
// when the watchdog ended the read (client gone, deadline passed).
func (ps *pullStream) readFirst() (first []byte, stopped *schema.Error, err error) {
	first, err = ps.next()
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.first, ps.conn = false, nil
	if ps.why != nil {
		return nil, ps.why, err
	}
	ps.timer.Stop()
	if !ps.deadline.IsZero() && err == nil {
		ps.timer.Reset(ps.wait(time.Now()))
	} else {
		ps.timer = nil // nothing left to watch: an open stream does not keep it
	}
	return first, nil, err
}

// completed reports whether the stream was read to its normal end ([DONE]
// or the end of the body after an event), where its usage is.
func (ps *pullStream) completed() bool { return errors.Is(ps.err, io.EOF) && !ps.timedOut() }

// timedOut reports whether the route's request deadline ended the stream.
func (ps *pullStream) timedOut() bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.why != nil
}

// release stops the watchdog and releases the upstream response (once).
func (ps *pullStream) release() {
	ps.mu.Lock()
	ps.closed = true
	if ps.timer != nil {
		ps.timer.Stop()
	}
	done := ps.released
	ps.released = true
	ps.mu.Unlock()
	if !done {
		if errors.Is(ps.err, io.EOF) && !ps.timedOut() {
			ps.drainTail()
		}
		endStreamIdle(ps.resp)
		fasthttp.ReleaseResponse(ps.resp)
	}
}

// Bounds on reading what follows [DONE] (normally the chunked body's
// terminator), so that the upstream connection is kept alive and reused.
const (
	tailTime  = 100 * time.Millisecond
	tailBytes = 64 << 10
)

// drainTail reads the rest of a stream that ended normally: fasthttp pools
// the upstream connection only when the body was read to its end, and a new
// connection per stream costs a connect before every first token. A tail that
// does not end within tailTime in all, or is longer than tailBytes, closes the
// connection instead.
func (ps *pullStream) drainTail() {
	body := ps.resp.BodyStream()
	if body == nil || !streamDeadline(ps.resp, time.Now().Add(tailTime)) {
		return
	}
	_, _ = io.CopyN(io.Discard, body, tailBytes)
}

// relayPull serves a 2xx stream of an OpenAI-shaped upstream through a
// pullStream: the first chunk is read here, the rest by the stream body.
func (s *exchange) relayPull(b *backend, tr providers.ChunkReader, resp *fasthttp.Response, src io.Reader) result {
	limits := rateLimitsOf(&resp.Header)
	ps := newPullStream(s, tr.Chunks(src), resp)
	first, stopped, err := ps.readFirst()
	if stopped != nil {
		ps.release()
		return result{err: stopped, retry: stopped.Status != statusClientClosed}
	}
	hasFirst := err == nil
	if err != nil && !errors.Is(err, io.EOF) {
		ps.release()
		return failure(streamError(err))
	}
	ps.err = err
	return s.commit(b, limits, &sseBody{s: s, pull: ps, first: first, hasFirst: hasFirst})
}

// rateLimitsOf returns a copy of h's x-ratelimit-* headers, or nil when it
// has none. It is a function of its own, not inlined into relayPull, because
// the header iterator inlined there put several ResponseHeader values on the
// stack (a 2 KiB frame on the path to a stream's first read).
//
//go:noinline
func rateLimitsOf(h *fasthttp.ResponseHeader) *fasthttp.ResponseHeader {
	for k := range h.All() {
		if len(k) > 12 && equalFoldASCII(k[:12], "x-ratelimit-") {
			limits := new(fasthttp.ResponseHeader)
			copyRateLimitHeaders(limits, h)
			return limits
		}
	}
	return nil
}
