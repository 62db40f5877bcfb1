package ai

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// h2cModelServer is an OpenAI-compatible model server on loopback that
// speaks only HTTP/2 cleartext with prior knowledge (an HTTP/1.1 request
// gets no answer), as a pool with appProtocol kubernetes.io/h2c has. It
// records the protocol of every request it receives.
type h2cModelServer struct {
	addr string
	// stall makes chat answers wait this long before their headers; a
	// stream stalls this long after its first chunk.
	stall  atomic.Int64
	status atomic.Int32 // != 0: chat requests are answered with it
	// bigHeader makes chat answers carry a 100 KiB header.
	bigHeader atomic.Bool
	mu        sync.Mutex
	protos    []string // "METHOD path HTTP/x.y", in arrival order
	bodies    []string
	ids       []string // X-Request-Id of each chat request
	// gone counts streams whose client (the gateway) went away.
	gone atomic.Int32
}

func newH2CModelServer(t testing.TB) *h2cModelServer {
	t.Helper()
	m := &h2cModelServer{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: http.HandlerFunc(m.serve), Protocols: &protos, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	m.addr = ln.Addr().String()
	return m
}

func (m *h2cModelServer) serve(w http.ResponseWriter, r *http.Request) {
	body := make([]byte, 0, 512)
	buf := make([]byte, 512)
	for {
		n, err := r.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	m.mu.Lock()
	m.protos = append(m.protos, fmt.Sprintf("%s %s %s", r.Method, r.URL.Path, r.Proto))
	if r.URL.Path != "/metrics" {
		m.bodies = append(m.bodies, string(body))
		m.ids = append(m.ids, r.Header.Get("X-Request-Id"))
	}
	m.mu.Unlock()
	if r.ProtoMajor != 2 {
		http.Error(w, "HTTP/2 only", http.StatusHTTPVersionNotSupported)
		return
	}
	switch r.URL.Path {
	case "/metrics":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "vllm:num_requests_waiting 0")
		return
	case "/v1/chat/completions":
	default:
		http.NotFound(w, r)
		return
	}
	if s := m.status.Load(); s != 0 {
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":{"message":"busy","type":"server_error"}}`, int(s))
		return
	}
	if m.bigHeader.Load() {
		w.Header().Set("X-Big", strings.Repeat("b", 100<<10))
	}
	stall := time.Duration(m.stall.Load())
	if !gjson.GetBytes(body, "stream").Bool() {
		select {
		case <-time.After(stall):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Ratelimit-Remaining-Requests", "7")
		fmt.Fprintf(w, `{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"over h2c: %s"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}}`,
			gjson.GetBytes(body, "messages.0.content").Str)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	chunk := func(delta string) {
		fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", delta)
		fl.Flush()
	}
	chunk("one ")
	if stall > 0 {
		select {
		case <-time.After(stall):
		case <-r.Context().Done():
			m.gone.Add(1)
			return
		}
	}
	chunk("two")
	fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\ndata: [DONE]\n\n")
	fl.Flush()
}

// chats returns the protocol lines of the chat requests received.
func (m *h2cModelServer) chats() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, p := range m.protos {
		if strings.HasPrefix(p, "POST /v1/chat/completions") {
			out = append(out, p)
		}
	}
	return out
}

// h2cPool is an h2c inferencePool over endpoints with an external picker.
func h2cPool(picker string, endpoints ...string) *config.InferencePool {
	return &config.InferencePool{Endpoints: endpoints, AppProtocol: config.AppProtocolH2C,
		EndpointPicker: &config.EndpointPicker{Address: picker, FailureMode: config.FailClose, Timeout: config.Duration(2 * time.Second)},
		Timeout:        config.Duration(2 * time.Second)}
}

// TestPoolH2C: a pool with appProtocol kubernetes.io/h2c sends its requests
// to the picker's endpoint over HTTP/2 (the server sees HTTP/2.0), buffered
// and streamed, with the translator's headers and the request id; the answer,
// the served endpoint, the upstream's rate-limit headers and the usage are
// the HTTP/1.1 path's.
func TestPoolH2C(t *testing.T) {
	m := newH2CModelServer(t)
	fake := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Endpoints: []string{m.addr}} }}
	epp := eppfake.Start(t, fake, nil)
	h := newHarness(t, []backendSpec{{name: "pool", pool: h2cPool(epp, m.addr)}}, Options{})

	t.Run("buffered", func(t *testing.T) {
		status, hdr, body := h.do(t, "POST", "/v1/chat/completions", "application/json",
			[]byte(`{"model":"m","messages":[{"role":"user","content":"hello"}]}`))
		if status != 200 || gjson.GetBytes(body, "choices.0.message.content").Str != "over h2c: hello" {
			t.Fatalf("%d %s", status, body)
		}
		if got := string(hdr.Peek(HeaderServed)); got != m.addr {
			t.Errorf("served %q, want %s", got, m.addr)
		}
		if got := string(hdr.Peek("x-ratelimit-remaining-requests")); got != "7" {
			t.Errorf("x-ratelimit-remaining-requests %q, want the upstream's 7", got)
		}
		if got := h.rec.next(t).u; got.PromptTokens != 11 || got.CompletionTokens != 4 || got.TotalTokens != 15 {
			t.Errorf("usage %+v, want the server's 11+4", got)
		}
		if got := m.chats(); len(got) != 1 || got[0] != "POST /v1/chat/completions HTTP/2.0" {
			t.Fatalf("server saw %q, want one HTTP/2.0 chat", got)
		}
		if m.ids[0] != "req-test" {
			t.Errorf("X-Request-Id %q, want req-test", m.ids[0])
		}
	})
	t.Run("stream", func(t *testing.T) {
		client := h.sdk()
		s := client.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: "m",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream")}})
		var text strings.Builder
		for s.Next() {
			for _, c := range s.Current().Choices {
				text.WriteString(c.Delta.Content)
			}
		}
		if err := s.Err(); err != nil || text.String() != "one two" {
			t.Fatalf("stream %q, err %v", text.String(), err)
		}
		if got := h.rec.next(t).u; got.PromptTokens != 9 || got.CompletionTokens != 2 {
			t.Errorf("usage %+v, want the stream's 9+2", got)
		}
		if got := m.chats(); len(got) != 2 || got[1] != "POST /v1/chat/completions HTTP/2.0" {
			t.Fatalf("server saw %q, want a second HTTP/2.0 chat", got)
		}
		if !gjson.Get(m.bodies[len(m.bodies)-1], "stream").Bool() {
			t.Errorf("the server was not asked for a stream: %s", m.bodies[len(m.bodies)-1])
		}
	})
	if got := fake.Served(); len(got) != 2 || got[0] != m.addr || got[1] != m.addr {
		t.Errorf("served endpoints reported to the picker %v, want %s twice", got, m.addr)
	}
}

