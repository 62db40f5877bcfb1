package schema

import "strconv"

// AppendChatResponse appends r as json.Marshal writes it, without
// reflection (TestAppendChatResponse checks it byte for byte).
func AppendChatResponse(dst []byte, r *ChatResponse) []byte {
	dst = AppendString(append(dst, `{"id":`...), r.ID)
	dst = AppendString(append(dst, `,"object":`...), r.Object)
	dst = strconv.AppendInt(append(dst, `,"created":`...), r.Created, 10)
	dst = AppendString(append(dst, `,"model":`...), r.Model)
	dst = append(dst, `,"choices":`...)
	if r.Choices == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range r.Choices {
			if i > 0 {
				dst = append(dst, ',')
			}
			c := &r.Choices[i]
			dst = strconv.AppendInt(append(dst, `{"index":`...), int64(c.Index), 10)
			dst = AppendMessage(append(dst, `,"message":`...), &c.Message)
			dst = AppendString(append(dst, `,"finish_reason":`...), c.FinishReason)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	if r.Usage != nil {
		dst = AppendUsage(append(dst, `,"usage":`...), r.Usage)
	}
	if r.SystemFingerprint != "" {
		dst = AppendString(append(dst, `,"system_fingerprint":`...), r.SystemFingerprint)
	}
	return append(dst, '}')
}

// AppendMessage appends m as json.Marshal writes it.
func AppendMessage(dst []byte, m *Message) []byte {
	dst = AppendString(append(dst, `{"role":`...), m.Role)
	dst = AppendContent(append(dst, `,"content":`...), &m.Content)
	if m.Name != "" {
		dst = AppendString(append(dst, `,"name":`...), m.Name)
	}
	if len(m.ToolCalls) > 0 {
		dst = append(dst, `,"tool_calls":[`...)
		for i := range m.ToolCalls {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendToolCall(dst, &m.ToolCalls[i])
		}
		dst = append(dst, ']')
	}
	if m.ToolCallID != "" {
		dst = AppendString(append(dst, `,"tool_call_id":`...), m.ToolCallID)
	}
	if m.Refusal != "" {
		dst = AppendString(append(dst, `,"refusal":`...), m.Refusal)
	}
	return append(dst, '}')
}

// AppendContent appends c as its MarshalJSON writes it.
func AppendContent(dst []byte, c *Content) []byte {
	switch {
	case c.IsParts:
		dst = append(dst, '[')
		for i := range c.Parts {
			if i > 0 {
				dst = append(dst, ',')
			}
			p := &c.Parts[i]
			dst = AppendString(append(dst, `{"type":`...), p.Type)
			if p.Text != "" {
				dst = AppendString(append(dst, `,"text":`...), p.Text)
			}
			if u := p.ImageURL; u != nil {
				dst = AppendString(append(dst, `,"image_url":{"url":`...), u.URL)
				if u.Detail != "" {
					dst = AppendString(append(dst, `,"detail":`...), u.Detail)
				}
				dst = append(dst, '}')
			}
			dst = append(dst, '}')
		}
		return append(dst, ']')
	case c.IsNull && c.Text == "":
		return append(dst, "null"...)
	}
	return AppendString(dst, c.Text)
}

// AppendToolCall appends tc as json.Marshal writes it.
func AppendToolCall(dst []byte, tc *ToolCall) []byte {
	dst = append(dst, '{')
	if tc.Index != nil {
		dst = strconv.AppendInt(append(dst, `"index":`...), int64(*tc.Index), 10)
	}
	if tc.ID != "" {
		dst = AppendString(append(comma(dst), `"id":`...), tc.ID)
	}
	if tc.Type != "" {
		dst = AppendString(append(comma(dst), `"type":`...), tc.Type)
	}
	dst = append(comma(dst), `"function":{`...)
	if tc.Function.Name != "" {
		dst = AppendString(append(dst, `"name":`...), tc.Function.Name)
	}
	dst = AppendString(append(comma(dst), `"arguments":`...), tc.Function.Arguments)
	return append(dst, "}}"...)
}

// AppendUsage appends u as json.Marshal writes it.
func AppendUsage(dst []byte, u *Usage) []byte {
	dst = strconv.AppendInt(append(dst, `{"prompt_tokens":`...), int64(u.PromptTokens), 10)
	dst = strconv.AppendInt(append(dst, `,"completion_tokens":`...), int64(u.CompletionTokens), 10)
	dst = strconv.AppendInt(append(dst, `,"total_tokens":`...), int64(u.TotalTokens), 10)
	if d := u.PromptTokensDetails; d != nil {
		dst = strconv.AppendInt(append(dst, `,"prompt_tokens_details":{"cached_tokens":`...), int64(d.CachedTokens), 10)
		if d.CacheWriteTokens != 0 {
			dst = strconv.AppendInt(append(dst, `,"cache_creation_tokens":`...), int64(d.CacheWriteTokens), 10)
		}
		dst = append(dst, '}')
	}
	if d := u.CompletionTokensDetails; d != nil {
		dst = strconv.AppendInt(append(dst, `,"completion_tokens_details":{"reasoning_tokens":`...),
			int64(d.ReasoningTokens), 10)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// comma appends the separator before an object's member, unless it is the first.
func comma(dst []byte) []byte {
	if dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	return dst
}
