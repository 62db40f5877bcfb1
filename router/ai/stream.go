package ai

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// errClientGone stops a producer once the client has left.
var errClientGone = errors.New("ai: client disconnected")

// errProducerPanic is a stream producer's panic, turned into an error.
var errProducerPanic = errors.New("ai: stream producer panicked")

// clientProbeInterval is how often the front end checks, while it waits for a
// stream's first chunk, whether the client has closed its connection.
const clientProbeInterval = 100 * time.Millisecond

// pump runs a stream producer (a translator reading the upstream, or a direct
// adapter) in its own goroutine and hands its chunks to the writer. Waiting for
// the first chunk before answering lets an early failure fail over.
type pump struct {
	ch       chan []byte
	stop     chan struct{}
	stopOnce sync.Once
	// discarding is closed once the client left: the producer runs on for
	// the usage at the end of its stream, its chunks dropped (see
	// collectPump), until stop.
	discarding  chan struct{}
	discardOnce sync.Once
	// usage, err and discarded (chunks dropped, dropped their bytes) are
	// valid once ch is closed.
	usage          schema.Usage
	err            error
	discarded      int
	discardedBytes int
}

func startPump(log *slog.Logger, run func(emit func([]byte) error) (schema.Usage, error)) *pump {
	p := &pump{ch: make(chan []byte, 16), stop: make(chan struct{}), discarding: make(chan struct{})}
	emit := func(c []byte) error {
		select {
		case <-p.stop:
			return errClientGone
		case <-p.discarding:
			return p.discardChunk(c)
		default:
		}
		cp := append([]byte(nil), c...)
		select {
		case p.ch <- cp:
			return nil
		case <-p.stop:
			return errClientGone
		case <-p.discarding:
			return p.discardChunk(c)
		}
	}
	go func() {
		defer close(p.ch)
		// A translator fed a hostile upstream stream must not take the
		// process down: its panic ends the stream with an error.
		defer func() {
			if r := recover(); r != nil {
				log.Error("ai: stream producer panicked", "panic", r, "stack", string(debug.Stack()))
				p.err = errProducerPanic
			}
		}()
		p.usage, p.err = run(emit)
	}()
	return p
}

// halt makes the producer's next emit fail.
func (p *pump) halt() { p.stopOnce.Do(func() { close(p.stop) }) }

// discard makes the producer's emits drop their chunks: the client left.
func (p *pump) discard() { p.discardOnce.Do(func() { close(p.discarding) }) }

// discardChunk counts a dropped chunk (the producer's goroutine); past
// usageDrainBytes it stops the producer.
func (p *pump) discardChunk(c []byte) error {
	p.discarded++
	p.discardedBytes += len(c)
	if p.discardedBytes > usageDrainBytes {
		return errClientGone
	}
	return nil
}

// drain waits for the producer to end and returns how many chunks it left
// unread.
func (p *pump) drain() (left int) {
	for range p.ch {
		left++
	}
	return left
}

// relayUpstream relays a 2xx upstream stream through tr.
func (s *exchange) relayUpstream(b *backend, tr providers.Translator, resp *fasthttp.Response) result {
	src := resp.BodyStream()
	if src == nil {
		src = eofReader{}
	}
	if cr, ok := tr.(providers.ChunkReader); ok && b.raw {
		return s.relayPull(b, cr, resp, src)
	}
	return s.relayTranslated(b, tr, resp, src)
}

// relayTranslated streams a translated upstream stream through a producer
// goroutine (the translator's Stream).
func (s *exchange) relayTranslated(b *backend, tr providers.Translator, resp *fasthttp.Response, src io.Reader) result {
	// Copy what the client gets of the upstream's headers before the producer
	// starts: reading the body to its end (trailers) writes resp.Header.
	limits := rateLimitsOf(&resp.Header)
	run := func(emit func([]byte) error) (schema.Usage, error) { return tr.Stream(src, emit) }
	if !b.raw && !s.includeUsage() {
		// Translators always emit a final usage-only chunk; the client did not ask for it.
		run = func(emit func([]byte) error) (schema.Usage, error) {
			return tr.Stream(src, func(c []byte) error {
				if isUsageOnlyChunk(c) {
					return nil
				}
				return emit(c)
			})
		}
	}
	p := startPump(s.f.log, run)
	var once sync.Once
	release := func() {
		once.Do(func() {
			endStreamIdle(resp)
			fasthttp.ReleaseResponse(resp)
		})
	}
	interrupt := func() { _ = resp.CloseBodyStream() } // unblocks a pending upstream read
	return s.relay(b, p, interrupt, release, limits)
}

// includeUsage reports whether the client asked for stream usage
// (stream_options.include_usage).
func (s *exchange) includeUsage() bool {
	if s.optionsKnown {
		return gjson.GetBytes(s.options, "include_usage").Bool()
	}
	return gjson.GetBytes(s.body, "stream_options.include_usage").Bool()
}

