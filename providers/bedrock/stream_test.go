package bedrock

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// collected is what a client would rebuild from a stream's chunks.
type collected struct {
	chunks []schema.ChatChunk
	text   string
	calls  map[int]*schema.ToolCall
	finish string
	usage  *schema.Usage
}

func runStream(t *testing.T, events []streamEvent) (collected, schema.Usage, error) {
	t.Helper()
	tr := newTestTranslator(t)
	tr.model = "m"
	c := collected{calls: map[int]*schema.ToolCall{}}
	u, err := tr.Stream(bytes.NewReader(encodeEvents(t, events)), func(b []byte) error {
		var ch schema.ChatChunk
		if err := json.Unmarshal(b, &ch); err != nil {
			return fmt.Errorf("chunk is not JSON: %w", err)
		}
		c.chunks = append(c.chunks, ch)
		if ch.Usage != nil {
			c.usage = ch.Usage
		}
		for _, choice := range ch.Choices {
			if choice.Delta.Content != nil {
				c.text += *choice.Delta.Content
			}
			for _, tc := range choice.Delta.ToolCalls {
				if tc.Index == nil {
					return errors.New("tool call delta without index")
				}
				call, ok := c.calls[*tc.Index]
				if !ok {
					if tc.ID == "" || tc.Type != "function" || tc.Function.Name == "" {
						return fmt.Errorf("first delta of call %d lacks id/type/name: %+v", *tc.Index, tc)
					}
					call = &schema.ToolCall{ID: tc.ID, Type: tc.Type, Function: schema.FunctionCall{Name: tc.Function.Name}}
					c.calls[*tc.Index] = call
				}
				call.Function.Arguments += tc.Function.Arguments
			}
			if choice.FinishReason != nil {
				c.finish = *choice.FinishReason
			}
		}
		return nil
	})
	return c, u, err
}

func ev(event, payload string) streamEvent {
	return streamEvent{Event: event, Payload: json.RawMessage(payload)}
}

func toolEvents(block int, id, name, args string, fragLen int) []streamEvent {
	out := []streamEvent{ev("contentBlockStart", fmt.Sprintf(
		`{"contentBlockIndex":%d,"start":{"toolUse":{"toolUseId":%q,"name":%q}}}`, block, id, name))}
	runes := []rune(args) // fragments are JSON strings: split on characters
	for i := 0; i < len(runes); i += fragLen {
		frag := string(runes[i:min(i+fragLen, len(runes))])
		b, _ := json.Marshal(frag)
		out = append(out, ev("contentBlockDelta", fmt.Sprintf(`{"contentBlockIndex":%d,"delta":{"toolUse":{"input":%s}}}`, block, b)))
	}
	return append(out, ev("contentBlockStop", fmt.Sprintf(`{"contentBlockIndex":%d}`, block)))
}

func TestStreamToolArgumentsReassemble(t *testing.T) {
	args1 := `{"query":"weather in \"São Paulo\"","days":[1,2,3],"nested":{"unit":"celsius","precise":true}}`
	args2 := `{"city":"Zürich"}`
	tests := []struct {
		name    string
		fragLen int
	}{
		{name: "one byte fragments", fragLen: 1},
		{name: "three byte fragments", fragLen: 3},
		{name: "whole", fragLen: 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := []streamEvent{ev("messageStart", `{"role":"assistant"}`)}
			events = append(events, toolEvents(0, "tooluse_a", "search", args1, tc.fragLen)...)
			events = append(events, toolEvents(1, "tooluse_b", "get_weather", args2, tc.fragLen)...)
			events = append(events, ev("messageStop", `{"stopReason":"tool_use"}`),
				ev("metadata", `{"usage":{"inputTokens":5,"outputTokens":7,"totalTokens":12}}`))
			c, u, err := runStream(t, events)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.calls) != 2 {
				t.Fatalf("got %d tool calls, want 2", len(c.calls))
			}
			for idx, want := range map[int]string{0: args1, 1: args2} {
				got := c.calls[idx].Function.Arguments
				if !json.Valid([]byte(got)) || got != want {
					t.Errorf("call %d arguments = %q, want %q", idx, got, want)
				}
			}
			if c.calls[1].ID != "tooluse_b" || c.calls[1].Function.Name != "get_weather" {
				t.Errorf("second call = %+v", c.calls[1])
			}
			if c.finish != schema.FinishToolCalls {
				t.Errorf("finish = %q, want tool_calls", c.finish)
			}
			last := c.chunks[len(c.chunks)-1]
			if len(last.Choices) != 0 || last.Usage == nil || last.Usage.TotalTokens != 12 || u.TotalTokens != 12 {
				t.Errorf("last chunk = %+v, usage %+v; want usage-only chunk with 12 tokens", last, u)
			}
		})
	}
}

