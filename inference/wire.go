package inference

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The picker's wire: gRPC over one HTTP/2 connection, framed by x/net/http2,
// with no goroutine of its own. grpc-go's client hands every message to a
// writer goroutine and every answer from a reader goroutine; at a picker's
// two round trips per request those handoffs (and its ~200 allocations per
// stream) were a third of the gateway's CPU on a pool route. Here the stream
// that sends writes the frames itself, and a stream that waits for an answer
// reads the connection itself when no other stream is reading it, handing
// frames for other streams to them: one waiter, no handoff.

const (
	// wireStreamWindow and wireConnWindow are the receive windows we grant.
	wireStreamWindow = 1 << 20
	wireConnWindow   = 8 << 20
	// wireFrame is the largest frame we accept (HTTP/2's default).
	wireFrame = 16384
	// wireWrite bounds a write that no operation's deadline bounds.
	wireWrite = 10 * time.Second
	// wirePoll is how often an unread connection is read; wireIdle is how
	// long one without streams stays open.
	wirePoll = time.Second
	wireIdle = 5 * time.Minute
	// wireLinger is how long a finished stream waits for the picker's
	// trailers before it is reset.
	wireLinger = 10 * time.Second
	// wireProbe is how long the picker has to answer the ping sent when an
	// operation timed out before its connection is given up; wireProbeEvery
	// spaces probes on a connection (grpc-go servers count frequent pings
	// on a connection they send nothing on as abuse, and close it).
	wireProbe      = 2 * time.Second
	wireProbeEvery = time.Minute
	// maxOwed bounds the ping answers that wait for the next write.
	maxOwed = 16
	// maxWindow is HTTP/2's largest flow-control window.
	maxWindow = 1<<31 - 1
	// maxWireConns bounds the connections to one picker: one that admits
	// no stream (or too few) does not get a connection per request.
	maxWireConns = 16
	// wireHeaderList bounds a header block the picker sends.
	wireHeaderList = 64 << 10
	// processPath is the ext_proc method.
	processPath = "/envoy.service.ext_proc.v3.ExternalProcessor/Process"
)

// errRefused is a stream the picker never saw (GOAWAY, REFUSED_STREAM, a
// connection lost before any answer): it may be tried again on another connection.
var errRefused = errors.New("stream refused")

// errConnFull is a connection that takes no more streams.
var errConnFull = errors.New("the connection takes no more streams")

// errGoAway closes a connection the picker asked to end, once drained.
var errGoAway = errors.New("the picker sent GOAWAY")

// errIdle closes a connection unused for wireIdle.
var errIdle = errors.New("idle")

// errNoPingAnswer closes a connection whose picker did not answer a probe.
var errNoPingAnswer = errors.New("the picker did not answer a ping")

// probeData is the payload of the probe ping.
var probeData = [8]byte{'s', 'w', 'i', 't', 'c', 'h', 'y', 'd'}

// errWireExpired is an operation past its timeout.
var errWireExpired = errors.New("no answer within the timeout")

// wireConn is one HTTP/2 connection to a picker.
type wireConn struct {
	nc        net.Conn
	br        *bufio.Reader
	fr        *http2.Framer
	authority string
	scheme    string
	linger    time.Duration // how long finished streams wait for trailers

	// wmu serialises writing: the framer's write side, bw, the encoder, IDs.
	wmu    sync.Mutex
	bw     *bufio.Writer
	henc   *hpack.Encoder
	hbuf   bytes.Buffer
	nextID uint32

	// rmu is the reader role, held by the stream reading frames.
	rmu    sync.Mutex
	reader atomic.Pointer[wireStream]
	hdec   *hpack.Decoder      // reader only
	fields []hpack.HeaderField // reader only: the block being decoded
	hsize  int                 // reader only: its decoded size (RFC 9113's count)
	block  []byte              // reader only: a header block across CONTINUATION frames
	blockS uint32
	blockE bool

	// mu guards the rest.
	mu           sync.Mutex
	streams      map[uint32]*wireStream
	connSend     int64 // the peer's connection window for our DATA
	initSend     int64 // the peer's initial stream window
	maxFrame     int
	maxStreams   uint32
	recvUnacked  int64
	ctrl         []ctrlFrame
	err          error // the connection failed
	ctrlBuf      []ctrlFrame
	pollTimer    *time.Timer
	tableSize    uint32
	tableSizeSet bool
	goaway       bool
	urgent       bool      // the owed ping answers go now
	probeSent    time.Time // a probe ping is unanswered since
	lastProbe    time.Time // the last probe was sent

	// frames counts the frames read: a stream whose operation timed out
	// with frames read meanwhile knows the picker alive.
	frames   atomic.Uint64
	lastUsed time.Time
}

