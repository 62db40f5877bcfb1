package ai

import (
	"bufio"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
)

// faultyStream is an OpenAI-shaped upstream that answers a stream 200 and
// then misbehaves before its first chunk, as mode says.
func faultyStream(t *testing.T, mode string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		switch mode {
		case "empty": // a 200 with an empty body
		case "close after headers": // the connection drops after the headers
			w.(http.Flusher).Flush()
			if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
				_ = c.Close()
			}
		case "comments only": // keep-alive comments, then the end of the body
			fmt.Fprint(w, ": ping\n\n: ping\n\n")
		case "error event first":
			fmt.Fprint(w, "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":503}}\n\n")
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// TestStreamFailsOverBeforeFirstChunk: an upstream that answers 200 but
// ends (or drops the connection) before its first event has not served the
// request: the next backend serves it (failover before the first byte), and
// Done runs once, for the backend that served.
func TestStreamFailsOverBeforeFirstChunk(t *testing.T) {
	for _, mode := range []string{"empty", "close after headers", "comments only", "error event first"} {
		t.Run(mode, func(t *testing.T) {
			bad := faultyStream(t, mode)
			goodOK := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"}}]}\n\ndata: [DONE]\n\n")
			}))
			t.Cleanup(goodOK.Close)
			h := newHarness(t, []backendSpec{
				{name: "bad", ai: streamBackend(bad.URL, time.Minute)},
				{name: "good", ai: streamBackend(goodOK.URL, time.Minute), priority: 1},
			}, Options{})
			data, err := readStream(t, h.addr, streamChat, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) != 2 || gjson.Get(data[0], "choices.0.delta.content").Str != "ok" || data[1] != "[DONE]" {
				t.Fatalf("events = %q, want the good backend's chunk and [DONE]", data)
			}
			if d := h.rec.next(t); d.x.Backend != "default/good" || d.x.Status != 200 {
				t.Errorf("done: backend %s status %d", d.x.Backend, d.x.Status)
			}
			select {
			case extra := <-h.rec.ch:
				t.Errorf("Done ran twice: %+v", extra.x)
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

// TestStreamOnlyDoneIsEmptyStream: an upstream that sends only [DONE] ended
// its stream on purpose: the client gets [DONE] (no failover).
func TestStreamOnlyDoneIsEmptyStream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(up.Close)
	h := newHarness(t, []backendSpec{{name: "oa", ai: streamBackend(up.URL, time.Minute)}}, Options{})
	data, err := readStream(t, h.addr, streamChat, 5*time.Second)
	if err != nil || len(data) != 1 || data[0] != "[DONE]" {
		t.Fatalf("events = %q (%v), want [DONE]", data, err)
	}
	if d := h.rec.next(t); d.x.Status != 200 {
		t.Errorf("done status = %d", d.x.Status)
	}
}

// countingUpstream streams chunks every 20ms until the client leaves, and
// counts the connections the gateway opened and the streams it abandoned.
type countingUpstream struct {
	*httptest.Server
	conns, gone atomic.Int32
	short       atomic.Bool // end each stream after three chunks
}

func newCountingUpstream(t *testing.T) *countingUpstream {
	u := &countingUpstream{}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; ; i++ {
			if u.short.Load() && i == 3 {
				fmt.Fprint(w, "data: [DONE]\n\n")
				return
			}
			fmt.Fprintf(w, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"c%d\"}}]}\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				u.gone.Add(1)
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}))
	u.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			u.conns.Add(1)
		}
	}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

// TestClientGoneMidStreamFreesUpstream: a client that leaves mid-stream ends
// the upstream stream (its connection is closed, not leaked), Done runs once
// per stream, and with one upstream connection allowed, later requests are
// still served.
func TestClientGoneMidStreamFreesUpstream(t *testing.T) {
	up := newCountingUpstream(t)
	// The idle timeout bounds how long an abandoned stream is read on for
	// its usage (this upstream never ends): short, so that the test is.
	b := streamBackend(up.URL, 500*time.Millisecond)
	b.MaxConnections = 1
	h := newHarness(t, []backendSpec{{name: "oa", ai: b}}, Options{})
	const n = 5
	for i := range n {
		conn, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			len(streamChat), streamChat)
		r := bufio.NewReader(conn)
		for got := 0; got < 2; {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("stream %d: %v", i, err)
			}
			if strings.HasPrefix(line, "data: ") {
				got++
			}
		}
		_ = conn.Close()
		if d := h.rec.next(t); d.x.Status != 200 {
			t.Errorf("stream %d: done status %d", i, d.x.Status)
		}
	}
	testutil.Eventually(t, 3*time.Second, func() bool { return up.gone.Load() == n }, "the upstream streams were not all ended")
	select {
	case extra := <-h.rec.ch:
		t.Errorf("Done ran more than once per stream: %+v", extra.x)
	case <-time.After(100 * time.Millisecond):
	}
	// The one connection slot is free again: a stream read to its end is served.
	req := streamChat
	up.short.Store(true)
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		len(req), req)
	body, err := io.ReadAll(conn)
	if err != nil || !strings.HasPrefix(string(body), "HTTP/1.1 200") || !strings.Contains(string(body), "data: [DONE]") {
		t.Fatalf("after the abandoned streams: %v\n%s", err, body)
	}
}

// TestStreamDirectClientGoneStopsProducer: an in-process producer whose
// client left mid-stream runs on for its usage within the drain bound (here
// the stream idle timeout) and is then stopped, and Done runs once.
func TestStreamDirectClientGoneStopsProducer(t *testing.T) {
	d := &echoDirect{n: 100000, pause: 5 * time.Millisecond}
	h := newHarness(t, []backendSpec{{name: "sim", ai: config.AIBackend{Provider: "sim", StreamIdleTimeout: config.Duration(time.Second)}}},
		Options{Direct: map[string]providers.Direct{"sim": d}})
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Replace(streamChat, "gpt-4o-mini", "m", 1)
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(body), body)
	r := bufio.NewReader(conn)
	for got := 0; got < 3; {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") {
			got++
		}
	}
	_ = conn.Close()
	start := time.Now()
	if got := h.rec.next(t); got.x.Status != 200 {
		t.Errorf("done = %+v", got.x)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("the producer ran on for %v after the client left", el)
	}
}
