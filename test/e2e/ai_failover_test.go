package e2e

import (
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-ai/switchyard/internal/fakes/openaifake"
)

const secondReply = "Answer from the second backend"

// failoverYAML serves model "chat" from two openai-compatible backends, the
// primary at priority 0 and the secondary at priority 1.
func failoverYAML(primaryURL, secondaryURL string) string {
	return fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: llm
    rules:
      - backendRefs: [{name: primary, priority: 0}, {name: secondary, priority: 1}]
backends:
  - name: primary
    ai: {provider: openai-compatible, baseURL: %s, models: [chat], auth: {apiKey: "%s"}, timeout: 5s}
  - name: secondary
    ai: {provider: openai-compatible, baseURL: %s, models: [chat], auth: {apiKey: "%s"}, timeout: 5s}
`, primaryURL, upstreamKey, secondaryURL, upstreamKey)
}

// TestAIFailover checks that a failing primary (503, 429 with Retry-After, a
// dropped connection, a closed port) fails over to the secondary, for plain
// and streamed chats, through the binary.
func TestAIFailover(t *testing.T) {
	tests := []struct {
		name  string
		fault openaifake.Fault
		// refused: the primary's port is closed (no fake at all).
		refused bool
		// primaryHits is how many requests the primary may see for the two
		// calls (-1: at least one).
		primaryHits int
	}{
		{name: "503", fault: openaifake.Fault{Status: 503}, primaryHits: -1},
		// Retry-After makes the gateway skip the primary for the second call.
		{name: "429 with Retry-After", fault: openaifake.Fault{Status: 429, RetryAfter: "30"}, primaryHits: 1},
		{name: "connection dropped", fault: openaifake.Fault{CloseConn: true}, primaryHits: -1},
		{name: "connection refused", refused: true, primaryHits: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The secondary first: a free port picked before it was bound
			// could be the one it then binds (the primary would answer).
			secondary := openaifake.New(t, openaifake.Options{APIKey: upstreamKey, Reply: secondReply})
			primary := openaifake.New(t, openaifake.Options{APIKey: upstreamKey})
			primary.SetFault(tt.fault)
			primaryURL := primary.URL
			if tt.refused {
				primaryURL = fmt.Sprintf("http://127.0.0.1:%d", testutil.FreePort(t))
			}
			g := startAIGateway(t, failoverYAML(primaryURL, secondary.URL))
			c := sdkClient(g, clientKey)

			var hr *http.Response
			res, err := c.Chat.Completions.New(callCtx(t), openai.ChatCompletionNewParams{Model: "chat",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}}, option.WithResponseInto(&hr))
			if err != nil {
				t.Fatalf("chat: %v", err)
			}
			if got := res.Choices[0].Message.Content; got != secondReply {
				t.Errorf("content = %q, want the secondary's answer", got)
			}
			if got := hr.Header.Get("x-switchyard-backend"); got != "default/secondary" {
				t.Errorf("x-switchyard-backend = %q", got)
			}
			r := collectStream(c, callCtx(t), openai.ChatCompletionNewParams{Model: "chat",
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
			if r.err != nil || r.text != secondReply || r.finish != "stop" || r.usageChunks != 1 {
				t.Errorf("stream: err %v text %q finish %q usage chunks %d", r.err, r.text, r.finish, r.usageChunks)
			}
			hits := primary.Count()
			switch {
			case tt.primaryHits < 0 && hits == 0:
				t.Error("the primary was never tried")
			case tt.primaryHits >= 0 && hits != tt.primaryHits:
				t.Errorf("the primary got %d requests, want %d", hits, tt.primaryHits)
			}
			if secondary.Count() != 2 {
				t.Errorf("the secondary got %d requests, want 2", secondary.Count())
			}
		})
	}
}

// TestAIStreamStartedIsNotRetried checks that once a stream has sent a chunk,
// an upstream that drops the connection is not retried on the next backend:
// the client sees the stream fail, and the secondary gets no request.
func TestAIStreamStartedIsNotRetried(t *testing.T) {
	primary := openaifake.New(t, openaifake.Options{APIKey: upstreamKey, Reply: "one two three four five"})
	primary.SetFault(openaifake.Fault{StreamBreakAfter: 2}) // the role chunk and "one ", then the connection drops
	secondary := openaifake.New(t, openaifake.Options{APIKey: upstreamKey, Reply: secondReply})
	g := startAIGateway(t, failoverYAML(primary.URL, secondary.URL))
	c := sdkClient(g, clientKey)
	r := collectStream(c, callCtx(t), openai.ChatCompletionNewParams{Model: "chat",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	t.Logf("client saw: err %v, %d chunks, text %q, finish %q", r.err, r.chunks, r.text, r.finish)
	if r.err == nil {
		t.Error("the client saw a clean end of a stream the upstream cut off (want an error event)")
	}
	if r.finish != "" || strings.Contains(r.text, secondReply) {
		t.Errorf("the cut stream looks complete: finish %q text %q", r.finish, r.text)
	}
	if r.text != "one " {
		t.Errorf("text = %q, want the one word sent before the cut", r.text)
	}
	if n := secondary.Count(); n != 0 {
		t.Errorf("the secondary got %d requests after the stream had started", n)
	}
	if n := primary.Count(); n != 1 {
		t.Errorf("the primary got %d requests, want 1", n)
	}
}