func TestStreamErrors(t *testing.T) {
	start := ev("messageStart", `{"role":"assistant"}`)
	delta := ev("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"Hel"}}`)
	tests := []struct {
		name       string
		events     []streamEvent
		wantStatus int
		wantText   string
		wantMsg    string
	}{
		{name: "throttling mid-stream", events: []streamEvent{start, delta,
			{Exception: "throttlingException", Payload: json.RawMessage(`{"message":"Too many requests, please wait before trying again."}`)}},
			wantStatus: http.StatusTooManyRequests, wantText: "Hel", wantMsg: "Too many requests, please wait before trying again."},
		{name: "model stream error", events: []streamEvent{start,
			{Exception: "modelStreamErrorException", Payload: json.RawMessage(`{"message":"Model stream error","originalStatusCode":500}`)}},
			wantStatus: http.StatusBadGateway, wantMsg: "Model stream error"},
		{name: "validation", events: []streamEvent{
			{Exception: "validationException", Payload: json.RawMessage(`{"message":"bad input"}`)}},
			wantStatus: http.StatusBadRequest, wantMsg: "bad input"},
		{name: "ends without messageStop", events: []streamEvent{start, delta},
			wantStatus: http.StatusBadGateway, wantText: "Hel", wantMsg: "bedrock stream ended before messageStop"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := runStream(t, tc.events)
			var se *schema.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *schema.Error", err)
			}
			if se.Status != tc.wantStatus || se.Message != tc.wantMsg {
				t.Errorf("error = %d %q, want %d %q", se.Status, se.Message, tc.wantStatus, tc.wantMsg)
			}
			if c.text != tc.wantText {
				t.Errorf("text before error = %q, want %q", c.text, tc.wantText)
			}
		})
	}
}

func TestStreamTruncatedFrame(t *testing.T) {
	tr := newTestTranslator(t)
	frames := encodeEvents(t, []streamEvent{ev("messageStart", `{"role":"assistant"}`)})
	_, err := tr.Stream(bytes.NewReader(frames[:len(frames)-3]), func([]byte) error { return nil })
	var se *schema.Error
	if !errors.As(err, &se) || se.Status != http.StatusBadGateway {
		t.Fatalf("err = %v, want 502 *schema.Error", err)
	}
}

func TestMapStopReason(t *testing.T) {
	tests := []struct {
		name   string
		reason string
		tools  bool
		want   string
	}{
		{name: "end_turn", reason: "end_turn", want: schema.FinishStop},
		{name: "stop_sequence", reason: "stop_sequence", want: schema.FinishStop},
		{name: "max_tokens", reason: "max_tokens", want: schema.FinishLength},
		{name: "context window", reason: "model_context_window_exceeded", want: schema.FinishLength},
		{name: "tool_use", reason: "tool_use", want: schema.FinishToolCalls},
		{name: "guardrail", reason: "guardrail_intervened", want: schema.FinishContentFilter},
		{name: "content_filtered", reason: "content_filtered", want: schema.FinishContentFilter},
		{name: "end_turn with tool calls", reason: "end_turn", tools: true, want: schema.FinishToolCalls},
		{name: "unknown", reason: "something_new", want: schema.FinishStop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := mapStopReason(tc.reason, tc.tools); got != tc.want {
				t.Errorf("mapStopReason(%q, %v) = %q, want %q", tc.reason, tc.tools, got, tc.want)
			}
		})
	}
}

func TestConvertUsage(t *testing.T) {
	tests := []struct {
		name string
		in   tokenUsage
		want schema.Usage
	}{
		{name: "plain", in: tokenUsage{InputTokens: 10, OutputTokens: 5, TotalTokens: 15},
			want: schema.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}},
		{name: "cache read and write", in: tokenUsage{InputTokens: 10, OutputTokens: 5, TotalTokens: 315, CacheReadInputTokens: 200, CacheWriteInputTokens: 100},
			want: schema.Usage{PromptTokens: 310, CompletionTokens: 5, TotalTokens: 315,
				PromptTokensDetails: &schema.PromptTokensDetails{CachedTokens: 200, CacheWriteTokens: 100}}},
		{name: "total without cache", in: tokenUsage{InputTokens: 3, OutputTokens: 4, TotalTokens: 7, CacheWriteInputTokens: 50},
			want: schema.Usage{PromptTokens: 53, CompletionTokens: 4, TotalTokens: 57,
				PromptTokensDetails: &schema.PromptTokensDetails{CacheWriteTokens: 50}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := json.Marshal(convertUsage(tc.in))
			want, _ := json.Marshal(tc.want)
			if !bytes.Equal(got, want) {
				t.Errorf("convertUsage = %s, want %s", got, want)
			}
		})
	}
}

