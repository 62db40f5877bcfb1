package router

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// logBuffer collects the gateway's JSON log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// access returns the access-log lines of request id.
func (l *logBuffer) access(id string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "access" && m["request_id"] == id {
			out = append(out, m)
		}
	}
	return out
}

// reviewUpstream is an OpenAI-shaped upstream whose behaviour is chosen per
// test case. It counts the requests whose connection the gateway closed.
type reviewUpstream struct {
	*httptest.Server
	gone atomic.Int32
}

const reviewChunk = `{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"c%d"}}]}`

func newReviewUpstream(t *testing.T, mode string) *reviewUpstream {
	t.Helper()
	u := &reviewUpstream{}
	stop := make(chan struct{})
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mode == "500" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error":{"message":"down","type":"server_error"}}`))
			return
		}
		if b, _ := io.ReadAll(r.Body); !bytes.Contains(b, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"id":"x","object":"chat.completion","model":"chat","choices":[{"index":0,"message":{"role":"assistant","content":"hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		fl := w.(http.Flusher)
		switch mode {
		case "ok":
			for i := range 3 {
				fmt.Fprintf(w, "data: "+reviewChunk+"\n\n", i)
			}
			fmt.Fprint(w, "data: [DONE]\n\n")
			return
		case "errmid":
			fmt.Fprintf(w, "data: "+reviewChunk+"\n\n", 0)
			fmt.Fprint(w, "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"code\":500}}\n\n")
			return
		case "break":
			fmt.Fprintf(w, "data: "+reviewChunk+"\n\n", 0)
			fl.Flush()
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = c.Close()
			}
			return
		case "stall":
			for i := range 2 {
				fmt.Fprintf(w, "data: "+reviewChunk+"\n\n", i)
			}
			fl.Flush()
			select {
			case <-r.Context().Done():
				u.gone.Add(1)
			case <-stop:
			}
		}
	}))
	t.Cleanup(func() {
		close(stop)
		u.Close()
	})
	return u
}

// reviewGateway runs a Gateway with one AI route over backends (YAML list items).
func reviewGateway(t *testing.T, backends, refs, timeouts string) (*Gateway, string, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	g, addr := aiGateway(t, slog.New(slog.NewJSONHandler(logs, nil)), nil, `
server: {drainTimeout: 2s}
listeners: [{name: web, address: 127.0.0.1, port: %d}]
routes:
  - name: llm
    rules:
      - backendRefs: [%s]
        %s
backends:
%s`, refs, timeouts, backends)
	return g, addr, logs
}

// rawExchange sends one request on a new connection and reads the response
// until it ends or, with leaveAfter > 0, until that many SSE data lines
// arrived (then it closes the connection: a client gone mid-stream).
func rawExchange(t *testing.T, addr, method, id, body string, leaveAfter int) (status string, data []string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Request-Id: %s\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		method, id, len(body), body)
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if status == "" {
			status = strings.TrimSpace(line)
		}
		if s, ok := strings.CutPrefix(line, "data: "); ok {
			data = append(data, strings.TrimSpace(s))
			if leaveAfter > 0 && len(data) >= leaveAfter {
				return status, data
			}
		}
		if err != nil {
			return status, data
		}
	}
}

// waitInflight waits for the gateway's requests in flight to end.
func waitInflight(t *testing.T, g *Gateway, within time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { g.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(within):
		t.Fatal("a request stayed in flight: the stream body's OnClose never ran")
	}
}