// TestPoolH2CFailures: over h2c, a server that does not answer within the
// pool's timeout is a 504, a stream that stalls past streamIdleTimeout ends
// with a timeout event (and the server's stream is cancelled), a refused
// connection moves on to the picker's next endpoint, response headers over
// 64 KiB are a 502, and a server's 429 is the client's with its Retry-After.
func TestPoolH2CFailures(t *testing.T) {
	m := newH2CModelServer(t)
	down := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	var order []string
	fake := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Endpoints: order} }}
	epp := eppfake.Start(t, fake, nil)
	pool := h2cPool(epp, m.addr, down)
	pool.Timeout = config.Duration(500 * time.Millisecond)
	pool.StreamIdleTimeout = config.Duration(300 * time.Millisecond)
	h := newHarness(t, []backendSpec{{name: "pool", pool: pool}}, Options{})
	chat := []byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`)

	t.Run("connect refused: next endpoint", func(t *testing.T) {
		order = []string{down, m.addr}
		status, hdr, body := h.do(t, "POST", "/v1/chat/completions", "application/json", chat)
		if status != 200 || string(hdr.Peek(HeaderServed)) != m.addr {
			t.Fatalf("%d served by %q: %s", status, hdr.Peek(HeaderServed), body)
		}
		h.rec.next(t)
	})
	order = []string{m.addr}
	t.Run("timeout", func(t *testing.T) {
		m.stall.Store(int64(2 * time.Second))
		defer m.stall.Store(0)
		start := time.Now()
		status, _, body := h.do(t, "POST", "/v1/chat/completions", "application/json", chat)
		if status != 504 || gjson.GetBytes(body, "error.type").Str != schema.ErrTimeout {
			t.Fatalf("%d %s, want a 504 timeout", status, body)
		}
		if el := time.Since(start); el > 1500*time.Millisecond {
			t.Errorf("answered after %v, want about the pool's 500ms", el)
		}
		h.rec.next(t)
	})
	t.Run("stream idle", func(t *testing.T) {
		m.stall.Store(int64(3 * time.Second))
		defer m.stall.Store(0)
		data, err := readStream(t, h.addr, `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`, 5*time.Second)
		if err != nil {
			t.Fatalf("stream did not end: %v (got %q)", err, data)
		}
		if len(data) != 2 || gjson.Get(data[1], "error.type").Str != schema.ErrTimeout {
			t.Fatalf("events %q, want one chunk and a timeout error", data)
		}
		h.rec.next(t)
		testutil.Eventually(t, 3*time.Second, func() bool { return m.gone.Load() == 1 }, "the server's stream was not cancelled")
	})
	t.Run("response headers too large", func(t *testing.T) {
		m.bigHeader.Store(true)
		defer m.bigHeader.Store(false)
		status, _, body := h.do(t, "POST", "/v1/chat/completions", "application/json", chat)
		if status != 502 {
			t.Fatalf("%d %s, want 502 for 100 KiB of response headers", status, body)
		}
		h.rec.next(t)
	})
	t.Run("server 429", func(t *testing.T) {
		m.status.Store(429)
		defer m.status.Store(0)
		status, hdr, body := h.do(t, "POST", "/v1/chat/completions", "application/json", chat)
		if status != 429 {
			t.Fatalf("%d %s, want the server's 429", status, body)
		}
		if got := string(hdr.Peek("Retry-After")); got != "1" {
			t.Errorf("Retry-After %q, want the server's 1", got)
		}
		h.rec.next(t)
	})
	for _, p := range m.chats() {
		if !strings.HasSuffix(p, "HTTP/2.0") {
			t.Errorf("server saw %q", p)
		}
	}
}

// TestPoolH2CBuiltinPicker: the built-in picker scrapes an h2c pool's
// servers over h2c, and serves through them.
func TestPoolH2CBuiltinPicker(t *testing.T) {
	m := newH2CModelServer(t)
	pool := &config.InferencePool{Endpoints: []string{m.addr}, AppProtocol: config.AppProtocolH2C,
		Picker: &config.BuiltinPicker{Interval: config.Duration(50 * time.Millisecond)}, Timeout: config.Duration(2 * time.Second)}
	h := newHarness(t, []backendSpec{{name: "pool", pool: pool}}, Options{})
	testutil.Eventually(t, 3*time.Second, func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.protos) > 0
	}, "the built-in picker never scraped the server")
	m.mu.Lock()
	if m.protos[0] != "GET /metrics HTTP/2.0" {
		t.Errorf("first scrape %q, want GET /metrics over HTTP/2.0", m.protos[0])
	}
	m.mu.Unlock()
	status, hdr, body := h.do(t, "POST", "/v1/chat/completions", "application/json",
		[]byte(`{"model":"m","messages":[{"role":"user","content":"built-in"}]}`))
	if status != 200 || string(hdr.Peek(HeaderServed)) != m.addr {
		t.Fatalf("%d served by %q: %s", status, hdr.Peek(HeaderServed), body)
	}
}

// TestPoolHTTPIsNotH2C: a pool that speaks HTTP/1.1 (the default) does not
// reach an h2c-only server: the protocol is the pool's, not guessed.
func TestPoolHTTPIsNotH2C(t *testing.T) {
	m := newH2CModelServer(t)
	epp := eppfake.Start(t, &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Endpoints: []string{m.addr}} }}, nil)
	pool := h2cPool(epp, m.addr)
	pool.AppProtocol = config.AppProtocolHTTP
	h := newHarness(t, []backendSpec{{name: "pool", pool: pool}}, Options{})
	status, _, body := h.do(t, "POST", "/v1/chat/completions", "application/json", []byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	if status == 200 {
		t.Fatalf("an HTTP/1.1 pool was answered by an h2c-only server: %s", body)
	}
	if got := m.chats(); len(got) != 0 {
		t.Errorf("the h2c-only server served %q", got)
	}
}
