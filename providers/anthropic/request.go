package anthropic

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// jsonToolDefault names the forced tool that emulates response_format when
// the json_schema has no usable name.
const jsonToolDefault = "json_response"

// toolNameRE is what Anthropic accepts as a tool name.
var toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// emptySchema is the input_schema of a tool defined without parameters.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// buildRequest translates an OpenAI chat request into a Messages API body
// (without model / anthropic_version, which depend on the flavor). It never
// modifies req.
func (t *translator) buildRequest(req *schema.ChatRequest) (*messagesRequest, error) {
	if req.N != nil && *req.N > 1 {
		return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest, Param: "n",
			Message: t.name() + ": n > 1 is not supported by Anthropic models"}
	}
	out := &messagesRequest{
		MaxTokens:   req.MaxOutputTokens(),
		Temperature: req.Temperature,
		TopP:        req.TopP,
		Stream:      req.Stream,
	}
	if out.MaxTokens <= 0 {
		out.MaxTokens = DefaultMaxTokens
	}
	if len(req.Stop) > 0 {
		out.StopSequences = append([]string(nil), req.Stop...)
	}
	if req.User != "" {
		out.Metadata = &metadata{UserID: req.User}
	}
	if k, ok := req.Extra["top_k"]; ok && !bytes.Equal(bytes.TrimSpace(k), []byte("null")) {
		var n float64
		if err := json.Unmarshal(k, &n); err != nil {
			return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest, Param: "top_k",
				Message: "top_k must be a number"}
		}
		out.TopK = append(json.RawMessage(nil), k...)
	}
	var system []contentBlock
	for i, m := range req.Messages {
		var err error
		switch m.Role {
		case schema.RoleSystem, schema.RoleDeveloper:
			if s := m.Content.PlainText(); s != "" {
				system = append(system, contentBlock{Type: "text", Text: s})
			}
		case schema.RoleUser:
			var blocks []contentBlock
			if blocks, err = userBlocks(i, m.Content); err == nil {
				out.Messages = appendTurn(out.Messages, "user", blocks)
			}
		case schema.RoleAssistant:
			var blocks []contentBlock
			if blocks, err = assistantBlocks(i, m); err == nil {
				out.Messages = appendTurn(out.Messages, "assistant", blocks)
			}
		case schema.RoleTool:
			if m.ToolCallID == "" {
				return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
					Param: fmt.Sprintf("messages[%d].tool_call_id", i), Message: "tool messages need a tool_call_id"}
			}
			block := contentBlock{Type: "tool_result", ToolUseID: m.ToolCallID}
			if s := m.Content.PlainText(); s != "" {
				block.Content = s
			}
			out.Messages = appendTurn(out.Messages, "user", []contentBlock{block})
		default:
			return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
				Param:   fmt.Sprintf("messages[%d].role", i),
				Message: fmt.Sprintf("%s: role %q is not supported, use tool messages", t.name(), m.Role)}
		}
		if err != nil {
			return nil, err
		}
	}
	if len(out.Messages) == 0 {
		return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest, Param: "messages",
			Message: t.name() + ": at least one user or assistant message with content is required"}
	}
	for i := range out.Messages {
		if out.Messages[i].Role == "user" {
			toolResultsFirst(out.Messages[i].Content)
		}
	}
	switch len(system) {
	case 0:
	case 1:
		out.System = system[0].Text
	default:
		out.System = system
	}
	if err := t.tools(req, out); err != nil {
		return nil, err
	}
	return out, nil
}

// appendTurn adds blocks as a turn of role, merging into the previous turn
// when it has the same role (Anthropic wants alternating roles). Empty block
// lists add nothing.
func appendTurn(msgs []message, role string, blocks []contentBlock) []message {
	if len(blocks) == 0 {
		return msgs
	}
	if n := len(msgs); n > 0 && msgs[n-1].Role == role {
		msgs[n-1].Content = append(msgs[n-1].Content, blocks...)
		return msgs
	}
	return append(msgs, message{Role: role, Content: blocks})
}

// toolResultsFirst moves tool_result blocks ahead of the others, keeping
// order within each group: Anthropic requires tool results to come first.
func toolResultsFirst(blocks []contentBlock) {
	out := make([]contentBlock, 0, len(blocks))
	for _, b := range blocks {
		if b.Type == "tool_result" {
			out = append(out, b)
		}
	}
	for _, b := range blocks {
		if b.Type != "tool_result" {
			out = append(out, b)
		}
	}
	copy(blocks, out)
}

// userBlocks translates a user message's content.
func userBlocks(i int, c schema.Content) ([]contentBlock, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []contentBlock{{Type: "text", Text: c.Text}}, nil
	}
	var out []contentBlock
	for j, p := range c.Parts {
		switch p.Type {
		case schema.PartText:
			if p.Text != "" {
				out = append(out, contentBlock{Type: "text", Text: p.Text})
			}
		case schema.PartImageURL:
			if p.ImageURL == nil {
				return nil, partError(i, j, "image_url.url is required")
			}
			src, err := imageSourceOf(p.ImageURL.URL)
			if err != nil {
				return nil, partError(i, j, err.Error())
			}
			out = append(out, contentBlock{Type: "image", Source: src})
		default:
			return nil, partError(i, j, fmt.Sprintf("content part type %q is not supported by Anthropic models", p.Type))
		}
	}
	return out, nil
}

