package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// collect runs an Anthropic translator's Stream over sse and returns the chunks.
func collect(t *testing.T, sse string) ([][]byte, schema.Usage, error) {
	t.Helper()
	var chunks [][]byte
	u, err := newTestTranslator(t, false).Stream(strings.NewReader(sse), func(c []byte) error {
		chunks = append(chunks, append([]byte(nil), c...))
		return nil
	})
	return chunks, u, err
}

func event(name string, data string) string {
	return "event: " + name + "\ndata: " + data + "\n\n"
}

// reassemble accumulates tool call deltas by index, as an OpenAI client does.
func reassemble(t *testing.T, chunks [][]byte) (calls map[int]*schema.ToolCall, finish string, content string) {
	t.Helper()
	calls = map[int]*schema.ToolCall{}
	for _, b := range chunks {
		var c schema.ChatChunk
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("chunk %s: %v", b, err)
		}
		for _, ch := range c.Choices {
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
			if ch.Delta.Content != nil {
				content += *ch.Delta.Content
			}
			for _, tc := range ch.Delta.ToolCalls {
				if tc.Index == nil {
					t.Fatalf("tool call delta without index: %s", b)
				}
				cur, ok := calls[*tc.Index]
				if !ok {
					if tc.ID == "" || tc.Type != "function" || tc.Function.Name == "" {
						t.Fatalf("first delta of call %d lacks id/type/name: %s", *tc.Index, b)
					}
					cur = &schema.ToolCall{ID: tc.ID, Type: tc.Type, Function: schema.FunctionCall{Name: tc.Function.Name}}
					calls[*tc.Index] = cur
				}
				cur.Function.Arguments += tc.Function.Arguments
			}
		}
	}
	return calls, finish, content
}

func TestStreamToolArgumentsReassemble(t *testing.T) {
	args := `{"query": "weather in São Paulo", "days": [1, 2, 3], "opts": {"unit": "celsius", "nested": {"x": null}}}`
	for _, size := range []int{1, 3, 7} {
		t.Run(fmt.Sprintf("fragments of %d", size), func(t *testing.T) {
			var sb strings.Builder
			sb.WriteString(event("message_start", `{"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":5,"output_tokens":1}}}`))
			sb.WriteString(event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"search","input":{}}}`))
			runes := []rune(args)
			for i := 0; i < len(runes); i += size {
				frag, _ := json.Marshal(string(runes[i:min(i+size, len(runes))]))
				sb.WriteString(event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":`+string(frag)+`}}`))
			}
			sb.WriteString(event("content_block_stop", `{"type":"content_block_stop","index":0}`))
			sb.WriteString(event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":40}}`))
			sb.WriteString(event("message_stop", `{"type":"message_stop"}`))
			chunks, u, err := collect(t, sb.String())
			if err != nil {
				t.Fatal(err)
			}
			calls, finish, _ := reassemble(t, chunks)
			if len(calls) != 1 || finish != "tool_calls" {
				t.Fatalf("calls %d finish %q", len(calls), finish)
			}
			got := calls[0].Function.Arguments
			if !json.Valid([]byte(got)) || got != args {
				t.Errorf("arguments = %q, want %q", got, args)
			}
			if u.PromptTokens != 5 || u.CompletionTokens != 40 {
				t.Errorf("usage = %+v", u)
			}
		})
	}
}

func TestStreamParallelToolCalls(t *testing.T) {
	chunks, _, err := collect(t, string(testutil.ReadFile(t, "testdata/tools_stream.response.sse")))
	if err != nil {
		t.Fatal(err)
	}
	calls, finish, content := reassemble(t, chunks)
	if finish != "tool_calls" || content != "Checking both cities." {
		t.Errorf("finish %q content %q", finish, content)
	}
	want := map[int][2]string{0: {"toolu_01T1x1fJ34qAmk2tNTrN7Up6", `{"city": "Tokyo"}`}, 1: {"toolu_01V2x2gK45rBnl3uOUsO8Vq7", `{"city": "Berlin"}`}}
	if len(calls) != len(want) {
		t.Fatalf("got %d calls, want %d", len(calls), len(want))
	}
	for i, w := range want {
		if calls[i].ID != w[0] || calls[i].Function.Arguments != w[1] {
			t.Errorf("call %d = %+v, want %v", i, calls[i], w)
		}
	}
	// the usage-only chunk is last
	var last schema.ChatChunk
	_ = json.Unmarshal(chunks[len(chunks)-1], &last)
	if len(last.Choices) != 0 || last.Usage == nil || last.Usage.TotalTokens != 561 {
		t.Errorf("last chunk = %s", chunks[len(chunks)-1])
	}
}

