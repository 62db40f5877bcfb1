package ai

import (
	"bufio"
	"context"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

const streamChat = `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`

// stallingUpstream is an OpenAI-shaped upstream that answers a stream with
// its headers and chunks first chunks, then sends nothing until the test ends.
// It counts the streams whose client (the gateway) went away.
type stallingUpstream struct {
	*httptest.Server
	cancelled atomic.Int32
}

func newStallingUpstream(t testing.TB, chunks int) *stallingUpstream {
	t.Helper()
	u := &stallingUpstream{}
	stop := make(chan struct{})
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := 0; i < chunks; i++ {
			fmt.Fprintf(w, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"c%d\"}}]}\n\n", i)
		}
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			u.cancelled.Add(1)
		case <-stop:
		}
	}))
	t.Cleanup(func() {
		close(stop)
		u.Close()
	})
	return u
}

func streamBackend(url string, idle time.Duration) config.AIBackend {
	return config.AIBackend{Provider: "openai", BaseURL: url, Models: []string{"gpt-4o-mini"},
		Auth: config.BackendAuth{APIKey: "k"}, StreamIdleTimeout: config.Duration(idle)}
}

// readStream sends a streamed chat on a raw connection and returns the SSE
// data lines until the gateway ends the response (or the deadline passes).
func readStream(t *testing.T, addr, body string, within time.Duration) ([]string, error) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(within))
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		len(body), body)
	r := bufio.NewReader(conn)
	var data []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if strings.Contains(err.Error(), "EOF") {
				return data, nil
			}
			return data, err
		}
		if s, ok := strings.CutPrefix(line, "data: "); ok {
			data = append(data, strings.TrimSpace(s))
			if data[len(data)-1] == "[DONE]" {
				return data, nil
			}
		}
	}
}

// TestStreamIdleTimeout: an upstream stream that stalls after its headers is
// ended after streamIdleTimeout with a final timeout error event, the
// upstream connection is closed, and Done runs once.
func TestStreamIdleTimeout(t *testing.T) {
	up := newStallingUpstream(t, 2)
	h := newHarness(t, []backendSpec{{name: "oa", ai: streamBackend(up.URL, 300*time.Millisecond)}}, Options{})
	start := time.Now()
	data, err := readStream(t, h.addr, streamChat, 5*time.Second)
	if err != nil {
		t.Fatalf("stream did not end: %v (got %q)", err, data)
	}
	if len(data) != 3 || gjson.Get(data[2], "error.type").Str != schema.ErrTimeout {
		t.Fatalf("events = %q, want 2 chunks and a timeout error", data)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("ended after %v", el)
	}
	d := h.rec.next(t)
	if d.x.Status != 200 || d.x.FirstByte.IsZero() {
		t.Errorf("done = %+v", d.x)
	}
	select {
	case extra := <-h.rec.ch:
		t.Errorf("Done ran twice: %+v", extra.x)
	case <-time.After(100 * time.Millisecond):
	}
	testutil.Eventually(t, 3*time.Second, func() bool { return up.cancelled.Load() == 1 }, "the upstream connection was not closed")
}

