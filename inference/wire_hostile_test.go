package inference

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawPicker is an HTTP/2 server that sends settings, then answers each
// stream the gateway opens with answer's frames: a picker that breaks the
// protocol in ways a grpc-go server never would.
func rawPicker(t *testing.T, settings []http2.Setting, answer func(fr *http2.Framer, sid uint32)) string {
	t.Helper()
	ln := listen(t, "127.0.0.1:0")
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() {
				if _, err := io.ReadFull(c, make([]byte, len(http2.ClientPreface))); err != nil {
					return
				}
				fr := http2.NewFramer(c, c)
				_ = fr.WriteSettings(settings...)
				for {
					f, err := fr.ReadFrame()
					if err != nil {
						return
					}
					if h, ok := f.(*http2.HeadersFrame); ok {
						answer(fr, h.StreamID)
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// block encodes header fields.
func block(fields ...string) []byte {
	var b bytes.Buffer
	enc := hpack.NewEncoder(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return b.Bytes()
}

// okHeaders are a gRPC answer's response headers.
func okHeaders(fr *http2.Framer, sid uint32) {
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: sid, EndHeaders: true,
		BlockFragment: block(":status", "200", "content-type", "application/grpc")})
}

// TestWireHostilePicker: a picker that sends what HTTP/2 or gRPC forbids,
// or what would make the gateway spin or buffer without bound, fails the
// request (FailClose: an error) long before its timeout.
func TestWireHostilePicker(t *testing.T) {
	const timeout = 3 * time.Second
	noAnswer := func(*http2.Framer, uint32) {}
	tests := []struct {
		name     string
		settings []http2.Setting
		answer   func(fr *http2.Framer, sid uint32)
		want     string // in the error
	}{
		{"frame size zero", []http2.Setting{{ID: http2.SettingMaxFrameSize, Val: 0}}, noAnswer, "connect"},
		{"window past 2^31-1", []http2.Setting{{ID: http2.SettingInitialWindowSize, Val: 1 << 31}}, noAnswer, "connect"},
		{"no streams allowed", []http2.Setting{{ID: http2.SettingMaxConcurrentStreams, Val: 0}}, noAnswer, "connect"},
		{"connection window overflow", nil, func(fr *http2.Framer, sid uint32) {
			_ = fr.WriteWindowUpdate(0, 1<<31-1)
		}, "stream"},
		{"message length past the limit", nil, func(fr *http2.Framer, sid uint32) {
			okHeaders(fr, sid)
			_ = fr.WriteData(sid, false, []byte{0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3})
			_ = fr.WriteData(sid, false, []byte{4, 5, 6})
		}, "larger than the gateway accepts"},
		{"trailers without end of stream", nil, func(fr *http2.Framer, sid uint32) {
			okHeaders(fr, sid)
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: sid, EndHeaders: true, BlockFragment: block("grpc-status", "0")})
		}, "trailers without end of stream"},
		{"header list amplified by the table", nil, func(fr *http2.Framer, sid uint32) {
			// One 4 KB entry, then 1,000 one-byte references to it: 4 MB decoded.
			var b bytes.Buffer
			enc := hpack.NewEncoder(&b)
			_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "200"})
			_ = enc.WriteField(hpack.HeaderField{Name: "x-big", Value: strings.Repeat("v", 4000)})
			for range 1000 {
				_ = enc.WriteField(hpack.HeaderField{Name: "x-big", Value: strings.Repeat("v", 4000)})
			}
			_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: sid, EndHeaders: true, BlockFragment: b.Bytes()})
		}, "header list past 64 KiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pool := newTimedPool(t, rawPicker(t, tc.settings, tc.answer), "FailClose", nil, timeout)
			done := make(chan error, 1)
			start := time.Now()
			go func() {
				d, err := pool.Pick(context.Background(), chatRequest(`{"model":"m"}`))
				if err == nil {
					d.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				var pe *Error
				if !errors.As(err, &pe) || !strings.Contains(pe.Reason+": "+pe.Error(), tc.want) {
					t.Errorf("pick = %v; want a picker error mentioning %q", err, tc.want)
				}
				if el := time.Since(start); el > timeout/2 {
					t.Errorf("failed after %s: left to its %s timeout", el, timeout)
				}
			case <-time.After(3 * timeout):
				t.Fatal("the pick never returned")
			}
			if n := len(wireConns(pool)); n > maxWireConns {
				t.Errorf("%d connections to the picker, the limit being %d", n, maxWireConns)
			}
		})
	}
}
