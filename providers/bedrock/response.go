package bedrock

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Response implements [providers.Translator.Response].
func (t *chatTranslator) Response(status int, body []byte) ([]byte, schema.Usage, error) {
	if status < 200 || status > 299 {
		return nil, schema.Usage{}, vendorHTTPError(status, body)
	}
	var cr converseResponse
	if !decodeConverse(body, &cr) {
		cr = converseResponse{}
		if err := json.Unmarshal(body, &cr); err != nil {
			return nil, schema.Usage{}, schema.Errorf(http.StatusBadGateway, schema.ErrServer,
				"bedrock returned an invalid converse response")
		}
	}
	msg := schema.Message{Role: schema.RoleAssistant, Content: schema.Content{IsNull: true}}
	var text strings.Builder
	hasText := false
	if cr.Output.Message != nil {
		for _, c := range cr.Output.Message.Content {
			switch {
			case c.Text != nil:
				text.WriteString(*c.Text)
				hasText = true
			case c.ToolUse != nil:
				args := "{}"
				var compact bytes.Buffer
				if len(c.ToolUse.Input) > 0 && json.Compact(&compact, c.ToolUse.Input) == nil && compact.String() != "null" {
					args = compact.String()
				}
				msg.ToolCalls = append(msg.ToolCalls, schema.ToolCall{ID: c.ToolUse.ToolUseID, Type: "function",
					Function: schema.FunctionCall{Name: c.ToolUse.Name, Arguments: args}})
			}
		}
	}
	if hasText {
		msg.Content = schema.TextContent(text.String())
	}
	u := convertUsage(cr.Usage)
	resp := schema.ChatResponse{
		ID:      t.newID(),
		Object:  "chat.completion",
		Created: t.now().Unix(),
		Model:   t.model,
		Choices: []schema.Choice{{Message: msg, FinishReason: mapStopReason(cr.StopReason, len(msg.ToolCalls) > 0)}},
		Usage:   &u,
	}
	return schema.AppendChatResponse(make([]byte, 0, len(body)+256), &resp), u, nil
}

// mapStopReason maps Bedrock's stopReason to OpenAI's finish_reason. A turn
// that produced tool calls always finishes with tool_calls.
func mapStopReason(reason string, hadToolCalls bool) string {
	switch reason {
	case "tool_use":
		return schema.FinishToolCalls
	case "max_tokens", "model_context_window_exceeded":
		return schema.FinishLength
	case "guardrail_intervened", "content_filtered":
		return schema.FinishContentFilter
	}
	if hadToolCalls {
		return schema.FinishToolCalls
	}
	return schema.FinishStop // end_turn, stop_sequence, unknown
}

// convertUsage maps Bedrock's TokenUsage to OpenAI's. Bedrock's inputTokens
// excludes cached tokens, OpenAI's prompt_tokens includes them, so cache
// reads and writes are added to prompt_tokens and detailed.
func convertUsage(tu tokenUsage) schema.Usage {
	u := schema.Usage{
		PromptTokens:     tu.InputTokens + tu.CacheReadInputTokens + tu.CacheWriteInputTokens,
		CompletionTokens: tu.OutputTokens,
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	if tu.TotalTokens > u.TotalTokens {
		u.TotalTokens = tu.TotalTokens
	}
	if tu.CacheReadInputTokens > 0 || tu.CacheWriteInputTokens > 0 {
		u.PromptTokensDetails = &schema.PromptTokensDetails{
			CachedTokens: tu.CacheReadInputTokens, CacheWriteTokens: tu.CacheWriteInputTokens}
	}
	return u
}

// vendorHTTPError maps a non-2xx Bedrock response to an OpenAI-shaped error.
// The message is Bedrock's own {"message":...}; a body that is not Bedrock's
// JSON error is never echoed.
func vendorHTTPError(status int, body []byte) *schema.Error {
	var ve vendorError
	msg := ""
	if json.Unmarshal(body, &ve) == nil {
		msg = ve.Message
		if msg == "" {
			msg = ve.MessageU
		}
	}
	if msg == "" {
		msg = fmt.Sprintf("bedrock returned HTTP %d", status)
	}
	e := &schema.Error{Status: status, Type: schema.TypeForStatus(status), Message: msg}
	switch status {
	case http.StatusTooManyRequests:
		e.Code = "rate_limit_exceeded"
	case 424: // ModelErrorException: the model failed to process the request
		e.Status, e.Type = http.StatusBadGateway, schema.ErrServer
	case http.StatusRequestTimeout: // ModelTimeoutException
		e.Status, e.Type = http.StatusGatewayTimeout, schema.ErrTimeout
	}
	if status < 400 {
		e.Status, e.Type = http.StatusBadGateway, schema.ErrServer
	}
	return e
}

// exceptionError maps a ConverseStream exception event to an error.
func exceptionError(excType string, payload []byte) *schema.Error {
	var ve vendorError
	_ = json.Unmarshal(payload, &ve)
	msg := ve.Message
	if msg == "" {
		msg = ve.MessageU
	}
	if msg == "" {
		msg = "bedrock stream failed with " + excType
	}
	status := http.StatusBadGateway
	switch strings.ToLower(excType) {
	case "throttlingexception":
		status = http.StatusTooManyRequests
	case "validationexception":
		status = http.StatusBadRequest
	case "accessdeniedexception":
		status = http.StatusForbidden
	case "resourcenotfoundexception":
		status = http.StatusNotFound
	case "serviceunavailableexception":
		status = http.StatusServiceUnavailable
	case "modeltimeoutexception":
		status = http.StatusGatewayTimeout
	case "internalserverexception":
		status = http.StatusInternalServerError
	case "modelstreamerrorexception":
		status = http.StatusBadGateway
	}
	e := &schema.Error{Status: status, Type: schema.TypeForStatus(status), Message: msg, Code: excType}
	return e
}