// TestStreamIdleBeforeFirstChunkFailsOver: headers but no chunk within the
// idle timeout is an attempt failure: the next backend serves the stream.
func TestStreamIdleBeforeFirstChunkFailsOver(t *testing.T) {
	stalled := newStallingUpstream(t, 0)
	good := newStallingUpstream(t, 1)
	h := newHarness(t, []backendSpec{
		{name: "stalled", ai: streamBackend(stalled.URL, 200*time.Millisecond)},
		{name: "good", ai: streamBackend(good.URL, 200*time.Millisecond), priority: 1},
	}, Options{})
	data, err := readStream(t, h.addr, streamChat, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 1 || gjson.Get(data[0], "choices.0.delta.content").Str != "c0" {
		t.Fatalf("events = %q", data)
	}
	if d := h.rec.next(t); d.x.Backend != "default/good" {
		t.Errorf("backend = %s", d.x.Backend)
	}
}

// TestStreamRouteRequestTimeout: the route's timeouts.request bounds a
// committed stream too; the client gets a final timeout event.
func TestStreamRouteRequestTimeout(t *testing.T) {
	d := &echoDirect{n: 1000, pause: 20 * time.Millisecond}
	h := newHarness(t, []backendSpec{{name: "sim", ai: config.AIBackend{Provider: "sim"}}},
		Options{Direct: map[string]providers.Direct{"sim": d}}, &config.Timeouts{Request: config.Duration(400 * time.Millisecond)})
	start := time.Now()
	data, err := readStream(t, h.addr, strings.Replace(streamChat, "gpt-4o-mini", "m", 1), 5*time.Second)
	if err != nil {
		t.Fatalf("stream did not end: %v", err)
	}
	if len(data) < 2 || gjson.Get(data[len(data)-1], "error.type").Str != schema.ErrTimeout {
		t.Fatalf("last event = %q", data[len(data)-1:])
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("ended after %v", el)
	}
	if got := h.rec.next(t); got.x.Status != 200 {
		t.Errorf("done = %+v", got.x)
	}
}

// TestStreamRouteRequestTimeoutUpstream: the route's timeouts.request bounds
// a committed upstream stream (read without a producer goroutine): the
// pending upstream read is interrupted, the client gets a final timeout
// event, the upstream connection is closed and Done runs once.
func TestStreamRouteRequestTimeoutUpstream(t *testing.T) {
	up := newStallingUpstream(t, 2)
	h := newHarness(t, []backendSpec{{name: "oa", ai: streamBackend(up.URL, time.Minute)}}, Options{},
		&config.Timeouts{Request: config.Duration(400 * time.Millisecond)})
	start := time.Now()
	data, err := readStream(t, h.addr, streamChat, 5*time.Second)
	if err != nil {
		t.Fatalf("stream did not end: %v (got %q)", err, data)
	}
	if len(data) != 3 || gjson.Get(data[2], "error.type").Str != schema.ErrTimeout {
		t.Fatalf("events = %q, want 2 chunks and a timeout error", data)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("ended after %v", el)
	}
	if d := h.rec.next(t); d.x.Status != 200 {
		t.Errorf("done = %+v", d.x)
	}
	select {
	case extra := <-h.rec.ch:
		t.Errorf("Done ran twice: %+v", extra.x)
	case <-time.After(100 * time.Millisecond):
	}
	testutil.Eventually(t, 3*time.Second, func() bool { return up.cancelled.Load() == 1 }, "the upstream connection was not closed")
}

// TestStreamRouteRequestTimeoutBeforeFirstChunk: a deadline that passes while
// the upstream works on the first chunk answers 504.
func TestStreamRouteRequestTimeoutBeforeFirstChunk(t *testing.T) {
	up := newStallingUpstream(t, 0)
	h := newHarness(t, []backendSpec{{name: "oa", ai: streamBackend(up.URL, time.Minute)}}, Options{},
		&config.Timeouts{Request: config.Duration(300 * time.Millisecond)})
	start := time.Now()
	status, _, body := h.do(t, "POST", "/v1/chat/completions", "application/json", []byte(streamChat))
	if status != 504 || time.Since(start) > 3*time.Second {
		t.Fatalf("status %d after %v: %s", status, time.Since(start), body)
	}
	if d := h.rec.next(t); d.x.Status != 504 {
		t.Errorf("done status = %d", d.x.Status)
	}
	testutil.Eventually(t, 3*time.Second, func() bool { return up.cancelled.Load() == 1 }, "the upstream connection was not closed")
}

// TestClientGoneBeforeFirstChunk: a client that leaves while the upstream
// works on the first chunk is noticed: the upstream call is cancelled and
// Done runs (status 499) long before the upstream would have answered.
func TestClientGoneBeforeFirstChunk(t *testing.T) {
	tests := []struct {
		name string
		spec func(t *testing.T) (backendSpec, Options, func() bool)
	}{
		{name: "upstream", spec: func(t *testing.T) (backendSpec, Options, func() bool) {
			up := newStallingUpstream(t, 0)
			return backendSpec{name: "oa", ai: streamBackend(up.URL, time.Minute)}, Options{},
				func() bool { return up.cancelled.Load() == 1 }
		}},
		{name: "direct", spec: func(t *testing.T) (backendSpec, Options, func() bool) {
			d := &slowDirect{}
			return backendSpec{name: "sim", ai: config.AIBackend{Provider: "sim"}},
				Options{Direct: map[string]providers.Direct{"sim": d}}, func() bool { return d.cancelled.Load() == 1 }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, opts, cancelled := tt.spec(t)
			h := newHarness(t, []backendSpec{spec}, opts)
			conn, err := net.Dial("tcp", h.addr)
			if err != nil {
				t.Fatal(err)
			}
			body := streamChat
			fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				len(body), body)
			time.Sleep(200 * time.Millisecond)
			_ = conn.Close()
			d := h.rec.next(t)
			if d.x.Status != statusClientClosed {
				t.Errorf("done status = %d, want %d", d.x.Status, statusClientClosed)
			}
			testutil.Eventually(t, 3*time.Second, cancelled, "the producer was not stopped")
		})
	}
}

// slowDirect takes a minute for its first chunk unless cancelled.
type slowDirect struct{ cancelled atomic.Int32 }

func (d *slowDirect) Do(ctx context.Context, _ schema.Operation, _ *config.AIBackend, _ []byte, _ *schema.ChatRequest,
	_ func([]byte) error) ([]byte, schema.Usage, error) {
	select {
	case <-ctx.Done():
		d.cancelled.Add(1)
		return nil, schema.Usage{}, ctx.Err()
	case <-time.After(time.Minute):
		return nil, schema.Usage{}, nil
	}
}

