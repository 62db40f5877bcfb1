package ai

import (
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/router/engine"
)

// Bounds on collecting the usage of a stream whose client left: OpenAI and
// the translators report usage at the end of a stream, so the upstream is read
// on (its chunks discarded) for at most usageDrainTime (or the backend's
// stream idle timeout, or what is left of the route's deadline, whichever is
// shorter) and usageDrainBytes of chunks; past either the upstream is closed
// and the usage estimated.
const (
	usageDrainTime  = 5 * time.Second
	usageDrainBytes = 1 << 20
)

// estimatePrompt records, once the admission policies ran, what a stream's
// prompt is charged if its usage never arrives: the count a policy made
// (policies.Exchange.PromptTokens), else the body's size in bytes / 4 (an
// over-estimate by the few bytes that are not the prompt, and no second walk
// of a large body on the hot path). Only streams need it.
func (s *exchange) estimatePrompt() {
	switch {
	case !s.stream:
		s.promptEstimate = 0
	case s.x.PromptTokens > 0: // the hook: a policy counted the prompt
		s.promptEstimate = s.x.PromptTokens
	default:
		s.promptEstimate = len(s.body) / 4
	}
}

// streamUsage is the usage to report for a stream: u as the upstream (or
// producer) reported it when the stream completed; otherwise an estimate that
// keeps what u knows: its prompt tokens (else prompt, the admission estimate)
// and at least one completion token per chunk the upstream produced (each
// OpenAI chunk carries about one token), marked Estimated.
func streamUsage(u schema.Usage, complete bool, prompt, chunks int) schema.Usage {
	if complete {
		return u
	}
	if u.PromptTokens <= 0 {
		u.PromptTokens = prompt
	}
	u.CompletionTokens = max(u.CompletionTokens, chunks)
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	u.Estimated = true
	return u
}

// drainBound is how long a stream whose client left is read on for its usage.
func (b *sseBody) drainBound() time.Duration {
	d := min(usageDrainTime, b.idle)
	if dl := b.s.deadline; !dl.IsZero() {
		d = min(d, time.Until(dl))
	}
	return max(d, 0)
}

// collectLater reports whether the exchange is settled later, by a goroutine
// that reads on the upstream (or lets the producer run on) for the usage:
// the client left while the stream was still open. Close runs on the client
// connection's goroutine; a bounded wait there would still hold that
// goroutine, its buffers and its slot in the server's concurrency limit for
// seconds per departed client (and delay the server's shutdown), for a
// connection that is already dead, so the wait moves to a goroutine of its
// own, whose small stack is all a departed stream then keeps.
func (b *sseBody) collectLater() bool {
	switch {
	case b.pull != nil && b.pull.err == nil:
		go b.collectPull()
		return true
	case b.p != nil && !b.ended:
		go b.collectPump()
		return true
	}
	return false
}

// collectPull reads a pulled stream on to its end (its usage) within the
// drain bounds, then settles the exchange.
func (b *sseBody) collectPull() {
	defer recoverSettle(b.s.f.log)
	ps := b.pull
	if streamDeadline(ps.resp, time.Now().Add(b.drainBound())) {
		for n := 0; n <= usageDrainBytes; {
			c, err := ps.next()
			if err != nil {
				ps.err = err
				break
			}
			b.produced++
			n += len(c)
		}
	}
	b.settle()
}

// collectPump lets a producer whose client left run on (its chunks
// discarded: see pump.discard) within the drain bounds, then settles the
// exchange.
func (b *sseBody) collectPump() {
	defer recoverSettle(b.s.f.log)
	fired := make(chan struct{})
	t := time.AfterFunc(b.drainBound(), func() {
		defer close(fired)
		b.p.halt()
		b.interrupt()
	})
	b.produced += b.p.drain()
	if !t.Stop() {
		<-fired // interrupt must not run once release has
	}
	b.settle()
}

// recoverSettle keeps a policy's panic in Done, on a collecting goroutine,
// from taking the process down.
func recoverSettle(log *slog.Logger) {
	if r := recover(); r != nil {
		log.Error("ai: settling a stream panicked", "panic", r, "stack", string(debug.Stack()))
	}
}

// settle releases the upstream, reports the usage (collected or estimated)
// to the policies and frees the exchange.
func (b *sseBody) settle() {
	var u schema.Usage
	var complete bool
	if ps := b.pull; ps != nil {
		ps.release() // closes the upstream connection unless the stream was read to its end
		u, complete = ps.chunks.Usage(), ps.completed()
	} else {
		b.produced += b.p.drain()
		b.release()
		u, complete = b.p.usage, b.p.err == nil && !b.timedOut
		b.produced += b.p.discarded
	}
	s := b.s
	u = streamUsage(u, complete, s.promptEstimate, b.produced)
	b.s, b.first, b.second, b.buf, b.pending, b.pull = nil, nil, nil, nil, nil, nil
	// The stream owns its exchange (detached): it ends and releases it.
	ex := s.ex
	s.free()
	ex.Finish(u)
	engine.Release(ex)
}
