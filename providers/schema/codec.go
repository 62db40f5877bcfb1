package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
)

var null = []byte("null")

// The JSON codecs of the common schema.
var (
	_ json.Unmarshaler = (*Content)(nil)
	_ json.Marshaler   = Content{}
	_ json.Unmarshaler = (*ToolChoice)(nil)
	_ json.Marshaler   = ToolChoice{}
	_ json.Unmarshaler = (*Stop)(nil)
	_ json.Unmarshaler = (*Input)(nil)
	_ json.Unmarshaler = (*ChatRequest)(nil)
	_ json.Marshaler   = ChatRequest{}
)

// UnmarshalJSON accepts a string, an array of parts, or null.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*c = Content{}
	switch {
	case len(b) == 0 || bytes.Equal(b, null):
		c.IsNull = true
		return nil
	case b[0] == '"':
		return json.Unmarshal(b, &c.Text)
	case b[0] == '[':
		c.IsParts = true
		return json.Unmarshal(b, &c.Parts)
	}
	return fmt.Errorf("content must be a string, an array of parts or null")
}

// MarshalJSON writes a string, an array of parts, or null.
func (c Content) MarshalJSON() ([]byte, error) {
	switch {
	case c.IsParts:
		if c.Parts == nil {
			return []byte("[]"), nil
		}
		return json.Marshal(c.Parts)
	case c.IsNull && c.Text == "":
		return null, nil
	}
	return json.Marshal(c.Text)
}

// TextContent returns a plain string content.
func TextContent(s string) Content { return Content{Text: s} }

// UnmarshalJSON accepts "none" | "auto" | "required" | {"type":"function","function":{"name":...}}.
func (t *ToolChoice) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*t = ToolChoice{}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &t.Mode); err != nil {
			return err
		}
		switch t.Mode {
		case ToolChoiceNone, ToolChoiceAuto, ToolChoiceRequired:
			return nil
		}
		return fmt.Errorf("tool_choice must be none, auto, required or a function")
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("tool_choice must be a string or an object")
	}
	if obj.Function.Name == "" {
		return fmt.Errorf("tool_choice.function.name is required")
	}
	t.Mode, t.Function = "function", obj.Function.Name
	return nil
}

// MarshalJSON writes a mode string or a function object.
func (t ToolChoice) MarshalJSON() ([]byte, error) {
	if t.Function != "" {
		return json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": t.Function}})
	}
	return json.Marshal(t.Mode)
}

// UnmarshalJSON accepts a string, an array of strings, or null.
func (s *Stop) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, null):
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = Stop{v}
		return nil
	}
	var v []string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("stop must be a string or an array of strings")
	}
	*s = v
	return nil
}

// UnmarshalJSON accepts a string or an array of strings. Token arrays are
// rejected: translators that need them read the raw body.
func (in *Input) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*in = Input{v}
		return nil
	}
	var v []string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("input must be a string or an array of strings")
	}
	*in = v
	return nil
}

// chatRequestAlias has ChatRequest's fields without its methods.
type chatRequestAlias ChatRequest

// known fields of ChatRequest, the rest go to Extra.
var chatKnown = map[string]bool{
	"model": true, "messages": true, "stream": true, "stream_options": true, "max_tokens": true,
	"max_completion_tokens": true, "temperature": true, "top_p": true, "n": true, "stop": true,
	"seed": true, "user": true, "presence_penalty": true, "frequency_penalty": true, "tools": true,
	"tool_choice": true, "parallel_tool_calls": true, "response_format": true, "reasoning_effort": true,
}

// UnmarshalJSON decodes known fields and keeps the others in Extra. It reads
// b once (decodeChatRequest); a body that pass does not take is decoded by
// reflection (decodeChatReflect), which also names the errors.
func (r *ChatRequest) UnmarshalJSON(b []byte) error {
	var fast ChatRequest
	if decodeChatRequest(b, &fast) {
		*r = fast
		return nil
	}
	return decodeChatReflect(b, r)
}

