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
	"net/url"
	"strconv"
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

// errWireExpired is an operation past its timeout.
var errWireExpired = errors.New("no answer within the timeout")

// wireConn is one HTTP/2 connection to a picker.
type wireConn struct {
	nc        net.Conn
	br        *bufio.Reader
	fr        *http2.Framer
	authority string
	scheme    string

	// wmu serialises writing: the framer's write side, bw, the encoder, IDs.
	wmu    sync.Mutex
	bw     *bufio.Writer
	henc   *hpack.Encoder
	hbuf   bytes.Buffer
	nextID uint32

	// rmu is the reader role, held by the stream reading frames.
	rmu    sync.Mutex
	reader atomic.Pointer[wireStream]
	hdec   *hpack.Decoder // reader only
	block  []byte         // reader only: a header block across CONTINUATION frames
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
	urgent       bool // the owed ping answers go now
	lastUsed     time.Time
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
	headers   bool // response headers seen
	ended     bool // the picker ended the stream
	sentEnd   bool // we ended our side
	linger    bool // our side ended and the last answer came: only trailers are due
	err       error
	waiting   bool
	answered  bool // any frame arrived for it

	timer     *time.Timer
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
		authority: addr, scheme: scheme, nextID: 1,
		streams: map[uint32]*wireStream{}, connSend: 65535, initSend: 65535, maxFrame: 16384,
		maxStreams: 1 << 31, lastUsed: time.Now(),
	}
	c.fr = http2.NewFramer(c.bw, c.br)
	c.fr.SetReuseFrames()
	c.fr.SetMaxReadFrameSize(wireFrame)
	c.henc = hpack.NewEncoder(&c.hbuf)
	c.hdec = hpack.NewDecoder(4096, nil)
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
	if c.err != nil || c.goaway || uint32(len(c.streams)) >= c.maxStreams || c.nextID >= 1<<31-1 {
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
			first = true
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
	return len(s.in) >= 5 && len(s.in)-5 >= int(binary.BigEndian.Uint32(s.in[1:5]))
}

// await returns when cond holds for s (checked under c.mu), s fails, or
// its operation is stopped. Meanwhile s reads the connection itself if no
// other stream does, else it waits to be handed a frame or the role.
func (s *wireStream) await(cond func(*wireStream) bool) error {
	c := s.c
	for {
		c.mu.Lock()
		if cond(s) {
			c.mu.Unlock()
			return nil
		}
		if err := s.err; err != nil {
			c.mu.Unlock()
			return err
		}
		if err := s.stopped(); err != nil {
			c.mu.Unlock()
			return err
		}
		s.waiting = true
		c.mu.Unlock()
		if c.rmu.TryLock() {
			c.mu.Lock()
			s.waiting = false
			c.mu.Unlock()
			err := c.readFor(s, cond)
			c.rmu.Unlock()
			c.handOff()
			if err != nil {
				c.close(err)
			}
			continue
		}
		<-s.notify
		c.mu.Lock()
		s.waiting = false
		c.mu.Unlock()
	}
}

// handOff wakes the waiting streams: one of them takes the reader role.
func (c *wireConn) handOff() {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Every waiter: one woken for its own answer would swallow a lone
	// hand-off signal (notify holds one) and leave the rest unread.
	c.wakeAll()
}

// readFor reads frames for s until cond holds, s fails or is stopped. It
// returns an error only when the connection failed.
func (c *wireConn) readFor(s *wireStream, cond func(*wireStream) bool) error {
	c.reader.Store(s)
	defer c.reader.Store(nil)
	return c.readFrames(func() bool {
		c.mu.Lock()
		done := cond(s) || s.err != nil
		c.mu.Unlock()
		return done || s.stopped() != nil
	}, false)
}

