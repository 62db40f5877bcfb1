package ai

import (
	"bufio"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
)

// floodUpstream is an OpenAI-shaped upstream that streams chunks as fast as
// it can until its client (the gateway) goes away, which it counts.
func floodUpstream(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var gone atomic.Int32
	chunk := []byte("data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" +
		strings.Repeat("x", 512) + "\"}}]}\n\n")
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for {
			if _, err := w.Write(chunk); err != nil {
				gone.Add(1)
				return
			}
			if r.Context().Err() != nil {
				gone.Add(1)
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s, &gone
}

// dialSmallWindow connects to addr with a small receive buffer, so that a
// client that does not read stalls the sender soon.
func dialSmallWindow(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestStreamWriteTimeout: a client that sends a streamed request and never
// reads does not hold its stream forever: once a write to it blocks for
// server.streamWriteTimeout the gateway ends the stream, frees the upstream
// call and settles the exchange (Done runs).
func TestStreamWriteTimeout(t *testing.T) {
	const writeTimeout = 300 * time.Millisecond
	tests := []struct {
		name string
		spec func(t *testing.T) (backendSpec, Options, string, func() bool)
	}{
		{name: "upstream", spec: func(t *testing.T) (backendSpec, Options, string, func() bool) {
			up, gone := floodUpstream(t)
			return backendSpec{name: "oa", ai: streamBackend(up.URL, time.Minute)}, Options{}, streamChat,
				func() bool { return gone.Load() == 1 }
		}},
		{name: "direct", spec: func(t *testing.T) (backendSpec, Options, string, func() bool) {
			d := &echoDirect{n: 1 << 30}
			return backendSpec{name: "sim", ai: config.AIBackend{Provider: "sim", StreamIdleTimeout: config.Duration(time.Second)}},
				Options{Direct: map[string]providers.Direct{"sim": d}}, strings.Replace(streamChat, "gpt-4o-mini", "m", 1),
				func() bool { return true }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, opts, body, upstreamFreed := tt.spec(t)
			opts.StreamWriteTimeout = writeTimeout
			h := newHarness(t, []backendSpec{spec}, opts)
			c := dialSmallWindow(t, h.addr)
			fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				len(body), body)
			// Never read: the gateway's writes stall once the windows are full.
			start := time.Now()
			var d done
			select {
			case d = <-h.rec.ch:
			case <-time.After(10 * time.Second):
				t.Fatal("the stream to a client that does not read was not ended (Done not called)")
			}
			// Filling the socket buffers (a few MiB, slow under the race
			// detector), the write timeout, then at most 1 s (the idle
			// timeout, or 1 MiB) of collecting the usage.
			if el := time.Since(start); el > 6*time.Second {
				t.Errorf("settled after %v", el)
			}
			if d.x.Status != 200 {
				t.Errorf("done status = %d", d.x.Status)
			}
			testutil.Eventually(t, 3*time.Second, upstreamFreed, "the upstream stream was not ended")
		})
	}
}

// TestStreamWriteTimeoutDefault: 0 means the default, a value is kept.
func TestStreamWriteTimeoutDefault(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   time.Duration
		want time.Duration
	}{
		{name: "zero", in: 0, want: DefaultStreamWriteTimeout},
		{name: "set", in: time.Second, want: time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fe, err := New(nil, Options{StreamWriteTimeout: tt.in})
			if err != nil {
				t.Fatal(err)
			}
			if fe.streamWrite != tt.want {
				t.Errorf("streamWrite = %v, want %v", fe.streamWrite, tt.want)
			}
		})
	}
}

// TestStreamWriteTimeoutKeepAlive: the write deadline of a stream that ended
// does not cut the next response on the kept-alive connection.
func TestStreamWriteTimeoutKeepAlive(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\ndata: [DONE]\n\n")
	}))
	t.Cleanup(ok.Close)
	h := newHarness(t, []backendSpec{{name: "oa", ai: streamBackend(ok.URL, time.Minute)}}, Options{StreamWriteTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(streamChat), streamChat)
	for { // to the end of the chunked body
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if line == "0\r\n" {
			if _, err := r.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	h.rec.next(t)
	time.Sleep(400 * time.Millisecond) // past the last write's deadline
	fmt.Fprint(c, "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n")
	status, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
		t.Fatalf("the next response on the connection: %q %v", status, err)
	}
}
