package bedrockfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// reply is the fake model's deterministic answer to one Converse request.
type reply struct {
	words      []string // text pieces, each with its leading space
	toolID     string
	toolName   string
	toolInput  string
	stopReason string
	inTokens   int
	outTokens  int
}

func (r reply) usage() map[string]int {
	return map[string]int{"inputTokens": r.inTokens, "outputTokens": r.outTokens, "totalTokens": r.inTokens + r.outTokens}
}

func splitWords(s string) []string {
	var out []string
	for i, w := range strings.Fields(s) {
		if i > 0 {
			w = " " + w
		}
		out = append(out, w)
	}
	return out
}

func countWords(req *converseRequest) int {
	n := 0
	for _, s := range req.System {
		if s.Text != nil {
			n += len(strings.Fields(*s.Text))
		}
	}
	for _, m := range req.Messages {
		for _, c := range m.Content {
			switch {
			case c.Text != nil:
				n += len(strings.Fields(*c.Text))
			case c.ToolUse != nil:
				n += 8
			case c.ToolResult != nil:
				n += 8
			case c.Image != nil:
				n += 100
			}
		}
	}
	return n + 3
}

func (s *Server) reply(req *converseRequest) reply {
	r := reply{inTokens: countWords(req), stopReason: "end_turn"}
	last := req.Messages[len(req.Messages)-1]
	var toolResult *toolResultBlock
	for _, c := range last.Content {
		if c.ToolResult != nil {
			toolResult = c.ToolResult
		}
	}
	if tc := req.ToolConfig; tc != nil && toolResult == nil && last.Role == "user" {
		spec := tc.Tools[0].ToolSpec
		if tc.ToolChoice != nil && tc.ToolChoice.Tool != nil {
			for _, t := range tc.Tools {
				if t.ToolSpec != nil && t.ToolSpec.Name == tc.ToolChoice.Tool.Name {
					spec = t.ToolSpec
				}
			}
		}
		if spec != nil {
			r.toolID = fmt.Sprintf("tooluse_fake%04d", len(req.Messages))
			r.toolName = spec.Name
			r.toolInput = exampleInput(spec.InputSchema.JSON)
			r.stopReason = "tool_use"
			r.outTokens = 12
			return r
		}
	}
	text := s.opts.Text
	if toolResult != nil {
		text = "The tool returned: " + toolResultText(toolResult)
	}
	if ic := req.InferenceConfig; ic != nil {
		for _, stop := range ic.StopSequences {
			if i := strings.Index(text, stop); stop != "" && i >= 0 {
				text, r.stopReason = text[:i], "stop_sequence"
			}
		}
	}
	r.words = splitWords(text)
	if ic := req.InferenceConfig; ic != nil && ic.MaxTokens != nil && len(r.words) > *ic.MaxTokens {
		r.words, r.stopReason = r.words[:*ic.MaxTokens], "max_tokens"
	}
	r.outTokens = len(r.words)
	return r
}

func toolResultText(tr *toolResultBlock) string {
	var parts []string
	for _, c := range tr.Content {
		switch {
		case c.Text != nil:
			parts = append(parts, *c.Text)
		case c.JSON != nil:
			parts = append(parts, string(c.JSON))
		}
	}
	return strings.Join(parts, " ")
}

// exampleInput builds a deterministic tool input from a JSON Schema object.
func exampleInput(schema json.RawMessage) string {
	var sc struct {
		Properties map[string]struct {
			Type string            `json:"type"`
			Enum []json.RawMessage `json:"enum"`
		} `json:"properties"`
	}
	_ = json.Unmarshal(schema, &sc)
	in := map[string]any{}
	for name, p := range sc.Properties {
		switch {
		case len(p.Enum) > 0:
			in[name] = p.Enum[0]
		case p.Type == "string":
			in[name] = "Paris"
		case p.Type == "integer":
			in[name] = 3
		case p.Type == "number":
			in[name] = 1.5
		case p.Type == "boolean":
			in[name] = true
		case p.Type == "array":
			in[name] = []any{}
		default:
			in[name] = map[string]any{}
		}
	}
	b, _ := json.Marshal(in)
	return string(b)
}

// streamWriter writes event-stream frames and flushes each one.
type streamWriter struct {
	w   http.ResponseWriter
	enc *eventstream.Encoder
}

func (sw *streamWriter) event(eventType string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	msg := eventstream.Message{Payload: b}
	msg.Headers.Set(":event-type", eventstream.StringValue(eventType))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	return sw.write(msg)
}

func (sw *streamWriter) exception(excType, message string) error {
	b, _ := json.Marshal(map[string]string{"message": message})
	msg := eventstream.Message{Payload: b}
	msg.Headers.Set(":exception-type", eventstream.StringValue(excType))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
	return sw.write(msg)
}

func (sw *streamWriter) write(msg eventstream.Message) error {
	if err := sw.enc.Encode(sw.w, msg); err != nil {
		return err
	}
	if f, ok := sw.w.(http.Flusher); ok {
		f.Flush()
	}
	return nil
}

// fragments splits s into n nearly equal pieces (at least one byte each).
func fragments(s string, n int) []string {
	if n < 1 || len(s) <= n {
		n = max(1, len(s))
	}
	size := (len(s) + n - 1) / n
	var out []string
	for len(s) > 0 {
		k := min(size, len(s))
		out = append(out, s[:k])
		s = s[k:]
	}
	return out
}

func (s *Server) converseStream(w http.ResponseWriter, _ string, body []byte) {
	req, ok := s.decodeConverse(w, body)
	if !ok {
		return
	}
	exc := s.opts.StreamException
	if strings.Contains(req.lastUserText(), TriggerThrottle) {
		exc = "throttlingException"
	}
	rep := s.reply(req)
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("x-amzn-RequestId", "fake-request-id")
	w.WriteHeader(http.StatusOK)
	sw := &streamWriter{w: w, enc: eventstream.NewEncoder()}
	pad := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
	if err := sw.event("messageStart", map[string]any{"p": pad[:12], "role": "assistant"}); err != nil {
		return
	}
	var deltas []map[string]any
	if rep.toolName != "" {
		if err := sw.event("contentBlockStart", map[string]any{"contentBlockIndex": 0, "p": pad[:8],
			"start": map[string]any{"toolUse": map[string]string{"toolUseId": rep.toolID, "name": rep.toolName}}}); err != nil {
			return
		}
		for _, f := range fragments(rep.toolInput, 4) {
			deltas = append(deltas, map[string]any{"contentBlockIndex": 0, "delta": map[string]any{"toolUse": map[string]string{"input": f}}})
		}
	} else {
		for _, word := range rep.words {
			deltas = append(deltas, map[string]any{"contentBlockIndex": 0, "delta": map[string]string{"text": word}, "p": pad[:4]})
		}
	}
	for i, d := range deltas {
		if err := sw.event("contentBlockDelta", d); err != nil {
			return
		}
		if i == 0 && exc != "" {
			_ = sw.exception(exc, "Too many requests, please wait before trying again.")
			return
		}
	}
	if err := sw.event("contentBlockStop", map[string]any{"contentBlockIndex": 0}); err != nil {
		return
	}
	if err := sw.event("messageStop", map[string]any{"stopReason": rep.stopReason, "p": pad[:6]}); err != nil {
		return
	}
	_ = sw.event("metadata", map[string]any{"usage": rep.usage(), "metrics": map[string]int{"latencyMs": 42}, "p": pad})
}
