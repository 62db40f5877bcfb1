package anthropicfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Deterministic ids of the fake's messages and tool calls.
const (
	MessageID = "msg_fake_01"
	ToolUseID = "toolu_fake_01"
)

// reply is what the fake model answers.
type reply struct {
	text      string
	toolName  string
	toolInput []byte
	stop      string
	inTokens  int
	outTokens int
}

// answer decides the deterministic reply to a valid request.
func answer(req *request) reply {
	r := reply{inTokens: promptTokens(req)}
	last := req.Messages[len(req.Messages)-1]
	if t := pickTool(req, last); t != nil {
		r.toolName, r.toolInput = t.Name, inputFor(t.InputSchema)
		if req.ToolChoice == nil || req.ToolChoice.Type == "auto" {
			r.text = "I will call " + t.Name + "."
		}
		r.stop = "tool_use"
		r.outTokens = len(strings.Fields(r.text)) + len(r.toolInput)/4 + 1
		return r
	}
	r.text, r.stop = "You said: "+lastText(last), "end_turn"
	if res := toolResult(last); res != "" {
		r.text = "The tool returned: " + res
	}
	words := strings.Fields(r.text)
	if len(words) > *req.MaxTokens {
		words, r.stop = words[:*req.MaxTokens], "max_tokens"
		r.text = strings.Join(words, " ")
	}
	r.outTokens = len(words)
	return r
}

// pickTool returns the tool to call, or nil for a text answer.
func pickTool(req *request, last message) *tool {
	if len(req.Tools) == 0 || last.Role != "user" || (req.ToolChoice != nil && req.ToolChoice.Type == "none") {
		return nil
	}
	for _, b := range last.blocks {
		if b.Type == "tool_result" {
			return nil
		}
	}
	if req.ToolChoice != nil && req.ToolChoice.Type == "tool" {
		for i := range req.Tools {
			if req.Tools[i].Name == req.ToolChoice.Name {
				return &req.Tools[i]
			}
		}
	}
	return &req.Tools[0]
}

// inputFor builds a tool input from the schema's properties: strings "test",
// integers 1, numbers 1.5, booleans true, arrays [], objects {}.
func inputFor(schema json.RawMessage) []byte {
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(schema, &s)
	in := map[string]any{}
	for name, p := range s.Properties {
		typ, _ := p.Type.(string)
		switch typ {
		case "string":
			in[name] = "test"
		case "integer":
			in[name] = 1
		case "number":
			in[name] = 1.5
		case "boolean":
			in[name] = true
		case "array":
			in[name] = []any{}
		case "object":
			in[name] = map[string]any{}
		default:
			in[name] = nil
		}
	}
	b, _ := json.Marshal(in)
	return b
}

func lastText(m message) string {
	var parts []string
	for _, b := range m.blocks {
		if b.Type == "text" && b.Text != nil {
			parts = append(parts, *b.Text)
		}
	}
	return strings.Join(parts, " ")
}

// toolResult returns the text of the message's tool results ("" if none).
func toolResult(m message) string {
	var parts []string
	for _, b := range m.blocks {
		if b.Type != "tool_result" {
			continue
		}
		var s string
		if json.Unmarshal(b.Content, &s) == nil {
			parts = append(parts, s)
			continue
		}
		var blocks []block
		_ = json.Unmarshal(b.Content, &blocks)
		for _, c := range blocks {
			if c.Text != nil {
				parts = append(parts, *c.Text)
			}
		}
		if len(parts) == 0 {
			parts = append(parts, "(empty)")
		}
	}
	return strings.Join(parts, " ")
}

// promptTokens is a deterministic stand-in for the prompt's token count.
func promptTokens(req *request) int {
	n := len(req.System) / 4
	for _, m := range req.Messages {
		n += len(m.Content)/4 + 3
	}
	for _, t := range req.Tools {
		n += (len(t.Name)+len(t.Description)+len(t.InputSchema))/4 + 10
	}
	return n
}

// message is the non-streamed Messages API response.
func (r reply) message(req *request) map[string]any {
	var content []map[string]any
	if r.text != "" {
		content = append(content, map[string]any{"type": "text", "text": r.text})
	}
	if r.toolName != "" {
		content = append(content, map[string]any{"type": "tool_use", "id": ToolUseID, "name": r.toolName,
			"input": json.RawMessage(r.toolInput)})
	}
	return map[string]any{
		"id": MessageID, "type": "message", "role": "assistant", "model": req.Model,
		"content": content, "stop_reason": r.stop, "stop_sequence": nil,
		"usage": map[string]int{"input_tokens": r.inTokens, "output_tokens": r.outTokens,
			"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
	}
}

// writeStream writes the reply as Anthropic SSE events: text in word deltas,
// tool input in several input_json_delta fragments, and, when streamErr is
// set, an error event after the first content delta.
func writeStream(w http.ResponseWriter, req *request, r reply, streamErr *Failure) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	deltas := 0
	send := func(name string, v any) bool {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b)
		if flusher != nil {
			flusher.Flush()
		}
		if name == "content_block_delta" {
			deltas++
			if deltas == 1 && streamErr != nil {
				errEv := map[string]any{"type": "error", "error": map[string]string{"type": streamErr.Type, "message": streamErr.Message}}
				eb, _ := json.Marshal(errEv)
				fmt.Fprintf(w, "event: error\ndata: %s\n\n", eb)
				if flusher != nil {
					flusher.Flush()
				}
				return false
			}
		}
		return true
	}
	if !send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": MessageID, "type": "message", "role": "assistant", "model": req.Model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]int{"input_tokens": r.inTokens, "output_tokens": 1,
			"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}}) {
		return
	}
	send("ping", map[string]string{"type": "ping"})
	index := 0
	if r.text != "" {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]string{"type": "text", "text": ""}})
		words := strings.SplitAfter(r.text, " ")
		for _, wd := range words {
			if !send("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]string{"type": "text_delta", "text": wd}}) {
				return
			}
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
		index++
	}
	if r.toolName != "" {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "tool_use", "id": ToolUseID, "name": r.toolName, "input": map[string]any{}}})
		for _, frag := range fragments(r.toolInput, 5) {
			if !send("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]string{"type": "input_json_delta", "partial_json": frag}}) {
				return
			}
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
	}
	send("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": r.stop, "stop_sequence": nil},
		"usage": map[string]int{"output_tokens": r.outTokens}})
	send("message_stop", map[string]string{"type": "message_stop"})
}

// fragments splits b into pieces of at most n bytes, led by an empty one as
// Anthropic sends.
func fragments(b []byte, n int) []string {
	out := []string{""}
	b = bytes.Clone(b)
	for len(b) > 0 {
		k := min(n, len(b))
		for k < len(b) && !utf8.RuneStart(b[k]) {
			k++
		}
		out = append(out, string(b[:k]))
		b = b[k:]
	}
	return out
}
