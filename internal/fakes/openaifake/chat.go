package openaifake

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
)

// chatRequest is the part of a chat request the fake checks.
type chatRequest struct {
	Model         *string   `json:"model"`
	Messages      []message `json:"messages"`
	Stream        *bool     `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools []struct {
		Type     string `json:"type"`
		Function struct {
			Name       string          `json:"name"`
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
}

type message struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []any           `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

// text returns the message's text (string content, or the text parts joined).
func (m message) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type, Text string
	}
	_ = json.Unmarshal(m.Content, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// validate checks the request as OpenAI would, returning the problem.
func (r *chatRequest) validate() string {
	if r.Model == nil || *r.Model == "" {
		return "you must provide a model parameter"
	}
	if len(r.Messages) == 0 {
		return "messages must be a non-empty array"
	}
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "developer", "user", "assistant", "tool":
		default:
			return fmt.Sprintf("messages[%d].role: invalid role %q", i, m.Role)
		}
		c := strings.TrimSpace(string(m.Content))
		switch {
		case c == "" || c == "null":
			if m.Role != "assistant" || len(m.ToolCalls) == 0 {
				return fmt.Sprintf("messages[%d].content is required", i)
			}
		case c[0] != '"' && c[0] != '[':
			return fmt.Sprintf("messages[%d].content must be a string or an array", i)
		}
		if m.Role == "tool" && m.ToolCallID == "" {
			return fmt.Sprintf("messages[%d].tool_call_id is required for tool messages", i)
		}
	}
	for i, t := range r.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			return fmt.Sprintf("tools[%d] must be a function with a name", i)
		}
	}
	return ""
}

func usage(prompt, completion, cached, reasoning int) map[string]any {
	return map[string]any{
		"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
		"prompt_tokens_details":     map[string]any{"cached_tokens": cached},
		"completion_tokens_details": map[string]any{"reasoning_tokens": reasoning},
	}
}

func (s *Server) chat(w http.ResponseWriter, body []byte, breakAfter int) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "invalid body: "+err.Error())
		return
	}
	if msg := req.validate(); msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", msg)
		return
	}
	model := *req.Model
	last := req.Messages[len(req.Messages)-1]
	var content string
	var toolCalls []map[string]any
	switch {
	case len(req.Tools) > 0 && last.Role == "user":
		toolCalls = []map[string]any{{"id": "call_fake_1", "type": "function",
			"function": map[string]any{"name": req.Tools[0].Function.Name, "arguments": `{"city":"Paris"}`}}}
	case last.Role == "tool":
		content = "The tool said: " + last.text()
	default:
		content = s.opts.Reply
		if content == "" {
			content = "Hello from " + model + "!"
		}
	}
	promptTokens := 0
	for _, m := range req.Messages {
		promptTokens += len(strings.Fields(m.text())) + 3
	}
	completion := len(strings.Fields(content)) + len(toolCalls)*5
	u := usage(promptTokens, completion, s.opts.CachedTokens, s.opts.ReasoningTokens)
	finish := "stop"
	if toolCalls != nil {
		finish = "tool_calls"
	}
	if req.Stream != nil && *req.Stream {
		includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		s.streamChat(w, model, content, toolCalls, finish, includeUsage, u, breakAfter)
		return
	}
	msg := map[string]any{"role": "assistant", "content": content, "refusal": nil}
	if toolCalls != nil {
		msg["content"] = nil
		msg["tool_calls"] = toolCalls
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish, "logprobs": nil}},
		"usage":   u,
	})
}

func (s *Server) streamChat(w http.ResponseWriter, model, content string, toolCalls []map[string]any,
	finish string, includeUsage bool, u map[string]any, breakAfter int) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	sent := 0
	send := func(choices []any, usage any) bool {
		if breakAfter > 0 && sent >= breakAfter {
			closeConn(w)
			return false
		}
		c := map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000,
			"model": model, "choices": choices}
		if includeUsage {
			c["usage"] = usage
		}
		b, _ := json.Marshal(c)
		_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
		sent++
		return true
	}
	delta := func(d map[string]any, fin any) []any {
		return []any{map[string]any{"index": 0, "delta": d, "finish_reason": fin, "logprobs": nil}}
	}
	if !send(delta(map[string]any{"role": "assistant", "content": ""}, nil), nil) {
		return
	}
	for _, word := range strings.SplitAfter(content, " ") {
		if word == "" {
			continue
		}
		if !send(delta(map[string]any{"content": word}, nil), nil) {
			return
		}
	}
	for i, tc := range toolCalls {
		tc = map[string]any{"index": i, "id": tc["id"], "type": "function", "function": tc["function"]}
		if !send(delta(map[string]any{"tool_calls": []any{tc}}, nil), nil) {
			return
		}
	}
	if !send(delta(map[string]any{}, finish), nil) {
		return
	}
	if includeUsage && !send([]any{}, u) {
		return
	}
	_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
}

func (s *Server) completions(w http.ResponseWriter, body []byte) {
	var req struct {
		Model  *string         `json:"model"`
		Prompt json.RawMessage `json:"prompt"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Model == nil || *req.Model == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "you must provide a model parameter")
		return
	}
	text := s.opts.Reply
	if text == "" {
		text = " and that is all."
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": "cmpl-fake", "object": "text_completion", "created": 1700000000, "model": *req.Model,
		"choices": []any{map[string]any{"index": 0, "text": text, "finish_reason": "stop", "logprobs": nil}},
		"usage":   usage(4, len(strings.Fields(text)), 0, 0),
	})
}

func (s *Server) embeddings(w http.ResponseWriter, body []byte) {
	var req struct {
		Model          *string         `json:"model"`
		Input          json.RawMessage `json:"input"`
		EncodingFormat string          `json:"encoding_format"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Model == nil || *req.Model == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "you must provide a model parameter")
		return
	}
	var inputs []string
	var one string
	if json.Unmarshal(req.Input, &one) == nil {
		inputs = []string{one}
	} else if err := json.Unmarshal(req.Input, &inputs); err != nil || len(inputs) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "input must be a string or an array of strings")
		return
	}
	var data []any
	tokens := 0
	for i, in := range inputs {
		tokens += len(strings.Fields(in))
		vec := make([]float32, 8)
		for j := range vec {
			vec[j] = float32(len(in)%7+j) / 10
		}
		var emb any = vec
		if req.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(vec))
			for j, f := range vec {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(f))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data = append(data, map[string]any{"object": "embedding", "index": i, "embedding": emb})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": *req.Model,
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens}})
}