// panicDirect panics after its first chunk, as a translator fed a hostile
// upstream stream might.
type panicDirect struct{}

func (panicDirect) Do(_ context.Context, _ schema.Operation, _ *config.AIBackend, _ []byte, _ *schema.ChatRequest,
	emit func([]byte) error) ([]byte, schema.Usage, error) {
	_ = emit([]byte(`{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"x"}}]}`))
	panic("boom: nil map")
}

// TestStreamProducerPanic: a producer's panic ends the stream with an error
// event and Done runs; the process survives.
func TestStreamProducerPanic(t *testing.T) {
	h := newHarness(t, []backendSpec{{name: "sim", ai: config.AIBackend{Provider: "sim"}}},
		Options{Direct: map[string]providers.Direct{"sim": panicDirect{}}})
	data, err := readStream(t, h.addr, strings.Replace(streamChat, "gpt-4o-mini", "m", 1), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 2 || gjson.Get(data[1], "error.type").Str != schema.ErrServer {
		t.Fatalf("events = %q", data)
	}
	if strings.Contains(data[1], "nil map") {
		t.Errorf("the panic leaked to the client: %s", data[1])
	}
	h.rec.next(t)
}

// TestUpstreamConnIdleMode: streamIdle puts the connection a response came on
// in idle mode; fasthttp's next SetReadDeadline ends it.
func TestUpstreamConnIdleMode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(time.Second)
		}
	}()
	nc, err := dial(&fasthttp.TCPDialer{}, ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	uc := nc.(*upstreamConn)
	a, ok := nc.LocalAddr().(*connAddr)
	if !ok || a.c != uc || a.String() != uc.Conn.LocalAddr().String() {
		t.Fatalf("LocalAddr = %#v", nc.LocalAddr())
	}
	uc.idle.Store(int64(50 * time.Millisecond))
	start := time.Now()
	if _, err := nc.Read(make([]byte, 1)); err == nil || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("idle read: %v after %v", err, time.Since(start))
	}
	_ = nc.SetReadDeadline(time.Now().Add(time.Hour))
	if uc.idle.Load() != 0 {
		t.Error("SetReadDeadline did not end the idle mode")
	}
}

// TestModelListed: Done learns whether the configuration names the model, so
// that metrics can bound the label values of client-chosen names.
func TestModelListed(t *testing.T) {
	tests := []struct {
		name   string
		ai     config.AIBackend
		model  string
		listed bool
	}{
		{name: "listed", ai: config.AIBackend{Provider: "sim", Models: []string{"m"}}, model: "m", listed: true},
		{name: "alias", ai: config.AIBackend{Provider: "sim", Models: []string{"m"}, Aliases: map[string]string{"a": "m"}}, model: "a", listed: true},
		{name: "catch-all", ai: config.AIBackend{Provider: "sim"}, model: "anything", listed: false},
		{name: "backend prefix", ai: config.AIBackend{Provider: "sim", Models: []string{"m"}}, model: "sim/other", listed: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []backendSpec{{name: "sim", ai: tt.ai}}, Options{Direct: map[string]providers.Direct{"sim": &echoDirect{}}})
			status, _, body := h.do(t, "POST", "/v1/chat/completions", "application/json",
				[]byte(`{"model":"`+tt.model+`","messages":[{"role":"user","content":"x"}]}`))
			if status != 200 {
				t.Fatalf("status %d: %s", status, body)
			}
			if d := h.rec.next(t); d.x.ModelListed != tt.listed || d.x.Model != tt.model {
				t.Errorf("model %q listed %v, want %q %v", d.x.Model, d.x.ModelListed, tt.model, tt.listed)
			}
		})
	}
}

// TestRetryAfterCapped: a huge or overflowing Retry-After must not keep a
// backend out of rotation for years.
func TestRetryAfterCapped(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name, header, value string
		want                time.Duration
	}{
		{name: "seconds", header: "Retry-After", value: "30", want: 30 * time.Second},
		{name: "ms", header: "retry-after-ms", value: "1500", want: 1500 * time.Millisecond},
		{name: "huge seconds", header: "Retry-After", value: "9999999999", want: maxRetryAfter},
		{name: "overflowing seconds", header: "Retry-After", value: "9223372036854775807", want: maxRetryAfter},
		{name: "overflowing ms", header: "retry-after-ms", value: "9223372036854775807", want: maxRetryAfter},
		{name: "far date", header: "Retry-After", value: "Fri, 31 Dec 2999 23:59:59 GMT", want: maxRetryAfter},
		{name: "negative", header: "Retry-After", value: "-5", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h fasthttp.ResponseHeader
			h.Set(tt.header, tt.value)
			if got := retryAfter(&h, now); got != tt.want {
				t.Errorf("retryAfter = %v, want %v", got, tt.want)
			}
		})
	}
}