// ctrlFrame is a frame the reader owes the peer (an ACK, window, reset).
type ctrlFrame struct {
	typ  http2.FrameType
	sid  uint32
	n    uint32
	ping [8]byte
}

// wireStream is one gRPC stream (an ext_proc Process call).
type wireStream struct {
	c      *wireConn
	id     uint32
	notify chan struct{} // a frame arrived or the reader role is free

	// Guarded by c.mu.
	in        []byte // answer bytes not yet taken; taken bytes are never overwritten
	inBuf     [512]byte
	inUnacked int64
	send      int64
	headers   bool      // response headers seen
	ended     bool      // the picker ended the stream
	sentEnd   bool      // we ended our side
	linger    bool      // our side ended and the last answer came: only trailers are due
	lingerEnd time.Time // when a finished stream still without trailers is reset
	err       error
	waiting   bool
	answered  bool // any frame arrived for it

	timer     *time.Timer
	armFrames uint64       // c.frames when the operation began
	deadline  atomic.Int64 // of the operation under way (Unix ns)
	expired   atomic.Bool
	cancelled atomic.Bool
}

// dialWire connects to a picker: TCP, TLS with ALPN h2 when conf is set, then
// the HTTP/2 preface and settings, written with the first stream's frames.
func dialWire(ctx context.Context, addr string, conf *tls.Config) (*wireConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if conf != nil {
		tc := tls.Client(nc, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("tls: %w", err)
		}
		if p := tc.ConnectionState().NegotiatedProtocol; p != "" && p != "h2" {
			_ = nc.Close()
			return nil, fmt.Errorf("tls: the picker negotiated %q, not h2", p)
		}
		nc, scheme = tc, "https"
	}
	c := &wireConn{
		nc: nc, br: bufio.NewReaderSize(nc, 2*wireFrame), bw: bufio.NewWriterSize(nc, 2*wireFrame),
		authority: addr, scheme: scheme, linger: wireLinger, nextID: 1,
		streams: map[uint32]*wireStream{}, connSend: 65535, initSend: 65535, maxFrame: 16384,
		maxStreams: 1 << 31, lastUsed: time.Now(),
	}
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.SetReuseFrames()
	c.fr.SetMaxReadFrameSize(wireFrame)
	c.henc = hpack.NewEncoder(&c.hbuf)
	// A block's decoded size is bounded, not only its encoded size: a small
	// block may name large table entries many times.
	c.hdec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if c.hsize += len(f.Name) + len(f.Value) + 32; c.hsize <= wireHeaderList {
			c.fields = append(c.fields, f)
		}
	})
	c.hdec.SetMaxStringLength(wireHeaderList)
	_, _ = c.bw.WriteString(http2.ClientPreface)
	_ = c.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: wireStreamWindow},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: wireHeaderList})
	_ = c.fr.WriteWindowUpdate(0, wireConnWindow-65535)
	if err := c.handshake(ctx); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("http/2 handshake: %w", err)
	}
	c.mu.Lock()
	c.pollTimer = time.AfterFunc(wirePoll, c.poll)
	c.mu.Unlock()
	return c, nil
}

// handshake sends our preface and reads the picker's, its SETTINGS: its
// stream limit is known before the first stream opens.
func (c *wireConn) handshake(ctx context.Context) error {
	if d, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(d)
		defer func() { _ = c.nc.SetDeadline(time.Time{}) }()
	}
	if err := c.bw.Flush(); err != nil {
		return err
	}
	f, err := c.fr.ReadFrame()
	if err != nil {
		return err
	}
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		return fmt.Errorf("the picker began with %v, not SETTINGS", f.Header().Type)
	}
	if err := c.onSettings(sf); err != nil {
		return err
	}
	return c.flushCtrl(true)
}

