package h2

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// captureLimit is how much of a call's request stream is kept so that a
// retry can send it again; a call that sent more is not retried.
const captureLimit = 1 << 20

var (
	errTooLarge      = errors.New("h2: request message over the size limit")
	errNotReplayable = errors.New("h2: request stream too long to retry")
	errAttemptOver   = errors.New("h2: attempt over")
)

// body is a call's request stream shared by its attempts: what was read
// from the client is kept (up to captureLimit) so that a later attempt
// replays it, and message headers are checked against the size limit as
// bytes pass.
type body struct {
	src   io.Reader
	limit int

	srcMu sync.Mutex // serializes reads of src

	mu       sync.Mutex // guards buf
	buf      []byte
	consumed atomic.Int64
	capped   atomic.Bool
	eof      atomic.Bool
	tooLarge atomic.Bool

	// message framing: a 5-byte header (flag, length) then the message.
	hdr  [5]byte
	hdrN int
	skip uint32
}

func newBody(src io.Reader, limit int) *body { return &body{src: src, limit: limit} }

// replayable reports whether a new attempt can send the whole stream so far.
func (b *body) replayable() bool {
	return !b.tooLarge.Load() && (!b.capped.Load() || b.consumed.Load() == 0)
}

// attempt returns the request body of a new attempt.
func (b *body) attempt() *attemptBody { return &attemptBody{b: b} }

// attemptBody is one attempt's view of the request stream.
type attemptBody struct {
	b      *body
	pos    int64
	closed atomic.Bool
}

// Read implements io.Reader.
func (a *attemptBody) Read(p []byte) (int, error) {
	b := a.b
	for {
		if a.closed.Load() {
			return 0, errAttemptOver
		}
		if n, ok := a.fromBuffer(p); ok {
			return n, nil
		}
		if b.tooLarge.Load() {
			return 0, errTooLarge
		}
		if b.eof.Load() && a.pos == b.consumed.Load() {
			return 0, io.EOF
		}
		b.srcMu.Lock()
		if a.pos != b.consumed.Load() {
			// Another attempt read meanwhile: take it from the buffer.
			b.srcMu.Unlock()
			if b.capped.Load() {
				return 0, errNotReplayable
			}
			continue
		}
		n, err := b.src.Read(p)
		if n > 0 && !b.scan(p[:n]) {
			b.tooLarge.Store(true)
			b.srcMu.Unlock()
			return 0, errTooLarge
		}
		if n > 0 {
			b.mu.Lock()
			if !b.capped.Load() {
				if len(b.buf)+n <= captureLimit {
					b.buf = append(b.buf, p[:n]...)
				} else {
					b.capped.Store(true)
					b.buf = nil
				}
			}
			b.mu.Unlock()
			b.consumed.Add(int64(n))
			a.pos += int64(n)
		}
		if errors.Is(err, io.EOF) {
			b.eof.Store(true)
		}
		b.srcMu.Unlock()
		if a.closed.Load() {
			return 0, errAttemptOver
		}
		if n == 0 && err == nil {
			continue
		}
		return n, err
	}
}

// fromBuffer serves a read from the kept stream when this attempt is behind.
func (a *attemptBody) fromBuffer(p []byte) (int, bool) {
	b := a.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.capped.Load() || a.pos >= int64(len(b.buf)) {
		return 0, false
	}
	n := copy(p, b.buf[a.pos:])
	a.pos += int64(n)
	return n, true
}

// Close implements io.Closer: the attempt is over (the transport is done
// with it); the client's stream stays open for the next attempt.
func (a *attemptBody) Close() error {
	a.closed.Store(true)
	return nil
}

// scan follows gRPC message framing; false when a header announces a
// message longer than the limit.
func (b *body) scan(p []byte) bool {
	for len(p) > 0 {
		if b.skip > 0 {
			k := min(int(b.skip), len(p))
			b.skip -= uint32(k)
			p = p[k:]
			continue
		}
		k := copy(b.hdr[b.hdrN:], p)
		b.hdrN += k
		p = p[k:]
		if b.hdrN < len(b.hdr) {
			return true
		}
		b.hdrN = 0
		n := binary.BigEndian.Uint32(b.hdr[1:])
		if b.limit > 0 && int64(n) > int64(b.limit) {
			return false
		}
		b.skip = n
	}
	return true
}

// bufPool holds relay buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