func partError(i, j int, msg string) *schema.Error {
	return &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
		Param: fmt.Sprintf("messages[%d].content[%d]", i, j), Message: msg}
}

// Image media types Anthropic accepts.
var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// imageSourceOf turns a data URI into a base64 source and an http(s) URL into
// a url source (Anthropic fetches it).
func imageSourceOf(u string) (*imageSource, error) {
	mediaType, data, isData, err := schema.ParseDataURI(u)
	switch {
	case isData:
		if err != nil {
			return nil, fmt.Errorf("image %w", err)
		}
		mediaType = strings.ToLower(mediaType)
		if !imageTypes[mediaType] {
			return nil, fmt.Errorf("image media type %q is not supported (use image/jpeg, image/png, image/gif or image/webp)", mediaType)
		}
		data = strings.TrimSpace(data)
		if _, err := base64.StdEncoding.DecodeString(data); err != nil {
			return nil, fmt.Errorf("image data URI is not valid base64")
		}
		return &imageSource{Type: "base64", MediaType: mediaType, Data: data}, nil
	case strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "http://"):
		return &imageSource{Type: "url", URL: u}, nil
	}
	return nil, fmt.Errorf("image_url must be an http(s) URL or a base64 data URI")
}

// assistantBlocks translates an assistant message: text, then tool_use blocks.
func assistantBlocks(i int, m schema.Message) ([]contentBlock, error) {
	var out []contentBlock
	if s := m.Content.PlainText(); s != "" {
		out = append(out, contentBlock{Type: "text", Text: s})
	}
	for j, tc := range m.ToolCalls {
		args := bytes.TrimSpace([]byte(tc.Function.Arguments))
		if len(args) == 0 {
			args = []byte("{}")
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(args, &obj); err != nil || obj == nil {
			return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
				Param:   fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j),
				Message: "tool call arguments must be a JSON object"}
		}
		if tc.ID == "" || tc.Function.Name == "" {
			return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
				Param:   fmt.Sprintf("messages[%d].tool_calls[%d]", i, j),
				Message: "tool calls need an id and a function name"}
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, args); err != nil {
			return nil, fmt.Errorf("anthropic: compact tool arguments: %w", err)
		}
		out = append(out, contentBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: buf.Bytes()})
	}
	return out, nil
}

// tools sets tools and tool_choice, or emulates response_format with a forced
// tool when the request has no tools of its own.
func (t *translator) tools(req *schema.ChatRequest, out *messagesRequest) error {
	if len(req.Tools) == 0 {
		return t.responseFormat(req.ResponseFormat, out)
	}
	for i, tl := range req.Tools {
		if tl.Type != "" && tl.Type != "function" {
			return &schema.Error{Status: 400, Type: schema.ErrInvalidRequest, Param: fmt.Sprintf("tools[%d].type", i),
				Message: fmt.Sprintf("tool type %q is not supported", tl.Type)}
		}
		params := tl.Function.Parameters
		if len(bytes.TrimSpace(params)) == 0 || bytes.Equal(bytes.TrimSpace(params), []byte("null")) {
			params = emptySchema
		}
		out.Tools = append(out.Tools, tool{Name: tl.Function.Name, Description: tl.Function.Description,
			InputSchema: append(json.RawMessage(nil), params...)})
	}
	noParallel := req.ParallelToolCalls != nil && !*req.ParallelToolCalls
	var tc *toolChoice
	if req.ToolChoice != nil {
		switch req.ToolChoice.Mode {
		case schema.ToolChoiceNone:
			out.ToolChoice = &toolChoice{Type: "none"}
			return nil
		case schema.ToolChoiceAuto:
			tc = &toolChoice{Type: "auto"}
		case schema.ToolChoiceRequired:
			tc = &toolChoice{Type: "any"}
		case "function":
			tc = &toolChoice{Type: "tool", Name: req.ToolChoice.Function}
		}
	}
	if noParallel {
		if tc == nil {
			tc = &toolChoice{Type: "auto"}
		}
		tc.DisableParallelToolUse = true
	}
	out.ToolChoice = tc
	return nil
}

// responseFormat emulates json_object / json_schema with a forced tool whose
// input_schema is the requested schema; the tool's input comes back as the
// message content.
func (t *translator) responseFormat(rf *schema.ResponseFormat, out *messagesRequest) error {
	if rf == nil || (rf.Type != "json_object" && rf.Type != "json_schema") {
		return nil
	}
	name, inputSchema := jsonToolDefault, json.RawMessage(`{"type":"object"}`)
	desc := "Respond with a JSON object by calling this tool."
	if rf.Type == "json_schema" {
		var js struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Schema      json.RawMessage `json:"schema"`
		}
		if err := json.Unmarshal(rf.JSONSchema, &js); err != nil {
			return &schema.Error{Status: 400, Type: schema.ErrInvalidRequest, Param: "response_format.json_schema",
				Message: "response_format.json_schema must be an object with a schema"}
		}
		if toolNameRE.MatchString(js.Name) {
			name = js.Name
		}
		if js.Description != "" {
			desc = js.Description
		}
		if len(js.Schema) > 0 && !bytes.Equal(bytes.TrimSpace(js.Schema), []byte("null")) {
			inputSchema = append(json.RawMessage(nil), js.Schema...)
		}
	}
	out.Tools = []tool{{Name: name, Description: desc, InputSchema: inputSchema}}
	out.ToolChoice = &toolChoice{Type: "tool", Name: name}
	t.jsonTool = name
	return nil
}
