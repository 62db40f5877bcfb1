package anthropic

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

func TestFinishReason(t *testing.T) {
	tests := []struct{ name, stop, want string }{
		{name: "end_turn", stop: "end_turn", want: "stop"},
		{name: "stop_sequence", stop: "stop_sequence", want: "stop"},
		{name: "max_tokens", stop: "max_tokens", want: "length"},
		{name: "tool_use", stop: "tool_use", want: "tool_calls"},
		{name: "refusal", stop: "refusal", want: "content_filter"},
		{name: "pause_turn", stop: "pause_turn", want: "stop"},
		{name: "unknown", stop: "something_new", want: "stop"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := finishReason(tc.stop); got != tc.want {
				t.Errorf("finishReason(%q) = %q, want %q", tc.stop, got, tc.want)
			}
			// the same through a non-streamed response and a stream
			body := `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"x"}],` +
				`"stop_reason":"` + tc.stop + `","usage":{"input_tokens":1,"output_tokens":1}}`
			out, _, err := newTestTranslator(t, false).Response(200, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			var r schema.ChatResponse
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatal(err)
			}
			want := tc.want
			if want == schema.FinishToolCalls {
				want = schema.FinishStop // no tool_use block was returned
			}
			sse := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":1}}}\n\n" +
				"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" + tc.stop + "\"},\"usage\":{\"output_tokens\":1}}\n\n" +
				"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
			chunks, _, err := collect(t, sse)
			if err != nil {
				t.Fatal(err)
			}
			var fin schema.ChatChunk
			_ = json.Unmarshal(chunks[len(chunks)-2], &fin)
			if r.Choices[0].FinishReason != want {
				t.Errorf("response finish_reason = %q, want %q", r.Choices[0].FinishReason, want)
			}
			if len(fin.Choices) != 1 || fin.Choices[0].FinishReason == nil || *fin.Choices[0].FinishReason != want {
				t.Errorf("stream finish chunk = %s, want %q", chunks[len(chunks)-2], want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		in   usage
		want schema.Usage
	}{
		{name: "plain", in: usage{InputTokens: 10, OutputTokens: 5},
			want: schema.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15,
				PromptTokensDetails: &schema.PromptTokensDetails{}}},
		{name: "cache read and write", in: usage{InputTokens: 10, OutputTokens: 5, CacheReadInputTokens: 100, CacheCreationInputTokens: 50},
			want: schema.Usage{PromptTokens: 160, CompletionTokens: 5, TotalTokens: 165,
				PromptTokensDetails: &schema.PromptTokensDetails{CachedTokens: 100, CacheWriteTokens: 50}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := openAIUsage(tc.in)
			if jsonOf(got) != jsonOf(tc.want) {
				t.Errorf("usage = %s, want %s", jsonOf(got), jsonOf(tc.want))
			}
		})
	}
}

func TestResponseErrors(t *testing.T) {
	tests := []struct {
		name     string
		vertex   bool
		status   int
		body     string
		want     int
		typ      string
		contains string
		absent   string
	}{
		{name: "invalid request", status: 400, body: `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`,
			want: 400, typ: schema.ErrInvalidRequest, contains: "max_tokens: Field required"},
		{name: "authentication", status: 401, body: `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`,
			want: 401, typ: schema.ErrAuthentication, contains: "invalid x-api-key"},
		{name: "rate limit", status: 429, body: `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`,
			want: 429, typ: schema.ErrRateLimit, contains: "rate limit"},
		{name: "overloaded 529", status: 529, body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			want: 503, typ: schema.ErrUnavailable, contains: "Overloaded"},
		{name: "api error", status: 500, body: `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`,
			want: 500, typ: schema.ErrServer, contains: "Internal server error"},
		{name: "not found", status: 404, body: `{"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}`,
			want: 404, typ: schema.ErrNotFound, contains: "claude-x"},
		{name: "529 without body", status: 529, body: ``, want: 503, typ: schema.ErrUnavailable, contains: "HTTP 529"},
		{name: "html body not leaked", status: 502, body: `<html><body>secret proxy page</body></html>`,
			want: 502, typ: schema.ErrServer, contains: "HTTP 502", absent: "secret"},
		{name: "vertex google error", vertex: true, status: 403,
			body: `{"error":{"code":403,"message":"Permission 'aiplatform.endpoints.predict' denied","status":"PERMISSION_DENIED"}}`,
			want: 403, typ: schema.ErrPermission, contains: "aiplatform.endpoints.predict"},
		{name: "invalid 200 body", status: 200, body: `not json`, want: 502, typ: schema.ErrServer, contains: "invalid response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := newTestTranslator(t, tc.vertex).Response(tc.status, []byte(tc.body))
			var se *schema.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *schema.Error", err)
			}
			if se.Status != tc.want || se.Type != tc.typ {
				t.Errorf("got %d %s, want %d %s", se.Status, se.Type, tc.want, tc.typ)
			}
			if !strings.Contains(se.Message, tc.contains) {
				t.Errorf("message %q does not contain %q", se.Message, tc.contains)
			}
			if tc.absent != "" && strings.Contains(se.Message, tc.absent) {
				t.Errorf("message %q leaks %q", se.Message, tc.absent)
			}
		})
	}
}

func TestResponseToolOnly(t *testing.T) {
	body := `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"thinking","thinking":"hmm","signature":"s"},` +
		`{"type":"tool_use","id":"toolu_1","name":"f","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":3,"output_tokens":4}}`
	out, u, err := newTestTranslator(t, false).Response(200, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if u.TotalTokens != 7 {
		t.Errorf("usage total = %d, want 7", u.TotalTokens)
	}
	var r struct {
		Choices []struct {
			Message struct {
				Content   *string           `json:"content"`
				ToolCalls []schema.ToolCall `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	c := r.Choices[0]
	if c.Message.Content != nil || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Arguments != "{}" ||
		c.FinishReason != "tool_calls" {
		t.Errorf("unexpected response: %s", out)
	}
}
