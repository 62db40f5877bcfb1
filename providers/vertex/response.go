package vertex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Response implements [providers.Translator.Response].
func (t *translator) Response(status int, body []byte) ([]byte, schema.Usage, error) {
	if status < 200 || status > 299 {
		return nil, schema.Usage{}, t.upstreamError(status, body)
	}
	var gr generateResponse
	if err := json.Unmarshal(body, &gr); err != nil {
		return nil, schema.Usage{}, schema.Errorf(502, schema.ErrServer, "%s: decode response: %v", t.flavor, err)
	}
	if gr.Error != nil {
		return nil, schema.Usage{}, t.googleErr(gr.Error.Code, gr.Error)
	}
	resp := schema.ChatResponse{
		ID:      completionID(gr.ResponseID),
		Object:  "chat.completion",
		Created: t.now().Unix(),
		Model:   t.responseModel(gr.ModelVersion),
	}
	for _, c := range gr.Candidates {
		msg := schema.Message{Role: schema.RoleAssistant}
		var text strings.Builder
		calls := 0
		for _, p := range c.Content.Parts {
			switch {
			case p.Thought:
				// thought summaries are not part of the OpenAI answer
			case p.FunctionCall != nil:
				msg.ToolCalls = append(msg.ToolCalls, schema.ToolCall{
					ID:       toolCallID(calls, p.FunctionCall.Name, p.ThoughtSignature),
					Type:     "function",
					Function: schema.FunctionCall{Name: p.FunctionCall.Name, Arguments: argsJSON(p.FunctionCall.Args)},
				})
				calls++
			default:
				text.WriteString(p.Text)
			}
		}
		if text.Len() > 0 || len(msg.ToolCalls) == 0 {
			msg.Content = schema.TextContent(text.String())
		} else {
			msg.Content = schema.Content{IsNull: true}
		}
		resp.Choices = append(resp.Choices, schema.Choice{
			Index: c.Index, Message: msg, FinishReason: mapFinish(c.FinishReason, len(msg.ToolCalls) > 0),
		})
	}
	if len(resp.Choices) == 0 {
		// No candidate: the prompt was blocked (promptFeedback.blockReason) or
		// the model produced nothing.
		finish := schema.FinishStop
		if gr.PromptFeedback != nil && gr.PromptFeedback.BlockReason != "" {
			finish = schema.FinishContentFilter
		}
		resp.Choices = []schema.Choice{{Message: schema.Message{Role: schema.RoleAssistant, Content: schema.Content{IsNull: true}},
			FinishReason: finish}}
	}
	u := convertUsage(gr.UsageMetadata)
	resp.Usage = &u
	return schema.AppendChatResponse(make([]byte, 0, len(body)), &resp), u, nil
}

// responseModel is the model named in responses: Gemini's modelVersion, else
// the requested upstream model.
func (t *translator) responseModel(version string) string {
	if version != "" {
		return version
	}
	return t.model
}

// argsJSON returns a functionCall's args as an OpenAI arguments string.
func argsJSON(args json.RawMessage) string {
	a := bytes.TrimSpace(args)
	if len(a) == 0 || bytes.Equal(a, []byte("null")) {
		return "{}"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, a); err != nil {
		return "{}"
	}
	return buf.String()
}

// mapFinish maps a Gemini finishReason to OpenAI's finish_reason.
func mapFinish(reason string, hasToolCalls bool) string {
	switch reason {
	case "MAX_TOKENS":
		return schema.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
		"IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION":
		return schema.FinishContentFilter
	}
	// STOP, OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL,
	// TOO_MANY_TOOL_CALLS, FINISH_REASON_UNSPECIFIED and unknown reasons.
	if hasToolCalls {
		return schema.FinishToolCalls
	}
	return schema.FinishStop
}

// convertUsage maps usageMetadata to OpenAI usage. Thought tokens count as
// completion tokens (as OpenAI counts reasoning tokens) and are also reported as
// reasoning_tokens; cachedContentTokenCount (part of the prompt) is cached_tokens.
func convertUsage(m *usageMetadata) schema.Usage {
	if m == nil {
		return schema.Usage{}
	}
	u := schema.Usage{
		PromptTokens:     m.PromptTokenCount + m.ToolUsePromptTokenCount,
		CompletionTokens: m.CandidatesTokenCount + m.ThoughtsTokenCount,
		TotalTokens:      m.TotalTokenCount,
	}
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	if m.CachedContentTokenCount > 0 {
		u.PromptTokensDetails = &schema.PromptTokensDetails{CachedTokens: m.CachedContentTokenCount}
	}
	if m.ThoughtsTokenCount > 0 {
		u.CompletionTokensDetails = &schema.CompletionTokensDetails{ReasoningTokens: m.ThoughtsTokenCount}
	}
	return u
}

// upstreamError maps a non-2xx response to an *schema.Error, using Google's
// error JSON when the body is one and never echoing any other body.
func (t *translator) upstreamError(status int, body []byte) *schema.Error {
	var one struct {
		Error *googleError `json:"error"`
	}
	b := bytes.TrimSpace(body)
	if len(b) > 0 && b[0] == '[' { // streamGenerateContent without alt=sse answers an array
		var many []struct {
			Error *googleError `json:"error"`
		}
		if json.Unmarshal(b, &many) == nil && len(many) > 0 {
			one.Error = many[0].Error
		}
	} else {
		_ = json.Unmarshal(b, &one)
	}
	if one.Error == nil || one.Error.Message == "" {
		text := http.StatusText(status)
		if text == "" {
			text = "status " + strconv.Itoa(status)
		}
		return &schema.Error{Status: upstreamStatus(status), Type: schema.TypeForStatus(upstreamStatus(status)),
			Message: fmt.Sprintf("%s: upstream error: %s", t.flavor, text)}
	}
	return t.googleErr(status, one.Error)
}

// googleErr converts Google's error object; status is the HTTP status (0: use its code).
func (t *translator) googleErr(status int, e *googleError) *schema.Error {
	if status < 400 {
		status = e.Code
	}
	if status < 400 {
		status = 502
	}
	status = upstreamStatus(status)
	msg := e.Message
	if msg == "" {
		msg = e.Status
	}
	return &schema.Error{Status: status, Type: schema.TypeForStatus(status), Code: strings.ToLower(e.Status),
		Message: fmt.Sprintf("%s: %s", t.flavor, msg)}
}

// upstreamStatus keeps client-meaningful statuses and folds the rest to 502.
func upstreamStatus(status int) int {
	if status >= 400 && status <= 599 {
		return status
	}
	return 502
}