// readFrames reads and applies frames until done; a poll ends at the first
// read that would wait (its deadline passed).
func (c *wireConn) readFrames(done func() bool, poll bool) error {
	for !done() {
		// A frame is parsed only once it is wholly buffered, so that a read
		// broken by a deadline leaves the reader where it was.
		hdr, err := c.br.Peek(9)
		if err == nil {
			_, err = c.br.Peek(9 + int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2]))
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if poll {
					return nil
				}
				_ = c.nc.SetReadDeadline(time.Time{})
				continue // stopped, or another stream's interruption
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				return fmt.Errorf("a frame larger than %d bytes", wireFrame)
			}
			return err
		}
		f, err := c.fr.ReadFrame()
		if err != nil {
			var se http2.StreamError
			if errors.As(err, &se) {
				c.resetStream(se.StreamID, se.Code, fmt.Errorf("picker stream: %v", se))
				continue
			}
			return err
		}
		if err := c.dispatch(f); err != nil {
			return err
		}
		if err := c.flushCtrl(poll); err != nil {
			return err
		}
	}
	return nil
}

// poll runs every wirePoll while c is open: when no stream reads c, it
// reads what the picker sent meanwhile (a ping is answered, a GOAWAY or a
// close noticed); when one does, it sends what the reader owes the picker
// (ping answers wait for the next write, which may be long in coming). It
// closes c after wireIdle without a stream.
func (c *wireConn) poll() {
	idle, since := c.idle()
	if idle && time.Since(since) > wireIdle {
		c.close(errIdle)
		return
	}
	if c.rmu.TryLock() {
		_ = c.nc.SetReadDeadline(time.Now().Add(time.Millisecond))
		err := c.readFrames(func() bool { return false }, true)
		if err == nil {
			err = c.flushCtrl(true)
		}
		_ = c.nc.SetReadDeadline(time.Time{})
		c.rmu.Unlock()
		c.handOff()
		if err != nil {
			c.close(err)
			return
		}
		c.mu.Lock()
		drained := c.goaway && len(c.streams) == 0
		c.mu.Unlock()
		if drained {
			c.close(errGoAway)
			return
		}
	} else if err := c.flushCtrl(true); err != nil {
		// A stream is reading (a long wait, maybe): what it owes the
		// picker, ping answers included, goes now.
		c.close(err)
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.pollTimer.Reset(wirePoll)
	}
	c.mu.Unlock()
}

// resetStream fails a stream and owes the peer its RST_STREAM.
func (c *wireConn) resetStream(id uint32, code http2.ErrCode, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.streams[id]; s != nil {
		if s.err == nil {
			s.err = err
		}
		delete(c.streams, id)
		s.signal()
	}
	c.ctrl = append(c.ctrl, ctrlFrame{typ: http2.FrameRSTStream, sid: id, n: uint32(code)})
}