// idle reports whether c carries no stream, and since when.
func (c *wireConn) idle() (bool, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.streams) == 0, c.lastUsed
}

// close ends the connection and every stream on it.
func (c *wireConn) close(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
		if c.pollTimer != nil {
			c.pollTimer.Stop()
		}
		for _, s := range c.streams {
			if s.err == nil {
				s.err = err
				if !s.answered {
					s.err = fmt.Errorf("%w: %v", errRefused, err)
				}
			}
			s.signal()
		}
	}
	c.mu.Unlock()
	_ = c.nc.Close()
}

// open starts a stream: its HEADERS are buffered, not yet written.
func (c *wireConn) open() (*wireStream, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.writeDeadline(0)
	c.mu.Lock()
	if !c.takesLocked() {
		c.mu.Unlock()
		return nil, errConnFull
	}
	s := &wireStream{c: c, id: c.nextID, notify: make(chan struct{}, 1), send: c.initSend}
	s.in = s.inBuf[:0]
	c.nextID += 2
	c.streams[s.id] = s
	c.lastUsed = time.Now()
	c.mu.Unlock()
	c.hbuf.Reset()
	for _, f := range [...]hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: c.scheme},
		{Name: ":path", Value: processPath}, {Name: ":authority", Value: c.authority},
		{Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
		{Name: "user-agent", Value: "switchyard"},
	} {
		_ = c.henc.WriteField(f)
	}
	if err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: c.hbuf.Bytes(), EndHeaders: true}); err != nil {
		c.close(err)
		return nil, err
	}
	return s, nil
}

// takesLocked reports whether a new stream may open on c (c.mu held): c
// has not failed, has no GOAWAY, is under the picker's stream limit and
// has stream ids left.
func (c *wireConn) takesLocked() bool {
	return c.err == nil && !c.goaway && uint32(len(c.streams)) < c.maxStreams && c.nextID < 1<<31-1
}

// writeDeadline bounds the writes that follow (wmu held) by deadline (Unix
// ns; 0: wireWrite from now): a picker that stops reading fails the
// connection instead of holding every writer. A write past it fails, and
// the connection with it.
func (c *wireConn) writeDeadline(deadline int64) {
	if deadline == 0 {
		deadline = time.Now().Add(wireWrite).UnixNano()
	}
	_ = c.nc.SetWriteDeadline(time.Unix(0, deadline))
}

// signal wakes s if it waits (c.mu held or not: notify never blocks).
func (s *wireStream) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// write sends one gRPC message (prefix included in msg) on s, the last of
// its side when end, and flushes when flush.
func (s *wireStream) write(msg []byte, end, flush bool) error {
	c := s.c
	c.wmu.Lock()
	c.writeDeadline(s.deadline.Load())
	for first := true; first || len(msg) > 0; first = false {
		c.mu.Lock()
		err := s.err
		if err == nil {
			err = c.err
		}
		if err == nil && s.ended {
			err = errors.New("the picker ended the stream")
		}
		n := min(len(msg), c.maxFrame, int(c.connSend), int(s.send))
		if n > 0 {
			c.connSend -= int64(n)
			s.send -= int64(n)
		}
		c.mu.Unlock()
		if err != nil {
			c.wmu.Unlock()
			return err
		}
		if n <= 0 && len(msg) > 0 {
			// Out of window: send what is written, wait for WINDOW_UPDATE.
			ferr := c.bw.Flush()
			c.wmu.Unlock()
			if ferr != nil {
				c.close(ferr)
				return ferr
			}
			if err := s.await(func(s *wireStream) bool { return c.connSend > 0 && s.send > 0 || s.ended }); err != nil {
				return err
			}
			c.wmu.Lock()
			c.writeDeadline(s.deadline.Load())
			continue
		}
		last := end && n == len(msg)
		if err := c.fr.WriteData(s.id, last, msg[:n]); err != nil {
			c.wmu.Unlock()
			c.close(err)
			return err
		}
		if last {
			c.mu.Lock()
			s.sentEnd = true
			c.mu.Unlock()
		}
		msg = msg[n:]
	}
	var err error
	if flush {
		c.writeCtrl()
		err = c.bw.Flush()
	}
	c.wmu.Unlock()
	if err != nil {
		c.close(err)
	}
	return err
}

