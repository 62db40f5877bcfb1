package vertexfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// AnthropicVersion is the anthropic_version Claude on Vertex requires in the body.
const AnthropicVersion = "vertex-2023-10-16"

// aRequest is the part of an Anthropic Messages request the fake checks.
type aRequest struct {
	AnthropicVersion string     `json:"anthropic_version"`
	Model            *string    `json:"model"`
	MaxTokens        int        `json:"max_tokens"`
	Stream           bool       `json:"stream"`
	Messages         []aMessage `json:"messages"`
	Tools            []struct {
		Name        string         `json:"name"`
		InputSchema map[string]any `json:"input_schema"`
	} `json:"tools"`
}

type aMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type aBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

func anthropicError(w http.ResponseWriter, code int, typ, msg string) {
	writeJSON(w, code, map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
}

// serveAnthropic answers Claude on Vertex: :rawPredict (Messages JSON) and
// :streamRawPredict (Messages SSE).
func (s *Server) serveAnthropic(w http.ResponseWriter, model, method string, body []byte) {
	if method != "rawPredict" && method != "streamRawPredict" {
		googleError(w, 404, "NOT_FOUND", fmt.Sprintf("method %q not found", method))
		return
	}
	var req aRequest
	if err := json.Unmarshal(body, &req); err != nil {
		anthropicError(w, 400, "invalid_request_error", "invalid JSON body")
		return
	}
	if msg := checkAnthropic(&req, method == "streamRawPredict"); msg != "" {
		anthropicError(w, 400, "invalid_request_error", msg)
		return
	}
	last := req.Messages[len(req.Messages)-1]
	text, toolResult := lastUserAnthropic(last)
	if magicIn(text) == MagicRateLimit {
		anthropicError(w, 429, "rate_limit_error", "Number of requests has exceeded your rate limit.")
		return
	}
	id := fmt.Sprintf("msg_vrtx_%d", s.nextID())
	var block map[string]any
	stop := "end_turn"
	switch {
	case toolResult != "":
		block = map[string]any{"type": "text", "text": "The tool returned " + toolResult + "."}
	case text != "" && len(req.Tools) > 0:
		args := sampleJSONArgs(req.Tools[0].InputSchema)
		block = map[string]any{"type": "tool_use", "id": "toolu_vrtx_" + id[len("msg_vrtx_"):], "name": req.Tools[0].Name, "input": args}
		stop = "tool_use"
	default:
		block = map[string]any{"type": "text", "text": "You said: " + text}
	}
	inTok, outTok := countWords(string(body))/4+1, 5
	if !req.Stream {
		writeJSON(w, 200, map[string]any{"id": id, "type": "message", "role": "assistant", "model": model,
			"content": []any{block}, "stop_reason": stop, "stop_sequence": nil,
			"usage": map[string]any{"input_tokens": inTok, "output_tokens": outTok}})
		return
	}
	sw := startSSE(w)
	sw.event("message_start", map[string]any{"type": "message_start", "message": map[string]any{"id": id, "type": "message",
		"role": "assistant", "model": model, "content": []any{}, "stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": inTok, "output_tokens": 1}}})
	start := map[string]any{"type": block["type"]}
	var deltas []map[string]any
	if block["type"] == "tool_use" {
		start["id"], start["name"], start["input"] = block["id"], block["name"], map[string]any{}
		args, _ := json.Marshal(block["input"])
		for i := 0; i < len(args); i += 8 {
			deltas = append(deltas, map[string]any{"type": "input_json_delta", "partial_json": string(args[i:min(i+8, len(args))])})
		}
	} else {
		start["text"] = ""
		for _, wd := range splitWords(block["text"].(string)) {
			deltas = append(deltas, map[string]any{"type": "text_delta", "text": wd})
		}
	}
	sw.event("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": start})
	for i, d := range deltas {
		if magicIn(text) == MagicError && i == 1 {
			sw.event("error", map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": "Overloaded"}})
			return
		}
		sw.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": d})
	}
	sw.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
	sw.event("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": outTok}})
	sw.event("message_stop", map[string]any{"type": "message_stop"})
}

// checkAnthropic returns the 400 message for an invalid Claude-on-Vertex request ("" when valid).
func checkAnthropic(req *aRequest, stream bool) string {
	switch {
	case req.AnthropicVersion != AnthropicVersion:
		return fmt.Sprintf("anthropic_version: must be %q", AnthropicVersion)
	case req.Model != nil:
		return "model: Extra inputs are not permitted (the model is in the URL on Vertex)"
	case req.MaxTokens <= 0:
		return "max_tokens: Field required"
	case len(req.Messages) == 0:
		return "messages: at least one message is required"
	case stream != req.Stream:
		return "stream must be true for streamRawPredict and false for rawPredict"
	}
	for i, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		}
		if len(m.Content) == 0 {
			return fmt.Sprintf("messages.%d.content: Field required", i)
		}
	}
	if req.Messages[0].Role != "user" {
		return "messages: first message must use the \"user\" role"
	}
	return ""
}

// lastUserAnthropic returns the text of a user message and, if it holds a
// tool_result, that result's content as compact JSON.
func lastUserAnthropic(m aMessage) (text, toolResult string) {
	if m.Role != "user" {
		return "", ""
	}
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s, ""
	}
	var blocks []aBlock
	_ = json.Unmarshal(m.Content, &blocks)
	for _, b := range blocks {
		switch b.Type {
		case "text":
			text = strings.TrimSpace(text + " " + b.Text)
		case "tool_result":
			toolResult = string(b.Content)
		}
	}
	return text, toolResult
}

// sampleJSONArgs fills a JSON Schema's required properties with sample values.
func sampleJSONArgs(schema map[string]any) map[string]any {
	args := map[string]any{}
	props, _ := schema["properties"].(map[string]any)
	req, _ := schema["required"].([]any)
	for _, r := range req {
		name, _ := r.(string)
		p, _ := props[name].(map[string]any)
		typ, _ := p["type"].(string)
		args[name] = sampleValue(&gSchema{Type: strings.ToUpper(typ)})
	}
	return args
}