// flushCtrl writes the frames the reader owes, unless all of them may wait
// for the next write (ping answers) and all is false.
func (c *wireConn) flushCtrl(all bool) error {
	c.mu.Lock()
	urgent := (all || c.urgent) && len(c.ctrl) > 0
	for _, f := range c.ctrl {
		urgent = urgent || f.typ != http2.FramePing
	}
	if urgent {
		c.urgent = false
	}
	c.mu.Unlock()
	if !urgent {
		return nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.writeDeadline(0)
	c.writeCtrl()
	return c.bw.Flush()
}

// writeCtrl writes the frames owed to the peer (wmu held, not flushed).
// Answers to pings wait for the next write: grpc-go servers ping after
// every burst of data they receive (to estimate the bandwidth-delay
// product), and answering each at once was a system call per message.
func (c *wireConn) writeCtrl() {
	c.mu.Lock()
	ctrl := c.ctrl
	c.ctrl = c.ctrlBuf[:0]
	c.ctrlBuf = ctrl[:0]
	size, setSize := c.tableSize, c.tableSizeSet
	c.tableSizeSet = false
	c.mu.Unlock()
	if setSize {
		c.henc.SetMaxDynamicTableSizeLimit(size)
	}
	for _, f := range ctrl {
		switch f.typ {
		case http2.FrameSettings:
			_ = c.fr.WriteSettingsAck()
		case http2.FramePing:
			_ = c.fr.WritePing(true, f.ping)
		case http2.FrameWindowUpdate:
			_ = c.fr.WriteWindowUpdate(f.sid, f.n)
		case http2.FrameRSTStream:
			_ = c.fr.WriteRSTStream(f.sid, http2.ErrCode(f.n))
		}
	}
}

// dispatch applies one frame (the reader, rmu held).
func (c *wireConn) dispatch(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		c.onData(f)
	case *http2.HeadersFrame:
		c.block, c.blockS, c.blockE = append(c.block[:0], f.HeaderBlockFragment()...), f.StreamID, f.StreamEnded()
		if f.HeadersEnded() {
			return c.onHeaders()
		}
	case *http2.ContinuationFrame:
		if c.block = append(c.block, f.HeaderBlockFragment()...); len(c.block) > wireHeaderList {
			return errors.New("a header block past 64 KiB")
		}
		if f.HeadersEnded() {
			return c.onHeaders()
		}
	case *http2.RSTStreamFrame:
		err := fmt.Errorf("the picker reset the stream (%v)", f.ErrCode)
		if f.ErrCode == http2.ErrCodeRefusedStream {
			err = errRefused
		}
		c.mu.Lock()
		if s := c.streams[f.StreamID]; s != nil {
			if s.err == nil {
				s.err = err
			}
			delete(c.streams, f.StreamID)
			s.signal()
		}
		c.mu.Unlock()
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		return c.onSettings(f)
	case *http2.PingFrame:
		if !f.IsAck() {
			c.mu.Lock()
			c.ctrl = append(c.ctrl, ctrlFrame{typ: http2.FramePing, ping: f.Data})
			c.mu.Unlock()
		}
	case *http2.WindowUpdateFrame:
		c.mu.Lock()
		if f.StreamID == 0 {
			c.connSend += int64(f.Increment)
		} else if s := c.streams[f.StreamID]; s != nil {
			s.send += int64(f.Increment)
		}
		c.wakeAll()
		c.mu.Unlock()
	case *http2.GoAwayFrame:
		c.mu.Lock()
		c.goaway = true
		c.urgent = true // a graceful stop waits for the answer to its ping
		for id, s := range c.streams {
			if id > f.LastStreamID {
				if s.err == nil {
					s.err = errRefused
				}
				delete(c.streams, id)
				s.signal()
			}
		}
		c.mu.Unlock()
	case *http2.PushPromiseFrame:
		return errors.New("a push promise, push being off")
	}
	return nil
}

// wakeAll signals every waiting stream (c.mu held).
func (c *wireConn) wakeAll() {
	for _, s := range c.streams {
		if s.waiting {
			s.signal()
		}
	}
}

func (c *wireConn) onData(f *http2.DataFrame) {
	n := int64(f.Length)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recvUnacked += n; c.recvUnacked >= wireConnWindow/2 {
		c.ctrl = append(c.ctrl, ctrlFrame{typ: http2.FrameWindowUpdate, n: uint32(c.recvUnacked)})
		c.recvUnacked = 0
	}
	s := c.streams[f.StreamID]
	if s == nil || s.ended {
		return
	}
	s.answered = true
	if len(s.in)+len(f.Data()) > maxPickerBody+5 {
		s.err = garbage("a message larger than the gateway accepts")
		delete(c.streams, s.id)
		c.ctrl = append(c.ctrl, ctrlFrame{typ: http2.FrameRSTStream, sid: s.id, n: uint32(http2.ErrCodeCancel)})
		s.signal()
		return
	}
	s.in = append(s.in, f.Data()...)
	if s.inUnacked += n; s.inUnacked >= wireStreamWindow/2 && !f.StreamEnded() {
		c.ctrl = append(c.ctrl, ctrlFrame{typ: http2.FrameWindowUpdate, sid: s.id, n: uint32(s.inUnacked)})
		s.inUnacked = 0
	}
	if f.StreamEnded() {
		c.endStream(s, nil)
	}
	s.signal()
}