// isUsageOnlyChunk reports a chunk with no choices and a usage object: the
// final chunk OpenAI sends for stream_options.include_usage.
func isUsageOnlyChunk(c []byte) bool {
	r := gjson.GetManyBytes(c, "choices.#", "usage")
	return r[0].Int() == 0 && r[1].IsObject()
}

// relayDirect streams from an in-process adapter.
func (s *exchange) relayDirect(b *backend, raw []byte, req *schema.ChatRequest) result {
	// The producer runs on after Serve returns, when the request is recycled.
	s.bodyCopy = append(s.bodyCopy[:0], raw...)
	raw = s.bodyCopy
	dctx, cancel := context.WithCancel(context.Background())
	p := startPump(s.f.log, func(emit func([]byte) error) (schema.Usage, error) {
		_, u, err := b.direct.Do(dctx, s.op, b.cfg, raw, req, emit)
		return u, err
	})
	return s.relay(b, p, cancel, cancel, nil)
}

// relay waits for the first chunk (past a role-only one: see waitPastRole):
// an error before it is an attempt failure (and may fail over); otherwise the
// stream is committed to the client.
// interrupt unblocks the producer; release frees its resources once it ended.
//
// While it waits it watches the client's connection and the route's request
// deadline: a client that left ends the attempt (status 499, no failover), a
// deadline that passed ends it with a 504. Once committed, the route's request
// deadline still bounds the stream: when it passes the stream ends with a
// final timeout error event.
func (s *exchange) relay(b *backend, p *pump, interrupt, release func(), limits *fasthttp.ResponseHeader) result {
	first, ok, second, hasSecond, stopped := s.waitPastRole(p)
	if stopped != nil {
		p.halt()
		interrupt()
		p.drain()
		release()
		return result{err: stopped, retry: stopped.Status != statusClientClosed}
	}
	if !ok && p.err != nil {
		release()
		return failure(streamError(p.err))
	}
	return s.commit(b, limits, &sseBody{s: s, p: p, interrupt: interrupt, release: release, first: first, hasFirst: ok,
		second: second, hasSecond: hasSecond})
}

// commit answers the client with the stream body (its first event read):
// status, SSE headers, the upstream's rate-limit headers (limits, may be
// nil), and the body, which owns the rest of the exchange.
func (s *exchange) commit(b *backend, limits *fasthttp.ResponseHeader, body *sseBody) result {
	ctx := s.ctx
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set(HeaderBackend, b.key)
	if limits != nil {
		copyRateLimitHeaders(&ctx.Response.Header, limits)
	}
	b.succeeded()
	s.x.Status = fasthttp.StatusOK
	body.write = writeIdle{conn: ctx.Conn(), d: s.f.streamWrite}
	body.idle = b.streamIdle
	ctx.SetBodyStream(body, -1)
	s.detach()
	return result{streamed: true}
}

// statusClientClosed is nginx's 499: the client closed the connection before
// the response began.
const statusClientClosed = 499

// waitFirst waits for the producer's first chunk (ok false: the producer ended
// without one). stopped is set when the client left or the route's request
// deadline passed first; the caller then stops the producer.
func (s *exchange) waitFirst(p *pump) (first []byte, ok bool, stopped *schema.Error) {
	select { // the common case: a chunk is already there
	case first, ok = <-p.ch:
		return first, ok, nil
	default:
	}
	var timeout <-chan time.Time
	if !s.deadline.IsZero() {
		t := time.NewTimer(time.Until(s.deadline))
		defer t.Stop()
		timeout = t.C
	}
	probe := time.NewTicker(clientProbeInterval)
	defer probe.Stop()
	conn := s.ctx.Conn()
	for {
		select {
		case first, ok = <-p.ch:
			return first, ok, nil
		case <-timeout:
			return nil, false, requestTimeout()
		case <-probe.C:
			if conn != nil && peerClosed(conn) {
				s.ex.ClientGone()
				return nil, false, errClientClosed()
			}
		}
	}
}

func requestTimeout() *schema.Error {
	return schema.Errorf(fasthttp.StatusGatewayTimeout, schema.ErrTimeout, "the request timed out")
}

// streamError maps a producer error to a client error.
func streamError(err error) *schema.Error {
	var se *schema.Error
	if errors.As(err, &se) {
		return se
	}
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		// Only the idle deadline is set on a stream's connection once its headers arrived.
		return schema.Errorf(fasthttp.StatusGatewayTimeout, schema.ErrTimeout,
			"the upstream provider's stream stalled: nothing arrived within the stream idle timeout")
	}
	return schema.Errorf(fasthttp.StatusBadGateway, schema.ErrServer, "the upstream provider's stream broke off")
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
