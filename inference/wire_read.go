package inference

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	"golang.org/x/net/http2"
)

// The picker connection's read side: a waiting stream reads frames for
// every stream (await, readFrames), the 1 s poll reads an unread
// connection, and dispatch applies what was read.

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
			if err == errWireExpired {
				c.probe(s)
			}
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

// probe pings the picker after an operation of s timed out with nothing
// read on c meanwhile: a picker host gone without closing the connection
// answers nothing, and the poll closes c when the ping is unanswered after
// wireProbe, so that the requests that follow redial rather than each wait
// out its timeout. A busy picker's HTTP/2 layer answers at once.
func (c *wireConn) probe(s *wireStream) {
	if c.frames.Load() != s.armFrames {
		return // the picker sent something: alive
	}
	now := time.Now()
	c.mu.Lock()
	if c.err != nil || !c.probeSent.IsZero() || now.Sub(c.lastProbe) < wireProbeEvery {
		c.mu.Unlock()
		return
	}
	c.probeSent, c.lastProbe = now, now
	c.ctrl = append(c.ctrl, ctrlFrame{typ: http2.FramePing, n: 1, ping: probeData})
	c.mu.Unlock()
	if err := c.flushCtrl(true); err != nil {
		c.close(err)
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
		c.frames.Add(1)
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
// closes c after wireIdle without a stream or when a probe went unanswered
// for wireProbe, and resets finished streams whose trailers are overdue.
func (c *wireConn) poll() {
	c.reapLingering(time.Now())
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
	if !c.probeSent.IsZero() && time.Since(c.probeSent) > wireProbe {
		c.mu.Unlock()
		c.close(errNoPingAnswer)
		return
	}
	if c.err == nil {
		c.pollTimer.Reset(wirePoll)
	}
	c.mu.Unlock()
}

// reapLingering forgets the finished streams still without trailers at
// now, past their linger, and owes the picker their RST_STREAM: a picker
// that never ends a stream does not keep it (and a place under its stream
// limit) for good.
func (c *wireConn) reapLingering(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, s := range c.streams {
		if !s.lingerEnd.IsZero() && now.After(s.lingerEnd) {
			delete(c.streams, id)
			c.ctrl = append(c.ctrl, ctrlFrame{typ: http2.FrameRSTStream, sid: id, n: uint32(http2.ErrCodeCancel)})
		}
	}
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
	// Owed ping answers wait for the next write, but not in numbers: a
	// picker pinging without pause gets them at once.
	urgent := (all || c.urgent || len(c.ctrl) >= maxOwed) && len(c.ctrl) > 0
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
		case http2.FramePing: // an answer, or (n 1) our probe
			_ = c.fr.WritePing(f.n == 0, f.ping)
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
		c.mu.Lock()
		if !f.IsAck() {
			c.ctrl = append(c.ctrl, ctrlFrame{typ: http2.FramePing, ping: f.Data})
		} else if f.Data == probeData {
			c.probeSent = time.Time{}
		}
		c.mu.Unlock()
	case *http2.WindowUpdateFrame:
		c.mu.Lock()
		var err error
		if f.StreamID == 0 {
			if c.connSend += int64(f.Increment); c.connSend > maxWindow {
				err = http2.ConnectionError(http2.ErrCodeFlowControl)
			}
		} else if s := c.streams[f.StreamID]; s != nil {
			if s.send += int64(f.Increment); s.send > maxWindow {
				s.err = errors.New("the picker overflowed a stream's window")
				delete(c.streams, s.id)
				c.ctrl = append(c.ctrl, ctrlFrame{typ: http2.FrameRSTStream, sid: s.id, n: uint32(http2.ErrCodeFlowControl)})
			}
		}
		c.wakeAll()
		c.mu.Unlock()
		if err != nil {
			return err
		}
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
	if len(s.in)+len(f.Data()) > maxPickerBody+5 || len(s.in) >= 5 && binary.BigEndian.Uint32(s.in[1:5]) > maxPickerBody {
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
	c.fields, c.hsize = c.fields[:0], 0
	_, err := c.hdec.Write(c.block)
	if err == nil {
		err = c.hdec.Close()
	}
	if err == nil && c.hsize > wireHeaderList {
		err = errors.New("a header list past 64 KiB")
	}
	if err != nil {
		return fmt.Errorf("picker headers: %w", err)
	}
	fields := c.fields
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
	trailers := s.headers || hasStatus
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
	if serr == nil && trailers && !c.blockE {
		serr = errors.New("trailers without end of stream")
	}
	if serr != nil || c.blockE {
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
		if err := st.Valid(); err != nil { // a frame size under 16 KiB, a window past 2^31-1
			return err
		}
		switch st.ID {
		case http2.SettingInitialWindowSize:
			delta := int64(st.Val) - c.initSend
			c.initSend = int64(st.Val)
			for _, s := range c.streams {
				if s.send += delta; s.send > maxWindow {
					return http2.ConnectionError(http2.ErrCodeFlowControl)
				}
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