// arm starts an operation bounded by timeout (disarm ends it). The stream's
// one timer serves its operations: a late firing of the last one's finds
// its deadline not yet reached.
func (s *wireStream) arm(timeout time.Duration) {
	s.expired.Store(false)
	s.armFrames = s.c.frames.Load()
	s.deadline.Store(time.Now().Add(timeout).UnixNano())
	if s.timer == nil {
		s.timer = time.AfterFunc(timeout, s.onTimer)
	} else {
		s.timer.Reset(timeout)
	}
}

// disarm ends the operation arm began.
func (s *wireStream) disarm() {
	if s.timer != nil {
		s.timer.Stop()
	}
}

func (s *wireStream) onTimer() {
	if time.Now().UnixNano() >= s.deadline.Load() {
		s.expired.Store(true)
		s.interrupt()
	}
}

// cancel marks s abandoned by its request (any goroutine).
func (s *wireStream) cancel() {
	s.cancelled.Store(true)
	s.interrupt()
}

// interrupt wakes s, and breaks its read when it is the reader.
func (s *wireStream) interrupt() {
	s.signal()
	if s.c.reader.Load() == s {
		_ = s.c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

func (s *wireStream) stopped() error {
	switch {
	case s.cancelled.Load():
		return context.Canceled
	case s.expired.Load():
		return errWireExpired
	}
	return nil
}

// recv returns the next message of s (without its prefix), or io.EOF-like
// errors when the stream ended without one.
func (s *wireStream) recv() ([]byte, error) {
	err := s.await(func(s *wireStream) bool { return s.ended || s.hasMessage() })
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.hasMessage() {
		if s.in[0] != 0 {
			// Compression was never offered (no grpc-accept-encoding).
			return nil, garbage("a compressed message")
		}
		n := int(binary.BigEndian.Uint32(s.in[1:5]))
		m := s.in[5 : 5+n]
		s.in = s.in[5+n:]
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if s.err != nil {
		return nil, s.err
	}
	return nil, errors.New("the picker ended the stream without an answer")
}

// hasMessage reports whether a whole message is buffered (c.mu held).
func (s *wireStream) hasMessage() bool {
	return len(s.in) >= 5 && uint64(len(s.in)-5) >= uint64(binary.BigEndian.Uint32(s.in[1:5]))
}

// finish ends s for its request: nothing more is read for it. A stream
// the picker has not ended, on our side not ended either, is reset.
func (s *wireStream) finish() {
	c := s.c
	c.mu.Lock()
	_, open := c.streams[s.id]
	reset := open && !s.ended && s.err == nil && !s.linger
	// A stream whose last answer came, our side ended, waits for its
	// trailers (read by the connection's next reader; reset by the poll
	// after c.linger); the others are forgotten, reset when the picker may
	// still be working on them.
	now := time.Now()
	if open && (reset || s.ended || s.err != nil) {
		delete(c.streams, s.id)
	} else if open {
		s.lingerEnd = now.Add(c.linger)
	}
	c.lastUsed = now
	c.mu.Unlock()
	if reset {
		c.wmu.Lock()
		c.writeDeadline(0)
		c.writeCtrl()
		err := c.fr.WriteRSTStream(s.id, http2.ErrCodeCancel)
		if err == nil {
			err = c.bw.Flush()
		}
		c.wmu.Unlock()
		if err != nil {
			c.close(err)
		}
	}
}

// gotLastAnswer records that the stream's last answer came with our side ended:
// only the picker's trailers are due, and finish leaves the stream to them.
func (s *wireStream) gotLastAnswer() {
	s.c.mu.Lock()
	s.linger = s.sentEnd
	s.c.mu.Unlock()
}
