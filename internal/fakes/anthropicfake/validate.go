package anthropicfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
)

// request is the decoded part of a Messages API request the fake checks.
type request struct {
	Model       string          `json:"model"`
	MaxTokens   *int            `json:"max_tokens"`
	Messages    []message       `json:"messages"`
	System      json.RawMessage `json:"system"`
	Temperature *float64        `json:"temperature"`
	Tools       []tool          `json:"tools"`
	ToolChoice  *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
	Stream bool `json:"stream"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	blocks  []block
}

type block struct {
	Type   string  `json:"type"`
	Text   *string `json:"text"`
	Source *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
	} `json:"source"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
}

type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

var toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)

var mediaTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// validate decodes and checks a request body; msg is the error message of a
// violation ("" when the request is valid).
func validate(body []byte) (req *request, msg string) {
	req = &request{}
	if err := json.Unmarshal(body, req); err != nil {
		return nil, "invalid JSON body: " + err.Error()
	}
	switch {
	case req.Model == "":
		return nil, "model: Field required"
	case req.MaxTokens == nil:
		return nil, "max_tokens: Field required"
	case *req.MaxTokens < 1:
		return nil, "max_tokens: must be greater than or equal to 1"
	case req.Temperature != nil && (*req.Temperature < 0 || *req.Temperature > 1):
		return nil, "temperature: range: 0..1"
	case len(req.Messages) == 0:
		return nil, "messages: at least one message is required"
	}
	if m := checkSystem(req.System); m != "" {
		return nil, m
	}
	for i := range req.Messages {
		if m := checkMessage(req, i); m != "" {
			return nil, m
		}
	}
	if m := checkTools(req); m != "" {
		return nil, m
	}
	return req, ""
}

func checkSystem(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '"' {
		return ""
	}
	var blocks []block
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return "system: must be a string or an array of text blocks"
	}
	for i, b := range blocks {
		if b.Type != "text" || b.Text == nil || *b.Text == "" {
			return fmt.Sprintf("system.%d: must be a non-empty text block", i)
		}
	}
	return ""
}

// checkMessage decodes messages[i]'s blocks and checks them against the
// conversation so far.
func checkMessage(req *request, i int) string {
	m := &req.Messages[i]
	want := "user"
	if i%2 == 1 {
		want = "assistant"
	}
	if m.Role != "user" && m.Role != "assistant" {
		return fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
	}
	if m.Role != want {
		return fmt.Sprintf("messages: roles must alternate between \"user\" and \"assistant\", starting with \"user\" (messages.%d)", i)
	}
	c := bytes.TrimSpace(m.Content)
	switch {
	case len(c) > 0 && c[0] == '"':
		var s string
		if err := json.Unmarshal(c, &s); err != nil || s == "" {
			return fmt.Sprintf("messages.%d: text content must be non-empty", i)
		}
		m.blocks = []block{{Type: "text", Text: &s}}
	case len(c) > 0 && c[0] == '[':
		if err := json.Unmarshal(c, &m.blocks); err != nil {
			return fmt.Sprintf("messages.%d.content: invalid content blocks", i)
		}
		if len(m.blocks) == 0 {
			return fmt.Sprintf("messages.%d: all messages must have non-empty content", i)
		}
	default:
		return fmt.Sprintf("messages.%d.content: Field required", i)
	}
	prevToolUses := map[string]bool{}
	if i > 0 {
		for _, b := range req.Messages[i-1].blocks {
			if b.Type == "tool_use" {
				prevToolUses[b.ID] = true
			}
		}
	}
	results := map[string]bool{}
	for j, b := range m.blocks {
		if s := checkBlock(m.Role, b, prevToolUses); s != "" {
			return fmt.Sprintf("messages.%d.content.%d: %s", i, j, s)
		}
		if b.Type == "tool_result" {
			results[b.ToolUseID] = true
		}
	}
	for id := range prevToolUses {
		if !results[id] {
			return fmt.Sprintf("messages.%d: tool_use ids were found without tool_result blocks immediately after: %s", i-1, id)
		}
	}
	return ""
}

func checkBlock(role string, b block, prevToolUses map[string]bool) string {
	switch b.Type {
	case "text":
		if b.Text == nil || *b.Text == "" {
			return "text content blocks must be non-empty"
		}
	case "image":
		if role != "user" || b.Source == nil {
			return "image blocks need a source and are only allowed in user messages"
		}
		switch b.Source.Type {
		case "base64":
			if !mediaTypes[b.Source.MediaType] {
				return "image.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
			}
			if _, err := base64.StdEncoding.DecodeString(b.Source.Data); err != nil || b.Source.Data == "" {
				return "image.source.data: invalid base64 data"
			}
		case "url":
			if b.Source.URL == "" {
				return "image.source.url: Field required"
			}
		default:
			return "image.source.type: Input should be 'base64' or 'url'"
		}
	case "tool_use":
		if role != "assistant" {
			return "tool_use blocks are only allowed in assistant messages"
		}
		if b.ID == "" || b.Name == "" {
			return "tool_use: id and name are required"
		}
		if in := bytes.TrimSpace(b.Input); len(in) == 0 || in[0] != '{' {
			return "tool_use.input: Input should be a valid dictionary"
		}
	case "tool_result":
		if role != "user" {
			return "tool_result blocks are only allowed in user messages"
		}
		if !prevToolUses[b.ToolUseID] {
			return fmt.Sprintf("unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", b.ToolUseID)
		}
	case "document", "thinking", "redacted_thinking":
	default:
		return fmt.Sprintf("Input tag '%s' found using 'type' does not match any of the expected tags", b.Type)
	}
	return ""
}

func checkTools(req *request) string {
	names := map[string]bool{}
	for i, t := range req.Tools {
		if !toolNameRE.MatchString(t.Name) {
			return fmt.Sprintf("tools.%d.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'", i)
		}
		var s struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(t.InputSchema, &s); err != nil || s.Type != "object" {
			return fmt.Sprintf("tools.%d.input_schema: type must be 'object'", i)
		}
		names[t.Name] = true
	}
	if tc := req.ToolChoice; tc != nil {
		switch tc.Type {
		case "auto", "any", "none":
		case "tool":
			if !names[tc.Name] {
				return fmt.Sprintf("tool_choice: tool %q not found in tools", tc.Name)
			}
		default:
			return "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
		}
		if tc.Type != "none" && len(req.Tools) == 0 {
			return "tool_choice may only be specified while providing tools"
		}
	}
	return ""
}