func TestStreamToolWithoutArguments(t *testing.T) {
	tests := []struct {
		name   string
		events []streamEvent
	}{
		{name: "no fragment", events: []streamEvent{
			ev("contentBlockStart", `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"tooluse_a","name":"now"}}}`),
			ev("contentBlockStop", `{"contentBlockIndex":0}`)}},
		{name: "empty fragment", events: []streamEvent{
			ev("contentBlockStart", `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"tooluse_a","name":"now"}}}`),
			ev("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"toolUse":{"input":""}}}`),
			ev("contentBlockStop", `{"contentBlockIndex":0}`)}},
		{name: "no block stop", events: []streamEvent{
			ev("contentBlockStart", `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"tooluse_a","name":"now"}}}`)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := append([]streamEvent{ev("messageStart", `{"role":"assistant"}`)}, tc.events...)
			events = append(events, toolEvents(1, "tooluse_b", "get_weather", `{"city":"Oslo"}`, 4)...)
			events = append(events, ev("messageStop", `{"stopReason":"tool_use"}`),
				ev("metadata", `{"usage":{"inputTokens":5,"outputTokens":7,"totalTokens":12}}`))
			c, _, err := runStream(t, events)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.calls) != 2 {
				t.Fatalf("got %d tool calls, want 2", len(c.calls))
			}
			if got := c.calls[0].Function.Arguments; got != "{}" {
				t.Errorf("call 0 arguments = %q, want {}", got)
			}
			if got := c.calls[1].Function.Arguments; got != `{"city":"Oslo"}` {
				t.Errorf("call 1 arguments = %q", got)
			}
			if c.finish != schema.FinishToolCalls {
				t.Errorf("finish = %q", c.finish)
			}
		})
	}
}

func TestStreamRepeatedBlockStartKeepsIndex(t *testing.T) {
	start := ev("contentBlockStart", `{"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"tooluse_a","name":"search"}}}`)
	events := []streamEvent{ev("messageStart", `{"role":"assistant"}`), start, start,
		ev("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"toolUse":{"input":"{\"q\":1}"}}}`),
		ev("contentBlockStop", `{"contentBlockIndex":0}`),
		ev("messageStop", `{"stopReason":"tool_use"}`), ev("metadata", `{"usage":{"inputTokens":1,"outputTokens":1}}`)}
	c, _, err := runStream(t, events)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.calls) != 1 || c.calls[0].Function.Arguments != `{"q":1}` {
		t.Fatalf("calls = %+v, want one call with {\"q\":1}", c.calls)
	}
}

// endlessReader yields zeros forever and fails the test past limit bytes.
type endlessReader struct {
	t     *testing.T
	n     int
	limit int
}

func (r *endlessReader) Read(p []byte) (int, error) {
	if r.n > r.limit {
		r.t.Errorf("the decoder read %d bytes of one frame, more than %d", r.n, r.limit)
		return 0, errors.New("test: read too much")
	}
	for i := range p {
		p[i] = 0
	}
	r.n += len(p)
	return len(p), nil
}

func TestStreamOversizedFrame(t *testing.T) {
	// A prelude with a valid CRC announcing a 4 GiB message (and one whose
	// headers length exceeds its total length, which wraps the SDK's payload
	// length around) must be refused before its body is buffered.
	for _, pre := range [][2]uint32{{0xFFFFFFF0, 0}, {32, 0xFFFF0000}} {
		t.Run(fmt.Sprintf("%d/%d", pre[0], pre[1]), func(t *testing.T) {
			var prelude [12]byte
			binary.BigEndian.PutUint32(prelude[0:4], pre[0])
			binary.BigEndian.PutUint32(prelude[4:8], pre[1])
			binary.BigEndian.PutUint32(prelude[8:12], crc32.ChecksumIEEE(prelude[:8]))
			src := io.MultiReader(bytes.NewReader(prelude[:]), &endlessReader{t: t, limit: 64 << 20})
			_, err := newTestTranslator(t).Stream(src, func([]byte) error { return nil })
			var se *schema.Error
			if !errors.As(err, &se) || se.Status != http.StatusBadGateway {
				t.Fatalf("err = %v, want 502 *schema.Error", err)
			}
		})
	}
}
