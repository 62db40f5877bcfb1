package ai

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// echoDirect is a tiny in-process adapter: it answers with the request's
// upstream model and streams n chunks, pausing between them.
type echoDirect struct {
	n     int
	pause time.Duration
	fail  *schema.Error
}

var _ providers.Direct = (*echoDirect)(nil)

func (d *echoDirect) Do(ctx context.Context, op schema.Operation, _ *config.AIBackend, _ []byte, req *schema.ChatRequest,
	emit func([]byte) error) ([]byte, schema.Usage, error) {
	if d.fail != nil {
		return nil, schema.Usage{}, d.fail
	}
	u := schema.Usage{PromptTokens: 1, CompletionTokens: d.n, TotalTokens: 1 + d.n}
	if req == nil {
		return nil, u, schema.Errorf(400, schema.ErrInvalidRequest, "no request")
	}
	if !req.Stream {
		return []byte(`{"object":"chat.completion","model":"` + req.Model + `","choices":[]}`), u, nil
	}
	for i := 0; i < d.n; i++ {
		if err := emit([]byte(fmt.Sprintf(`{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"%d"}}]}`, i))); err != nil {
			return nil, u, err
		}
		select {
		case <-ctx.Done():
			return nil, u, ctx.Err()
		case <-time.After(d.pause):
		}
	}
	return nil, u, nil
}

func TestDirect(t *testing.T) {
	tests := []struct {
		name       string
		direct     *echoDirect
		body       string
		status     int
		wantBody   string
		wantChunks int
	}{
		{name: "plain", direct: &echoDirect{}, body: `{"model":"sim/any-model","messages":[{"role":"user","content":"x"}]}`,
			status: 200, wantBody: `"model":"any-model"`},
		{name: "stream", direct: &echoDirect{n: 3}, body: `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`,
			status: 200, wantBody: "data: [DONE]", wantChunks: 3},
		{name: "error before first chunk", direct: &echoDirect{fail: schema.Errorf(400, schema.ErrInvalidRequest, "bad n")},
			body: `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`, status: 400, wantBody: "bad n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []backendSpec{{name: "sim", ai: config.AIBackend{Provider: "sim"}}},
				Options{Direct: map[string]providers.Direct{"sim": tt.direct}})
			status, hdr, body := h.do(t, "POST", "/v1/chat/completions", "application/json", []byte(tt.body))
			if status != tt.status || !strings.Contains(string(body), tt.wantBody) {
				t.Fatalf("status %d body %s", status, body)
			}
			if n := strings.Count(string(body), "data: {"); n != tt.wantChunks {
				t.Errorf("chunks = %d, want %d", n, tt.wantChunks)
			}
			if tt.wantChunks > 0 && string(hdr.ContentType()) != "text/event-stream" {
				t.Errorf("content type %q", hdr.ContentType())
			}
			if d := h.rec.next(t); d.x.Status != tt.status {
				t.Errorf("done status %d", d.x.Status)
			}
		})
	}
}

func TestDefaultSim(t *testing.T) {
	h := newHarness(t, []backendSpec{{name: "sim", ai: config.AIBackend{Provider: "sim", Sim: &config.SimConfig{OutputTokens: 4}}}}, Options{})
	status, _, body := h.do(t, "POST", "/v1/chat/completions", "application/json",
		[]byte(`{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`))
	if status != 200 || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Fatalf("status %d body %s", status, body)
	}
	if d := h.rec.next(t); d.u.CompletionTokens == 0 {
		t.Errorf("sim usage = %+v", d.u)
	}
}

func TestClientDisconnectStillReportsUsage(t *testing.T) {
	d := &echoDirect{n: 1000, pause: 5 * time.Millisecond}
	// The producer runs on for its usage after the client left, for at most
	// the stream idle timeout (here shorter than the 5 s it would take).
	h := newHarness(t, []backendSpec{{name: "sim", ai: config.AIBackend{Provider: "sim", StreamIdleTimeout: config.Duration(time.Second)}}},
		Options{Direct: map[string]providers.Direct{"sim": d}})
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "data: ") {
			break
		}
	}
	_ = conn.Close()
	start := time.Now()
	got := h.rec.next(t)
	if !got.x.Stream || got.x.FirstByte.IsZero() || time.Since(start) > 3*time.Second {
		t.Errorf("done = %+v after %v", got.x, time.Since(start))
	}
}
