package ai

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// leaveAfter sends a streamed chat on a raw connection, reads n data events
// and closes the connection.
func leaveAfter(t *testing.T, addr, body string, n int) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		len(body), body)
	r := bufio.NewReader(c)
	for got := 0; got < n; {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("after %d events: %v", got, err)
		}
		if strings.HasPrefix(line, "data: ") {
			got++
		}
	}
}

// slowOpenAI streams chunks content chunks every 30 ms, then (unless stall)
// a usage-only chunk and [DONE]; stalled, it sends nothing more until the
// gateway leaves. ended counts the streams written to their end.
func slowOpenAI(t *testing.T, chunks int, stall bool) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var ended atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range chunks {
			fmt.Fprintf(w, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"c%d\"}}]}\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(30 * time.Millisecond)
		}
		if stall {
			<-r.Context().Done()
			return
		}
		fmt.Fprintf(w, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n",
			chunks, 42+chunks)
		fmt.Fprint(w, "data: [DONE]\n\n")
		ended.Add(1)
	}))
	t.Cleanup(s.Close)
	return s, &ended
}

// slowAnthropic streams an Anthropic message: message_start (12 input
// tokens), deltas text deltas every 30 ms, then (unless stall) message_delta
// with the output tokens and message_stop.
func slowAnthropic(t *testing.T, deltas int, stall bool) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","+
			"\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n"+
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
		for i := range deltas {
			fmt.Fprintf(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"t%d\"}}\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(30 * time.Millisecond)
		}
		if stall {
			<-r.Context().Done()
			return
		}
		fmt.Fprintf(w, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"+
			"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":%d}}\n\n"+
			"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", deltas)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestStreamUsageAfterClientLeft: the usage of a stream whose client left
// early is still reported: the upstream is read on (its chunks dropped) to
// its usage within a bound; when the usage cannot be had in time (the
// upstream stalls) an estimate is charged, marked Estimated: the prompt
// (size / 4, or the provider's count when it sent one) and one completion
// token per chunk the upstream produced.
func TestStreamUsageAfterClientLeft(t *testing.T) {
	promptEstimate := len(streamChat) / 4 // the body's size: see estimatePrompt
	anthropicOpts := Options{}
	claude := func(url string) config.AIBackend {
		return config.AIBackend{Provider: config.ProviderAnthropic, BaseURL: url, Models: []string{"gpt-4o-mini"}, Model: "claude-x",
			Auth: config.BackendAuth{APIKey: "k"}, StreamIdleTimeout: config.Duration(400 * time.Millisecond)}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) (backendSpec, Options)
		body  string
		want  schema.Usage
	}{
		{name: "openai: usage arrives after the client left", setup: func(t *testing.T) (backendSpec, Options) {
			up, _ := slowOpenAI(t, 10, false)
			return backendSpec{name: "oa", ai: streamBackend(up.URL, time.Minute)}, Options{}
		}, want: schema.Usage{PromptTokens: 42, CompletionTokens: 10, TotalTokens: 52}},
		{name: "openai: upstream stalls, usage estimated", setup: func(t *testing.T) (backendSpec, Options) {
			up, _ := slowOpenAI(t, 5, true)
			return backendSpec{name: "oa", ai: streamBackend(up.URL, 400*time.Millisecond)}, Options{}
		}, want: schema.Usage{PromptTokens: promptEstimate, CompletionTokens: 5, TotalTokens: promptEstimate + 5, Estimated: true}},
		{name: "anthropic: usage arrives after the client left", setup: func(t *testing.T) (backendSpec, Options) {
			return backendSpec{name: "claude", ai: claude(slowAnthropic(t, 10, false).URL)}, anthropicOpts
		}, want: schema.Usage{PromptTokens: 12, CompletionTokens: 10, TotalTokens: 22}},
		{name: "anthropic: upstream stalls, usage estimated", setup: func(t *testing.T) (backendSpec, Options) {
			return backendSpec{name: "claude", ai: claude(slowAnthropic(t, 5, true).URL)}, anthropicOpts
		}, want: schema.Usage{PromptTokens: 12, CompletionTokens: 6, TotalTokens: 18, Estimated: true}}, // role chunk + 5
		{name: "openai: upstream error mid-stream, usage estimated", setup: func(t *testing.T) (backendSpec, Options) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n"+
					"data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"}}]}\n\n"+
					"data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\",\"code\":503}}\n\n")
			}))
			t.Cleanup(up.Close)
			return backendSpec{name: "oa", ai: streamBackend(up.URL, time.Minute)}, Options{}
		}, want: schema.Usage{PromptTokens: promptEstimate, CompletionTokens: 2, TotalTokens: promptEstimate + 2, Estimated: true}},
		{name: "direct: producer runs to its end", setup: func(t *testing.T) (backendSpec, Options) {
			return backendSpec{name: "sim", ai: config.AIBackend{Provider: "sim"}},
				Options{Direct: map[string]providers.Direct{"sim": &echoDirect{n: 20, pause: 20 * time.Millisecond}}}
		}, body: strings.Replace(streamChat, "gpt-4o-mini", "m", 1), want: schema.Usage{PromptTokens: 1, CompletionTokens: 20, TotalTokens: 21}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, opts := tt.setup(t)
			h := newHarness(t, []backendSpec{spec}, opts)
			body := tt.body
			if body == "" {
				body = streamChat
			}
			leaveAfter(t, h.addr, body, 2)
			got := h.rec.next(t).u
			got.PromptTokensDetails, got.CompletionTokensDetails = nil, nil
			if got != tt.want {
				t.Errorf("usage = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestStreamUsageEstimate: the estimate keeps what the provider reported.
func TestStreamUsageEstimate(t *testing.T) {
	tests := []struct {
		name     string
		u        schema.Usage
		complete bool
		want     schema.Usage
	}{
		{name: "complete", u: schema.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}, complete: true,
			want: schema.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}},
		{name: "nothing known", want: schema.Usage{PromptTokens: 100, CompletionTokens: 9, TotalTokens: 109, Estimated: true}},
		{name: "prompt known", u: schema.Usage{PromptTokens: 30, CompletionTokens: 1},
			want: schema.Usage{PromptTokens: 30, CompletionTokens: 9, TotalTokens: 39, Estimated: true}},
		{name: "more completion known than chunks", u: schema.Usage{PromptTokens: 30, CompletionTokens: 50},
			want: schema.Usage{PromptTokens: 30, CompletionTokens: 50, TotalTokens: 80, Estimated: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := streamUsage(tt.u, tt.complete, 100, 9); got != tt.want {
				t.Errorf("streamUsage = %+v, want %+v", got, tt.want)
			}
		})
	}
}
