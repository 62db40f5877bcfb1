package vertex

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// sseOf frames each JSON as a Gemini alt=sse event.
func sseOf(events ...string) string {
	var b strings.Builder
	for _, e := range events {
		b.WriteString("data: " + e + "\r\n\r\n")
	}
	return b.String()
}

// runStream streams src and returns the decoded chunks, the usage and the error.
func runStream(t *testing.T, src string) ([]schema.ChatChunk, schema.Usage, error) {
	t.Helper()
	tr := newTestTranslator(t, NewAdapter(), testBackend())
	if _, err := tr.Request([]byte(`{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`), nil); err != nil {
		t.Fatal(err)
	}
	var chunks []schema.ChatChunk
	u, err := tr.Stream(strings.NewReader(src), func(b []byte) error {
		var c schema.ChatChunk
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("chunk is not JSON: %v", err)
		}
		chunks = append(chunks, c)
		return nil
	})
	return chunks, u, err
}

// assembled rebuilds the tool calls of choice 0 from the chunks as OpenAI clients do.
func assembled(chunks []schema.ChatChunk) (map[int]*schema.ToolCall, string) {
	calls := map[int]*schema.ToolCall{}
	finish := ""
	for _, c := range chunks {
		for _, ch := range c.Choices {
			for _, d := range ch.Delta.ToolCalls {
				tc := calls[*d.Index]
				if tc == nil {
					tc = &schema.ToolCall{}
					calls[*d.Index] = tc
				}
				if d.ID != "" {
					tc.ID = d.ID
				}
				if d.Function.Name != "" {
					tc.Function.Name = d.Function.Name
				}
				tc.Function.Arguments += d.Function.Arguments
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	return calls, finish
}

func TestStreamParallelToolCallsAcrossEvents(t *testing.T) {
	var events []string
	cities := []string{"Paris", "London", "Tokyo", "Lima"}
	for i, city := range cities {
		ev := `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"` + city +
			`","opts":{"unit":"c","days":[1,2,3]}}}}]}` + map[bool]string{true: `,"finishReason":"STOP"`, false: ``}[i == len(cities)-1] +
			`}],"responseId":"r1"}`
		events = append(events, ev)
	}
	chunks, _, err := runStream(t, sseOf(events...))
	if err != nil {
		t.Fatal(err)
	}
	calls, finish := assembled(chunks)
	if finish != schema.FinishToolCalls {
		t.Fatalf("finish = %q, want tool_calls", finish)
	}
	if len(calls) != len(cities) {
		t.Fatalf("got %d calls, want %d", len(calls), len(cities))
	}
	ids := map[string]bool{}
	for i, city := range cities {
		c := calls[i]
		var args struct {
			City string `json:"city"`
			Opts struct {
				Days []int `json:"days"`
			} `json:"opts"`
		}
		if err := json.Unmarshal([]byte(c.Function.Arguments), &args); err != nil {
			t.Fatalf("call %d arguments are not JSON: %q", i, c.Function.Arguments)
		}
		if args.City != city || len(args.Opts.Days) != 3 || c.Function.Name != "get_weather" {
			t.Fatalf("call %d = %+v", i, c)
		}
		if ids[c.ID] || c.ID == "" {
			t.Fatalf("call %d id %q empty or repeated", i, c.ID)
		}
		ids[c.ID] = true
	}
}

func TestStreamMidStreamError(t *testing.T) {
	src := sseOf(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello"}]}}],"responseId":"r2"}`,
		`{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`)
	chunks, _, err := runStream(t, src)
	var se *schema.Error
	if !errors.As(err, &se) || se.Status != 503 || se.Type != schema.ErrUnavailable || !strings.Contains(se.Message, "overloaded") {
		t.Fatalf("err = %v, want a 503 *schema.Error", err)
	}
	if len(chunks) != 2 || *chunks[1].Choices[0].Delta.Content != "Hello" {
		t.Fatalf("chunks before the error: %+v", chunks)
	}
}

func TestStreamEndings(t *testing.T) {
	tests := []struct {
		name       string
		src        string
		wantFinish string
		wantErr    int
	}{
		{name: "truncated without finishReason", src: sseOf(`{"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]}}]}`), wantErr: 502},
		{name: "empty stream", src: "", wantErr: 502},
		{name: "bad json", src: sseOf(`{"candidates":[`), wantErr: 502},
		{name: "prompt blocked", src: sseOf(`{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7}}`),
			wantFinish: schema.FinishContentFilter},
		{name: "safety", src: sseOf(`{"candidates":[{"content":{"role":"model","parts":[{"text":"I"}]},"finishReason":"SAFETY"}]}`),
			wantFinish: schema.FinishContentFilter},
		{name: "max tokens", src: sseOf(`{"candidates":[{"content":{"role":"model","parts":[{"text":"I"}]},"finishReason":"MAX_TOKENS"}]}`),
			wantFinish: schema.FinishLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chunks, _, err := runStream(t, tt.src)
			if tt.wantErr != 0 {
				var se *schema.Error
				if !errors.As(err, &se) || se.Status != tt.wantErr {
					t.Fatalf("err = %v, want status %d", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, finish := assembled(chunks)
			if finish != tt.wantFinish {
				t.Fatalf("finish = %q, want %q", finish, tt.wantFinish)
			}
			if last := chunks[len(chunks)-1]; len(last.Choices) != 0 || last.Usage == nil {
				t.Fatalf("last chunk is not the usage chunk: %+v", last)
			}
		})
	}
}

func TestFinishReasons(t *testing.T) {
	tests := []struct {
		reason string
		calls  bool
		want   string
	}{
		{"STOP", false, schema.FinishStop},
		{"STOP", true, schema.FinishToolCalls},
		{"", true, schema.FinishToolCalls},
		{"MAX_TOKENS", false, schema.FinishLength},
		{"MAX_TOKENS", true, schema.FinishLength},
		{"SAFETY", false, schema.FinishContentFilter},
		{"RECITATION", false, schema.FinishContentFilter},
		{"BLOCKLIST", false, schema.FinishContentFilter},
		{"PROHIBITED_CONTENT", false, schema.FinishContentFilter},
		{"SPII", false, schema.FinishContentFilter},
		{"MALFORMED_FUNCTION_CALL", false, schema.FinishStop},
		{"OTHER", false, schema.FinishStop},
	}
	for _, tt := range tests {
		t.Run(tt.reason+map[bool]string{true: "+calls", false: ""}[tt.calls], func(t *testing.T) {
			if got := mapFinish(tt.reason, tt.calls); got != tt.want {
				t.Fatalf("mapFinish(%q, %v) = %q, want %q", tt.reason, tt.calls, got, tt.want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		in   *usageMetadata
		want string
	}{
		{name: "nil", in: nil, want: `{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}`},
		{name: "cache and thoughts", in: &usageMetadata{PromptTokenCount: 2000, CachedContentTokenCount: 1500,
			CandidatesTokenCount: 50, ThoughtsTokenCount: 100, TotalTokenCount: 2150},
			want: `{"prompt_tokens":2000,"completion_tokens":150,"total_tokens":2150,"prompt_tokens_details":{"cached_tokens":1500},"completion_tokens_details":{"reasoning_tokens":100}}`},
		{name: "no total", in: &usageMetadata{PromptTokenCount: 10, CandidatesTokenCount: 5, ToolUsePromptTokenCount: 3},
			want: `{"prompt_tokens":13,"completion_tokens":5,"total_tokens":18}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(convertUsage(tt.in))
			if string(b) != tt.want {
				t.Fatalf("got %s\nwant %s", b, tt.want)
			}
		})
	}
}