// TestStreamAccessLogOnce: every way a request through the OpenAI front end
// ends (a stream read to its end, a client that leaves mid-stream, an
// upstream that fails or breaks off mid-stream, the stream idle timeout, the
// route's request deadline, failover before the first chunk, HEAD, a plain
// answer) writes exactly one access-log line with the right status and
// backend, the request leaves the in-flight count (so a drain does not
// wait for it), and no goroutine is left behind.
func TestStreamAccessLogOnce(t *testing.T) {
	const stream = `{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	const plain = `{"model":"chat","messages":[{"role":"user","content":"hi"}]}`
	backend := func(name, url string) string {
		return fmt.Sprintf("  - name: %s\n    ai: {provider: openai-compatible, baseURL: %s, models: [chat], auth: {apiKey: k}, timeout: 5s, streamIdleTimeout: 300ms}\n", name, url)
	}
	tests := []struct {
		name       string
		modes      []string // one upstream per mode, in priority order
		sim        bool
		timeouts   string
		method     string
		body       string
		leaveAfter int
		status     float64
		backend    string
		lastEvent  string // a substring of the last data line the client got
		// upstreamGone: the stalled upstream's connection must be closed.
		upstreamGone bool
	}{
		{name: "stream to its end", modes: []string{"ok"}, body: stream, status: 200, backend: "default/b0", lastEvent: "[DONE]"},
		{name: "client gone mid-stream", modes: []string{"stall"}, body: stream, leaveAfter: 1, status: 200, backend: "default/b0", upstreamGone: true},
		{name: "upstream error mid-stream", modes: []string{"errmid"}, body: stream, status: 200, backend: "default/b0", lastEvent: `"error"`},
		// An upstream that breaks off between two events is not told from one that
		// ended without [DONE]: the client gets [DONE] (see the review notes).
		{name: "upstream breaks off mid-stream", modes: []string{"break"}, body: stream, status: 200, backend: "default/b0"},
		{name: "stream idle timeout", modes: []string{"stall"}, body: stream, status: 200, backend: "default/b0", lastEvent: `"timeout"`, upstreamGone: true},
		{name: "route request deadline", modes: []string{"stall"}, timeouts: "timeouts: {request: 400ms}", body: stream,
			status: 200, backend: "default/b0", lastEvent: `"timeout"`, upstreamGone: true},
		{name: "failover before the first chunk", modes: []string{"500", "ok"}, body: stream, status: 200, backend: "default/b1", lastEvent: "[DONE]"},
		{name: "all backends fail", modes: []string{"500", "500"}, body: stream, status: 500, backend: "default/b1"},
		{name: "HEAD", modes: []string{"ok"}, method: "HEAD", status: 405},
		{name: "plain answer fails over", modes: []string{"500", "ok"}, body: plain, status: 200, backend: "default/b1"},
		{name: "in-process stream", sim: true, body: stream, status: 200, backend: "default/sim", lastEvent: "[DONE]"},
		{name: "in-process stream, client gone", sim: true, body: stream, leaveAfter: 1, status: 200, backend: "default/sim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var backends, refs []string
			var ups []*reviewUpstream
			for i, m := range tt.modes {
				up := newReviewUpstream(t, m)
				ups = append(ups, up)
				name := fmt.Sprintf("b%d", i)
				backends = append(backends, backend(name, up.URL))
				refs = append(refs, fmt.Sprintf("{name: %s, priority: %d}", name, i))
			}
			if tt.sim {
				backends = append(backends, "  - name: sim\n    ai: {provider: sim, models: [chat], sim: {outputTokens: 40, interTokenLatency: 5ms}}\n")
				refs = append(refs, "{name: sim}")
			}
			g, addr, logs := reviewGateway(t, strings.Join(backends, ""), strings.Join(refs, ", "), tt.timeouts)
			method := tt.method
			if method == "" {
				method = "POST"
			}
			id := "review-" + strings.ReplaceAll(tt.name, " ", "-")
			_, data := rawExchange(t, addr, method, id, tt.body, tt.leaveAfter)
			if tt.lastEvent != "" && (len(data) == 0 || !strings.Contains(data[len(data)-1], tt.lastEvent)) {
				t.Errorf("events = %q, want the last to contain %s", data, tt.lastEvent)
			}
			deadline := time.Now().Add(5 * time.Second)
			for len(logs.access(id)) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			time.Sleep(150 * time.Millisecond) // a second line would be written by now
			lines := logs.access(id)
			if len(lines) != 1 {
				t.Fatalf("%d access-log lines for the request, want 1: %v", len(lines), lines)
			}
			if lines[0]["status"] != tt.status {
				t.Errorf("access-log status = %v, want %v", lines[0]["status"], tt.status)
			}
			if tt.backend != "" && lines[0]["backend"] != tt.backend {
				t.Errorf("access-log backend = %v, want %s", lines[0]["backend"], tt.backend)
			}
			waitInflight(t, g, 3*time.Second)
			waitNoRequestGoroutines(t)
			waitNoTrackedConns(t, g)
			if tt.upstreamGone {
				for end := time.Now().Add(3 * time.Second); ups[0].gone.Load() == 0 && time.Now().Before(end); {
					time.Sleep(10 * time.Millisecond)
				}
				if ups[0].gone.Load() != 1 {
					t.Error("the stalled upstream's connection was not closed")
				}
			}
		})
	}
}

// requestGoroutines returns the stacks of the goroutines serving requests in
// the gateway (a connection's handler or stream body, a stream producer):
// none should remain once every request has ended.
func requestGoroutines() []string {
	buf := make([]byte, 4<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "switchyard/router") && !strings.Contains(g, "_test.go") &&
			!strings.Contains(g, "(*boundListener).serve") && !idleDialWorker(g) {
			out = append(out, g)
		}
	}
	return out
}

// idleDialWorker reports a dialing goroutine of router/dialer waiting for work
// (it outlives requests by design; one stuck in a dial has frames above work).
func idleDialWorker(g string) bool {
	lines := strings.SplitN(g, "\n", 3)
	return len(lines) > 1 && strings.Contains(lines[1], "dialer.(*Pool).work(")
}

// waitNoRequestGoroutines fails t when goroutines serving requests remain.
func waitNoRequestGoroutines(t *testing.T) {
	t.Helper()
	var left []string
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if left = requestGoroutines(); len(left) == 0 {
			return
		}
	}
	t.Errorf("%d goroutines still serve a request that ended:\n%s", len(left), strings.Join(left, "\n\n"))
}

// panicOnDone is a policy whose Settle panics (a bug in a metering policy).
type panicOnDone struct{}

// panicOnRequest is a policy whose Request panics.
type panicOnRequest struct{}

func (panicOnRequest) Phase() policies.Phase { return policies.PhaseGuardrail }
func (panicOnRequest) Request(context.Context, *policies.Exchange) (policies.Reservation, error) {
	panic("policy bug")
}

func (p panicOnDone) Request(context.Context, *policies.Exchange) (policies.Reservation, error) {
	return p, nil
}
func (panicOnDone) Settle(context.Context, *policies.Exchange, schema.Usage) {
	panic("policy bug")
}

// TestStreamOnCloseRunsWhenDonePanics: fasthttp recovers a panic raised
// while it closes a stream body, so a policy whose Done panics must not also
// skip the router's OnClose: the access log is written and the request
// leaves the in-flight count (a drain does not wait for it forever).
func TestStreamOnCloseRunsWhenDonePanics(t *testing.T) {
	g, addr, logs := panicGateway(t, newReviewUpstream(t, "ok"), panicOnDone{})
	_, data := rawExchange(t, addr, "POST", "panic-done", `{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}`, 0)
	if len(data) == 0 || data[len(data)-1] != "[DONE]" {
		t.Fatalf("events = %q", data)
	}
	waitInflight(t, g, 3*time.Second)
	if lines := logs.access("panic-done"); len(lines) != 1 {
		t.Fatalf("%d access-log lines, want 1", len(lines))
	}
}

// doneRecorder records what each Done saw.
type doneRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *doneRecorder) Request(context.Context, *policies.Exchange) (policies.Reservation, error) {
	return r, nil
}
func (r *doneRecorder) Settle(_ context.Context, x *policies.Exchange, _ schema.Usage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, fmt.Sprintf("%s %s stream=%v status=%d tag=%q body=%d",
		x.RequestID, x.Model, x.Stream, x.Status, x.Header("x-tag"), len(x.Body)))
}

func (r *doneRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// TestPipelinedAfterStream: a stream and the requests pipelined behind it
// on one keep-alive connection (the server recycles the request and, with
// ReduceMemoryUsage, its buffers between them): each answer, access-log line
// and Done report belongs to its own request; a stream's Done sees no
// request headers or body (released) rather than the next request's.
func TestPipelinedAfterStream(t *testing.T) {
	up := newReviewUpstream(t, "ok")
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	rec := &doneRecorder{}
	g, addr := aiGateway(t, log, []policies.Policy{rec}, `
server: {drainTimeout: 2s}
listeners: [{name: web, address: 127.0.0.1, port: %d}]
routes: [{name: llm, rules: [{backendRefs: [{name: b0}, {name: sim}]}]}]
backends:
  - name: b0
    ai: {provider: openai-compatible, baseURL: %s, models: [chat], auth: {apiKey: k}}
  - name: sim
    ai: {provider: sim, models: [simchat], sim: {outputTokens: 5}}
`, up.URL)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	reqs := []struct{ id, tag, model string }{
		{"p1", "A", `"model":"chat","stream":true`},
		{"p2", "B", `"model":"simchat","stream":true`},
		{"p3", "C", `"model":"chat"`},
		{"p4", "D", `"model":"chat","stream":true`},
		{"p5", "E", `"model":"simchat"`},
	}
	var all bytes.Buffer
	for i, r := range reqs {
		body := `{` + r.model + `,"messages":[{"role":"user","content":"` + strings.Repeat(r.tag, 100*(i+1)) + `"}]}`
		closing := ""
		if i == len(reqs)-1 {
			closing = "Connection: close\r\n"
		}
		fmt.Fprintf(&all, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Request-Id: %s\r\nX-Tag: %s\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			r.id, r.tag, closing, len(body), body)
	}
	if _, err := conn.Write(all.Bytes()); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "HTTP/1.1 200 OK"); n != len(reqs) {
		t.Fatalf("%d answers of 200, want %d:\n%s", n, len(reqs), out)
	}
	for _, r := range reqs {
		if !strings.Contains(string(out), "X-Request-Id: "+r.id) && !strings.Contains(string(out), "x-request-id: "+r.id) {
			t.Errorf("no answer carries request id %s", r.id)
		}
	}
	waitInflight(t, g, 3*time.Second)
	want := []string{
		`p1 chat stream=true status=200 tag="" body=0`,
		`p2 simchat stream=true status=200 tag="" body=0`,
		`p3 chat stream=false status=200 tag="C" body=`,
		`p4 chat stream=true status=200 tag="" body=0`,
		`p5 simchat stream=false status=200 tag="E" body=`,
	}
	got := rec.all()
	if len(got) != len(want) {
		t.Fatalf("Done reports = %q, want %d", got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("Done %d = %s, want %s...", i, got[i], want[i])
		}
	}
	for _, r := range reqs {
		lines := logs.access(r.id)
		if len(lines) != 1 || lines[0]["status"] != float64(200) || lines[0]["path"] != "/v1/chat/completions" {
			t.Errorf("access log of %s = %v", r.id, lines)
		}
	}
}

// waitNoTrackedConns fails t when a listener still tracks a client
// connection once every connection has been closed (the ConnState tracker
// would leak them, and a drain would try to close them again).
func waitNoTrackedConns(t *testing.T, g *Gateway) {
	t.Helper()
	count := func() int {
		g.mu.Lock()
		defer g.mu.Unlock()
		n := 0
		for _, l := range g.listeners {
			n += len(l.conns.all())
		}
		return n
	}
	var n int
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if n = count(); n == 0 {
			return
		}
	}
	t.Errorf("listeners still track %d closed connections", n)
}

// TestPanicAnswers500 checks that a panic while serving a non-streamed request
// (here a policy's Request) answers that request with a 500 in OpenAI's
// shape, logs it, settles the reservations already made exactly once, and
// leaves the gateway serving.
func TestPanicAnswers500(t *testing.T) {
	rec := &doneRecorder{}
	g, addr, logs := panicGateway(t, newReviewUpstream(t, "ok"), rec, panicOnRequest{})
	for i := 0; i < 2; i++ { // the second request proves the process survived
		status, _ := rawExchange(t, addr, "POST", fmt.Sprintf("panic-%d", i), `{"model":"chat","messages":[{"role":"user","content":"hi"}]}`, 0)
		if !strings.Contains(status, "500") {
			t.Fatalf("request %d: status line %q, want 500", i, status)
		}
	}
	if got := rec.all(); len(got) != 2 || !strings.HasPrefix(got[0], "panic-0 chat stream=false status=500") {
		t.Fatalf("settlements = %q, want one per request with status 500", got)
	}
	waitInflight(t, g, 3*time.Second)
	if !strings.Contains(logs.String(), "panic while serving a request") {
		t.Fatal("the panic was not logged")
	}
	if lines := logs.access("panic-1"); len(lines) != 1 || lines[0]["status"] != float64(500) {
		t.Fatalf("access lines = %v", lines)
	}
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// panicGateway runs a gateway with the given (panicking) policies, in front of up.
func panicGateway(t *testing.T, up *reviewUpstream, ps ...policies.Policy) (*Gateway, string, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	g, addr := aiGateway(t, slog.New(slog.NewJSONHandler(logs, nil)), ps, `
server: {drainTimeout: 2s}
listeners: [{name: web, address: 127.0.0.1, port: %d}]
routes: [{name: llm, rules: [{backendRefs: [{name: b0}]}]}]
backends:
  - name: b0
    ai: {provider: openai-compatible, baseURL: %s, models: [chat], auth: {apiKey: k}}
`, up.URL)
	return g, addr, logs
}