// endStream records the picker's end of s (c.mu held).
func (c *wireConn) endStream(s *wireStream, err error) {
	s.ended = true
	if s.err == nil && err != nil {
		s.err = err
	}
	if s.sentEnd || s.err != nil {
		delete(c.streams, s.id)
	}
}

// onHeaders applies a complete header block: a stream's response headers
// (status 200, a gRPC content type) or its trailers (grpc-status).
func (c *wireConn) onHeaders() error {
	fields, err := c.hdec.DecodeFull(c.block)
	if err != nil {
		return fmt.Errorf("picker headers: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.streams[c.blockS]
	if s == nil {
		return nil
	}
	s.answered = true
	var status, ctype, gstatus, gmsg string
	hasStatus := false
	for _, h := range fields {
		switch h.Name {
		case ":status":
			status = h.Value
		case "content-type":
			ctype = h.Value
		case "grpc-status":
			gstatus, hasStatus = h.Value, true
		case "grpc-message":
			gmsg = h.Value
		}
	}
	var serr error
	if !s.headers {
		s.headers = true
		switch {
		case status != "200":
			serr = fmt.Errorf("the picker answered HTTP status %s", status)
		case !hasStatus && !isGRPCType(ctype):
			serr = fmt.Errorf("the picker answered content type %q", ctype)
		}
	}
	if serr == nil && c.blockE && !hasStatus {
		serr = errors.New("the picker ended the stream without a gRPC status")
	}
	if serr == nil && hasStatus && gstatus != "0" {
		if m, err := url.PathUnescape(gmsg); err == nil {
			gmsg = m
		}
		code, _ := strconv.Atoi(gstatus)
		serr = fmt.Errorf("gRPC status %d: %s", code, gmsg)
	}
	if serr != nil || c.blockE {
		if serr == nil && !c.blockE {
			serr = errors.New("trailers without end of stream")
		}
		c.endStream(s, serr)
		if !s.sentEnd && serr != nil {
			c.ctrl = append(c.ctrl, ctrlFrame{typ: http2.FrameRSTStream, sid: s.id, n: uint32(http2.ErrCodeCancel)})
			delete(c.streams, s.id)
		}
	}
	s.signal()
	return nil
}

func isGRPCType(ct string) bool {
	return ct == "application/grpc" || len(ct) > 16 && ct[:16] == "application/grpc" && (ct[16] == '+' || ct[16] == ';')
}

func (c *wireConn) onSettings(f *http2.SettingsFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := f.ForeachSetting(func(st http2.Setting) error {
		switch st.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(st.Val) - c.initSend
			c.initSend = int64(st.Val)
			for _, s := range c.streams {
				s.send += delta
			}
		case http2.SettingMaxFrameSize:
			c.maxFrame = int(st.Val)
		case http2.SettingMaxConcurrentStreams:
			c.maxStreams = st.Val
		case http2.SettingHeaderTableSize:
			// Applied under wmu, before the ACK (flushCtrl): writers take
			// wmu before mu, so it cannot be taken here.
			c.tableSize, c.tableSizeSet = st.Val, true
		}
		return nil
	})
	c.ctrl = append(c.ctrl, ctrlFrame{typ: http2.FrameSettings})
	c.wakeAll()
	return err
}

// finish ends s for its request: nothing more is read for it. A stream
// the picker has not ended, on our side not ended either, is reset.
func (s *wireStream) finish() {
	c := s.c
	c.mu.Lock()
	_, open := c.streams[s.id]
	reset := open && !s.ended && s.err == nil && !s.linger
	// A stream whose last answer came, our side ended, waits for its
	// trailers (read by the connection's next reader); the others are
	// forgotten, reset when the picker may still be working on them.
	if open && (reset || s.ended || s.err != nil) {
		delete(c.streams, s.id)
	}
	c.lastUsed = time.Now()
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
