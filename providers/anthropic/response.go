package anthropic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Response implements [providers.Translator.Response].
func (t *translator) Response(status int, body []byte) ([]byte, schema.Usage, error) {
	if status < 200 || status > 299 {
		return nil, schema.Usage{}, t.upstreamError(status, body)
	}
	var r messagesResponse
	if err := json.Unmarshal(body, &r); err != nil || r.Type == "error" {
		if r.Type == "error" {
			return nil, schema.Usage{}, t.upstreamError(http.StatusInternalServerError, body)
		}
		return nil, schema.Usage{}, schema.Errorf(502, schema.ErrServer, "%s: upstream returned an invalid response", t.name())
	}
	msg := schema.Message{Role: schema.RoleAssistant}
	var text strings.Builder
	for _, b := range r.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			args := compactJSON(b.Input)
			if t.jsonTool != "" && b.Name == t.jsonTool {
				text.WriteString(args)
				continue
			}
			msg.ToolCalls = append(msg.ToolCalls, schema.ToolCall{ID: b.ID, Type: "function",
				Function: schema.FunctionCall{Name: b.Name, Arguments: args}})
		}
	}
	switch {
	case text.Len() > 0:
		msg.Content = schema.TextContent(text.String())
	case len(msg.ToolCalls) > 0:
		msg.Content = schema.Content{IsNull: true}
	default:
		msg.Content = schema.TextContent("")
	}
	finish := finishReason(r.StopReason)
	switch {
	case finish == schema.FinishStop && len(msg.ToolCalls) > 0:
		finish = schema.FinishToolCalls
	case finish == schema.FinishToolCalls && len(msg.ToolCalls) == 0:
		finish = schema.FinishStop // only the response_format tool (if any) was called
	}
	u := openAIUsage(r.Usage)
	model := r.Model
	if model == "" {
		model = t.model
	}
	out, err := marshal(schema.ChatResponse{
		ID: r.ID, Object: "chat.completion", Created: t.created, Model: model,
		Choices: []schema.Choice{{Index: 0, Message: msg, FinishReason: finish}},
		Usage:   &u,
	})
	if err != nil {
		return nil, schema.Usage{}, fmt.Errorf("%s: encode response: %w", t.name(), err)
	}
	return out, u, nil
}

// compactJSON returns a tool input as a compact JSON string ("{}" when absent).
func compactJSON(in json.RawMessage) string {
	var buf bytes.Buffer
	if len(bytes.TrimSpace(in)) == 0 || json.Compact(&buf, in) != nil || buf.String() == "null" {
		return "{}"
	}
	return buf.String()
}

// finishReason maps an Anthropic stop_reason to OpenAI's finish_reason.
func finishReason(stop string) string {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return schema.FinishLength
	case "tool_use":
		return schema.FinishToolCalls
	case "refusal":
		return schema.FinishContentFilter
	default: // end_turn, stop_sequence, pause_turn, unknown
		return schema.FinishStop
	}
}

// openAIUsage maps Anthropic usage: prompt tokens include cache reads and
// cache writes; cached_tokens are the reads, cache_creation_tokens the writes.
func openAIUsage(u usage) schema.Usage {
	prompt := u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens
	return schema.Usage{
		PromptTokens:     prompt,
		CompletionTokens: u.OutputTokens,
		TotalTokens:      prompt + u.OutputTokens,
		PromptTokensDetails: &schema.PromptTokensDetails{
			CachedTokens:     u.CacheReadInputTokens,
			CacheWriteTokens: u.CacheCreationInputTokens,
		},
	}
}

// errorStatus maps Anthropic error types to the status and OpenAI type the
// client gets.
var errorStatus = map[string]struct {
	status int
	typ    string
}{
	"invalid_request_error": {400, schema.ErrInvalidRequest},
	"authentication_error":  {401, schema.ErrAuthentication},
	"billing_error":         {402, schema.ErrInvalidRequest},
	"permission_error":      {403, schema.ErrPermission},
	"not_found_error":       {404, schema.ErrNotFound},
	"request_too_large":     {413, schema.ErrInvalidRequest},
	"rate_limit_error":      {429, schema.ErrRateLimit},
	"api_error":             {500, schema.ErrServer},
	"timeout_error":         {504, schema.ErrTimeout},
	"overloaded_error":      {503, schema.ErrUnavailable},
}

// upstreamError maps a non-2xx response to an *schema.Error. The vendor's
// message is kept when the body is Anthropic's error JSON (or, on Vertex,
// Google's); any other body is not passed on.
func (t *translator) upstreamError(status int, body []byte) *schema.Error {
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil && eb.Error.Type != "" {
		return t.apiErr(status, eb.Error)
	}
	var g struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	st := mapStatus(status)
	if json.Unmarshal(body, &g) == nil && g.Error != nil && g.Error.Message != "" {
		return &schema.Error{Status: st, Type: schema.TypeForStatus(st), Code: g.Error.Status,
			Message: t.name() + ": " + g.Error.Message}
	}
	return schema.Errorf(st, schema.TypeForStatus(st), "%s: upstream returned HTTP %d", t.name(), status)
}

// apiErr maps an Anthropic error object; status is the HTTP status it came
// with (used when the type is unknown).
func (t *translator) apiErr(status int, e *apiError) *schema.Error {
	msg := e.Message
	if msg == "" {
		msg = e.Type
	}
	if m, ok := errorStatus[e.Type]; ok {
		return &schema.Error{Status: m.status, Type: m.typ, Code: e.Type, Message: t.name() + ": " + msg}
	}
	st := mapStatus(status)
	return &schema.Error{Status: st, Type: schema.TypeForStatus(st), Code: e.Type, Message: t.name() + ": " + msg}
}

// mapStatus maps statuses OpenAI clients do not know (529) to ones they do.
func mapStatus(status int) int {
	switch {
	case status == 529:
		return 503
	case status < 400 || status > 599:
		return 502
	}
	return status
}