func TestStreamErrors(t *testing.T) {
	start := event("message_start", `{"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":5,"output_tokens":1}}}`) +
		event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) +
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}`)
	tests := []struct {
		name   string
		sse    string
		status int
		typ    string
		chunks int
	}{
		{name: "overloaded mid-stream", sse: start + event("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`),
			status: 503, typ: schema.ErrUnavailable, chunks: 2},
		{name: "api error mid-stream", sse: start + event("error", `{"type":"error","error":{"type":"api_error","message":"Internal"}}`),
			status: 500, typ: schema.ErrServer, chunks: 2},
		{name: "truncated stream", sse: start, status: 502, typ: schema.ErrServer, chunks: 2},
		{name: "garbage event", sse: start + "event: content_block_delta\ndata: {not json\n\n", status: 502, typ: schema.ErrServer, chunks: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chunks, u, err := collect(t, tc.sse)
			var se *schema.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *schema.Error", err)
			}
			if se.Status != tc.status || se.Type != tc.typ {
				t.Errorf("got %d %s, want %d %s", se.Status, se.Type, tc.status, tc.typ)
			}
			if len(chunks) != tc.chunks {
				t.Errorf("emitted %d chunks before the error, want %d", len(chunks), tc.chunks)
			}
			if u.PromptTokens != 5 {
				t.Errorf("usage so far = %+v", u)
			}
		})
	}
}

func TestStreamEndsWithoutMessageStop(t *testing.T) {
	sse := event("message_start", `{"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":2}}}`) +
		event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}`)
	chunks, u, err := collect(t, sse)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 3 || u.TotalTokens != 5 {
		t.Errorf("chunks %d usage %+v", len(chunks), u)
	}
}

func TestStreamThinkingIgnored(t *testing.T) {
	sse := event("message_start", `{"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":2}}}`) +
		event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}`) +
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"secret plan"}}`) +
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}`) +
		event("content_block_stop", `{"type":"content_block_stop","index":0}`) +
		event("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}`) +
		event("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Answer"}}`) +
		event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}`) +
		event("message_stop", `{"type":"message_stop"}`)
	chunks, _, err := collect(t, sse)
	if err != nil {
		t.Fatal(err)
	}
	_, finish, content := reassemble(t, chunks)
	if content != "Answer" || finish != "stop" {
		t.Errorf("content %q finish %q", content, finish)
	}
}

func TestStreamJSONMode(t *testing.T) {
	tr := newTestTranslator(t, false)
	if _, err := tr.Request([]byte(`{"model":"m","stream":true,"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}`), nil); err != nil {
		t.Fatal(err)
	}
	sse := event("message_start", `{"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":2}}}`) +
		event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"json_response","input":{}}}`) +
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}`) +
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":" 1}"}}`) +
		event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":3}}`) +
		event("message_stop", `{"type":"message_stop"}`)
	var chunks [][]byte
	if _, err := tr.Stream(strings.NewReader(sse), func(c []byte) error { chunks = append(chunks, c); return nil }); err != nil {
		t.Fatal(err)
	}
	calls, finish, content := reassemble(t, chunks)
	if len(calls) != 0 || content != `{"a": 1}` || finish != "stop" {
		t.Errorf("calls %d content %q finish %q", len(calls), content, finish)
	}
}

func TestStreamEmitError(t *testing.T) {
	sse := string(testutil.ReadFile(t, "testdata/chat_stream.response.sse"))
	boom := errors.New("client gone")
	n := 0
	_, err := newTestTranslator(t, false).Stream(strings.NewReader(sse), func([]byte) error {
		n++
		if n == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || n != 2 {
		t.Errorf("err = %v after %d emits, want the emit error after 2", err, n)
	}
}

func TestStreamToolWithoutInput(t *testing.T) {
	start := event("message_start", `{"type":"message_start","message":{"id":"msg_1","model":"m","usage":{"input_tokens":5,"output_tokens":1}}}`)
	block0 := event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_a","name":"now","input":{}}}`)
	block1 := event("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_b","name":"search","input":{}}}`) +
		event("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"q\":1}"}}`) +
		event("content_block_stop", `{"type":"content_block_stop","index":1}`)
	end := event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":40}}`) +
		event("message_stop", `{"type":"message_stop"}`)
	tests := []struct {
		name string
		sse  string
	}{
		{name: "empty fragment", sse: start + block0 +
			event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}`) +
			event("content_block_stop", `{"type":"content_block_stop","index":0}`) + block1 + end},
		{name: "no fragment", sse: start + block0 + event("content_block_stop", `{"type":"content_block_stop","index":0}`) + block1 + end},
		{name: "no block stop", sse: start + block0 + block1 + end},
		{name: "repeated block start", sse: start + block0 + block0 + event("content_block_stop", `{"type":"content_block_stop","index":0}`) + block1 + end},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			chunks, _, err := collect(t, tc.sse)
			if err != nil {
				t.Fatal(err)
			}
			calls, finish, _ := reassemble(t, chunks)
			if len(calls) != 2 || calls[0].Function.Arguments != "{}" || calls[1].Function.Arguments != `{"q":1}` {
				for i, c := range calls {
					t.Logf("call %d: %+v", i, *c)
				}
				t.Fatalf("got %d calls, want 2 with arguments {} and {\"q\":1}", len(calls))
			}
			if finish != schema.FinishToolCalls {
				t.Errorf("finish = %q", finish)
			}
		})
	}
}