// decodeChatReflect is the reflection decoder of ChatRequest: the known fields
// into the struct, then every member into a map for Extra. It is the
// reference the single-pass decoder is tested against.
func decodeChatReflect(b []byte, r *ChatRequest) error {
	var a chatRequestAlias
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k, v := range all {
		if !chatKnown[k] {
			if a.Extra == nil {
				a.Extra = make(map[string]json.RawMessage)
			}
			a.Extra[k] = v
		}
	}
	*r = ChatRequest(a)
	return nil
}

// chatReflect is ChatRequest decoded by reflection only.
type chatReflect ChatRequest

// UnmarshalJSON implements [json.Unmarshaler] with decodeChatReflect.
func (r *chatReflect) UnmarshalJSON(b []byte) error { return decodeChatReflect(b, (*ChatRequest)(r)) }

// MarshalJSON writes known fields and then Extra.
func (r ChatRequest) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(chatRequestAlias(r))
	if err != nil || len(r.Extra) == 0 {
		return b, err
	}
	extra, err := json.Marshal(r.Extra)
	if err != nil {
		return nil, err
	}
	// splice: {...known...,...extra...}
	out := make([]byte, 0, len(b)+len(extra))
	out = append(out, b[:len(b)-1]...)
	if len(b) > 2 {
		out = append(out, ',')
	}
	out = append(out, extra[1:]...)
	return out, nil
}

// ParseChatRequest decodes and checks a chat request, returning an *Error (400)
// that names the problem.
//
// The body is read once, without reflection (decodeChatRequest). A body that
// pass gives up on (invalid JSON, a wrong type, anything it does not decode
// exactly as encoding/json) is decoded again by encoding/json, whose result
// and error messages are the reference. Strings of the request share one copy
// of raw: raw itself is not kept.
func ParseChatRequest(raw []byte) (*ChatRequest, error) {
	r := new(ChatRequest)
	if !decodeChatRequest(raw, r) {
		*r = ChatRequest{}
		if err := json.Unmarshal(raw, (*chatReflect)(r)); err != nil {
			return nil, Errorf(400, ErrInvalidRequest, "invalid request body: %s", jsonErrorText(err))
		}
	}
	return checkChatRequest(r)
}

// checkChatRequest checks what every translator needs of a decoded request.
func checkChatRequest(r *ChatRequest) (*ChatRequest, error) {
	if r.Model == "" {
		return nil, &Error{Status: 400, Type: ErrInvalidRequest, Param: "model", Message: "you must provide a model parameter"}
	}
	if len(r.Messages) == 0 {
		return nil, &Error{Status: 400, Type: ErrInvalidRequest, Param: "messages", Message: "messages must be a non-empty array"}
	}
	for i, m := range r.Messages {
		switch m.Role {
		case RoleSystem, RoleDeveloper, RoleUser, RoleAssistant, RoleTool, "function":
		default:
			return nil, &Error{Status: 400, Type: ErrInvalidRequest, Param: fmt.Sprintf("messages[%d].role", i),
				Message: fmt.Sprintf("invalid role %q", m.Role)}
		}
	}
	return r, nil
}

// ParseEmbeddingRequest decodes and checks an embeddings request.
func ParseEmbeddingRequest(raw []byte) (*EmbeddingRequest, error) {
	var r EmbeddingRequest
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, Errorf(400, ErrInvalidRequest, "invalid request body: %s", jsonErrorText(err))
	}
	if r.Model == "" {
		return nil, &Error{Status: 400, Type: ErrInvalidRequest, Param: "model", Message: "you must provide a model parameter"}
	}
	if len(r.Input) == 0 {
		return nil, &Error{Status: 400, Type: ErrInvalidRequest, Param: "input", Message: "input must be a non-empty string or array"}
	}
	return &r, nil
}

func jsonErrorText(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("malformed JSON at offset %d", e.Offset)
	case *json.UnmarshalTypeError:
		if e.Field != "" {
			return fmt.Sprintf("field %q must be %s, not %s", e.Field, e.Type.String(), e.Value)
		}
		return fmt.Sprintf("expected %s, not %s", e.Type.String(), e.Value)
	}
	return err.Error()
}
