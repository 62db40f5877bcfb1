package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/anthropicfake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/anthropic"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

const testKey = "sk-ant-test-key"

// roundTrip runs one request through translator -> signer -> HTTP -> translator.
// For streams it returns the chunks as a JSON array.
func roundTrip(t *testing.T, fake *anthropicfake.Server, key, raw string) (out []byte, chunks []schema.ChatChunk, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := anthropic.NewAdapter().NewTranslator(schema.OpChat, &config.AIBackend{Provider: "anthropic", BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	up, err := tr.Request([]byte(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.NewKeySigner("x-api-key", "", key).Sign(ctx, up, auth.ClientCredentials{}); err != nil {
		t.Fatal(err)
	}
	resp := testutil.Do(t, up)
	defer resp.Body.Close()
	if up.Stream && resp.StatusCode == 200 {
		_, err = tr.Stream(resp.Body, func(b []byte) error {
			var c schema.ChatChunk
			if jerr := json.Unmarshal(b, &c); jerr != nil {
				t.Errorf("bad chunk %s: %v", b, jerr)
			}
			chunks = append(chunks, c)
			return nil
		})
		return nil, chunks, err
	}
	out, _, err = tr.Response(resp.StatusCode, testutil.ReadBody(t, resp))
	return out, nil, err
}

const weatherTools = `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]`

func TestIntegration(t *testing.T) {
	fake := anthropicfake.New(testKey)
	defer fake.Close()
	tests := []struct {
		name    string
		key     string
		raw     string
		content string // expected content (response or stream)
		finish  string
		toolArg string // expected arguments of the single tool call
		status  int    // expected error status
	}{
		{name: "chat", key: testKey, raw: `{"model":"claude-test","messages":[{"role":"system","content":"be nice"},{"role":"user","content":"hello there"}]}`,
			content: "You said: hello there", finish: "stop"},
		{name: "tool call", key: testKey, raw: `{"model":"claude-test",` + weatherTools + `,"messages":[{"role":"user","content":"weather?"}]}`,
			content: "I will call get_weather.", finish: "tool_calls", toolArg: `{"city":"test"}`},
		{name: "after tool result", key: testKey, raw: `{"model":"claude-test",` + weatherTools + `,"messages":[{"role":"user","content":"weather?"},` +
			`{"role":"assistant","tool_calls":[{"id":"toolu_fake_01","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"test\"}"}}]},` +
			`{"role":"tool","tool_call_id":"toolu_fake_01","content":"sunny"}]}`,
			content: "The tool returned: sunny", finish: "stop"},
		{name: "max tokens", key: testKey, raw: `{"model":"claude-test","max_tokens":2,"messages":[{"role":"user","content":"one two three"}]}`,
			content: "You said:", finish: "length"},
		{name: "stream chat", key: testKey, raw: `{"model":"claude-test","stream":true,"messages":[{"role":"user","content":"hi there friend"}]}`,
			content: "You said: hi there friend", finish: "stop"},
		{name: "stream tool call", key: testKey, raw: `{"model":"claude-test","stream":true,"tool_choice":"required",` + weatherTools + `,"messages":[{"role":"user","content":"weather?"}]}`,
			finish: "tool_calls", toolArg: `{"city":"test"}`},
		{name: "wrong key", key: "wrong", raw: `{"model":"claude-test","messages":[{"role":"user","content":"hi"}]}`, status: 401},
		{name: "wrong key stream", key: "wrong", raw: `{"model":"claude-test","stream":true,"messages":[{"role":"user","content":"hi"}]}`, status: 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, chunks, err := roundTrip(t, fake, tc.key, tc.raw)
			if tc.status != 0 {
				var se *schema.Error
				if !errors.As(err, &se) || se.Status != tc.status {
					t.Fatalf("err = %v, want status %d", err, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var content, finish, args string
			calls := 0
			if chunks != nil {
				for _, c := range chunks {
					for _, ch := range c.Choices {
						if ch.Delta.Content != nil {
							content += *ch.Delta.Content
						}
						if ch.FinishReason != nil {
							finish = *ch.FinishReason
						}
						for _, tc := range ch.Delta.ToolCalls {
							if tc.ID != "" {
								calls++
							}
							args += tc.Function.Arguments
						}
					}
				}
				if last := chunks[len(chunks)-1]; len(last.Choices) != 0 || last.Usage == nil || last.Usage.TotalTokens == 0 {
					t.Errorf("last chunk is not the usage chunk: %+v", last)
				}
			} else {
				var r schema.ChatResponse
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatal(err)
				}
				content, finish = r.Choices[0].Message.Content.PlainText(), r.Choices[0].FinishReason
				for _, c := range r.Choices[0].Message.ToolCalls {
					calls++
					args += c.Function.Arguments
				}
			}
			if content != tc.content || finish != tc.finish || args != tc.toolArg {
				t.Errorf("content %q finish %q args %q; want %q %q %q", content, finish, args, tc.content, tc.finish, tc.toolArg)
			}
			if tc.toolArg != "" && calls != 1 {
				t.Errorf("tool calls = %d, want 1", calls)
			}
		})
	}
	reqs := fake.Requests()
	if len(reqs) != len(tests) || reqs[0].Header.Get("anthropic-version") != anthropic.DefaultVersion {
		t.Errorf("fake recorded %d requests", len(reqs))
	}
}

func TestIntegrationStreamError(t *testing.T) {
	fake := anthropicfake.New(testKey)
	defer fake.Close()
	fake.SetStreamError(&anthropicfake.Failure{Type: "overloaded_error", Message: "Overloaded"})
	_, chunks, err := roundTrip(t, fake, testKey, `{"model":"claude-test","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	var se *schema.Error
	if !errors.As(err, &se) || se.Status != 503 || !strings.Contains(se.Message, "Overloaded") {
		t.Fatalf("err = %v, want 503 Overloaded", err)
	}
	if len(chunks) != 2 { // role chunk and the first text delta
		t.Errorf("got %d chunks before the error, want 2", len(chunks))
	}
}

func TestIntegrationHTTPError(t *testing.T) {
	fake := anthropicfake.New(testKey)
	defer fake.Close()
	fake.FailNext(1, anthropicfake.Failure{Status: 429, Type: "rate_limit_error", Message: "slow down"})
	raw := `{"model":"claude-test","messages":[{"role":"user","content":"hi"}]}`
	_, _, err := roundTrip(t, fake, testKey, raw)
	var se *schema.Error
	if !errors.As(err, &se) || se.Status != 429 || se.Type != schema.ErrRateLimit {
		t.Fatalf("err = %v, want 429 rate limit", err)
	}
	if _, _, err := roundTrip(t, fake, testKey, raw); err != nil {
		t.Fatalf("second request: %v", err)
	}
}
