package sim

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"unicode/utf8"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// argPieces is how many chunks a streamed tool call's arguments are split into
// (fewer when the arguments are shorter).
const argPieces = 4

// toolToCall returns the tool the model calls, or nil: when the request has
// tools, tool_choice is not "none" and the last message is from the user, the
// function named by tool_choice if it is among the tools, else the first tool.
func toolToCall(req *schema.ChatRequest) *schema.Tool {
	if len(req.Tools) == 0 || len(req.Messages) == 0 || req.Messages[len(req.Messages)-1].Role != schema.RoleUser {
		return nil
	}
	if req.ToolChoice != nil && req.ToolChoice.Mode == schema.ToolChoiceNone {
		return nil
	}
	if req.ToolChoice != nil && req.ToolChoice.Function != "" {
		for i := range req.Tools {
			if req.Tools[i].Function.Name == req.ToolChoice.Function {
				return &req.Tools[i]
			}
		}
	}
	return &req.Tools[0]
}

// toolOutput is a deterministic call of t, with arguments split into pieces.
// Its completion tokens are those of the function name and arguments (an
// estimate of OpenAI's accounting).
func (a *Adapter) toolOutput(model string, t *schema.Tool, seed uint64) output {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], seed)
	args := minimalArgs(t.Function.Parameters)
	call := &schema.ToolCall{ID: "call_sim_" + hex.EncodeToString(b[:]), Type: "function",
		Function: schema.FunctionCall{Name: t.Function.Name, Arguments: args}}
	return output{pieces: splitN(args, argPieces), tool: call, finish: schema.FinishToolCalls,
		tokens: a.counter.Count(model, t.Function.Name) + a.counter.Count(model, args)}
}

// minimalArgs returns the smallest JSON object satisfying the required
// properties of a JSON Schema: "sim" for strings (or the first enum value),
// 0 for numbers, false, [] and {}; "{}" when there is no usable schema.
func minimalArgs(params json.RawMessage) string {
	var sch struct {
		Properties map[string]struct {
			Type any   `json:"type"`
			Enum []any `json:"enum"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if len(params) == 0 || json.Unmarshal(params, &sch) != nil || len(sch.Required) == 0 {
		return "{}"
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	seen := make(map[string]bool, len(sch.Required))
	for _, name := range sch.Required {
		if seen[name] {
			continue
		}
		seen[name] = true
		p := sch.Properties[name]
		var v any = "sim"
		switch {
		case len(p.Enum) > 0:
			v = p.Enum[0]
		default:
			switch typeOf(p.Type) {
			case "number", "integer":
				v = 0
			case "boolean":
				v = false
			case "array":
				v = []any{}
			case "object":
				v = map[string]any{}
			case "null":
				v = nil
			}
		}
		k, _ := json.Marshal(name)
		val, err := json.Marshal(v)
		if err != nil {
			val = []byte(`"sim"`)
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(val)
	}
	buf.WriteByte('}')
	return buf.String()
}

// typeOf returns a schema's type: the string, or the first non-null type of a list.
func typeOf(t any) string {
	switch v := t.(type) {
	case string:
		return v
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && s != "null" {
				return s
			}
		}
	}
	return "string"
}

// splitN cuts s into at most n pieces of about equal length, at rune boundaries.
func splitN(s string, n int) []string {
	if s == "" {
		return []string{""}
	}
	size := max(1, (len(s)+n-1)/n)
	out := make([]string, 0, n)
	for len(s) > 0 {
		i := min(size, len(s))
		for i < len(s) && !utf8.RuneStart(s[i]) {
			i++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}
