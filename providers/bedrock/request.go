package bedrock

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// chatTranslator serves one chat attempt against Converse / ConverseStream.
type chatTranslator struct {
	endpoint string
	model    string
	newID    func() string
	now      func() time.Time
}

// passthroughFields are Converse fields a client may send as-is in the body.
var passthroughFields = []string{
	"additionalModelRequestFields", "additionalModelResponseFieldPaths",
	"guardrailConfig", "performanceConfig", "requestMetadata",
}

func badRequest(param, format string, args ...any) *schema.Error {
	return &schema.Error{Status: http.StatusBadRequest, Type: schema.ErrInvalidRequest, Param: param,
		Message: fmt.Sprintf(format, args...)}
}

// Request implements [providers.Translator.Request].
func (t *chatTranslator) Request(raw []byte, req *schema.ChatRequest) (*schema.Upstream, error) {
	if req == nil {
		var err error
		if req, err = schema.ParseChatRequest(raw); err != nil {
			return nil, err
		}
	}
	if req.Model == "" {
		return nil, badRequest("model", "you must provide a model parameter")
	}
	if req.N != nil && *req.N > 1 {
		return nil, badRequest("n", "bedrock returns one choice: n must be 1")
	}
	cr, err := buildConverse(req)
	if err != nil {
		return nil, err
	}
	body := appendConverse(make([]byte, 0, converseSizeHint(req)), cr)
	t.model = req.Model
	action := "converse"
	if req.Stream {
		action = "converse-stream"
	}
	return &schema.Upstream{
		Method:      http.MethodPost,
		URL:         ModelURL(t.endpoint, req.Model, action),
		ContentType: "application/json",
		Body:        body,
		Stream:      req.Stream,
	}, nil
}

// converseSizeHint guesses the size of the Converse body of req, so that
// appendConverse seldom grows its buffer: the text of the messages and the
// tools' schemas plus room for the structure.
func converseSizeHint(req *schema.ChatRequest) int {
	n := 256
	for i := range req.Messages {
		m := &req.Messages[i]
		n += len(m.Content.Text) + 64
		for _, p := range m.Content.Parts {
			n += len(p.Text) + 32
			if p.ImageURL != nil {
				n += len(p.ImageURL.URL)
			}
		}
		for _, tc := range m.ToolCalls {
			n += len(tc.Function.Arguments) + len(tc.ID) + 64
		}
	}
	for _, t := range req.Tools {
		n += len(t.Function.Parameters) + len(t.Function.Description) + 64
	}
	return n
}

// buildConverse translates an OpenAI chat request into a Converse request.
func buildConverse(req *schema.ChatRequest) (*converseRequest, error) {
	cr := &converseRequest{}
	hasToolBlocks := false
	for i, m := range req.Messages {
		switch m.Role {
		case schema.RoleSystem, schema.RoleDeveloper:
			if txt := m.Content.PlainText(); strings.TrimSpace(txt) != "" {
				cr.System = append(cr.System, systemBlock{Text: txt})
			}
		case schema.RoleUser:
			blocks, err := userBlocks(i, m.Content)
			if err != nil {
				return nil, err
			}
			cr.appendMessage("user", blocks)
		case schema.RoleAssistant:
			blocks, err := assistantBlocks(i, m)
			if err != nil {
				return nil, err
			}
			hasToolBlocks = hasToolBlocks || len(m.ToolCalls) > 0
			cr.appendMessage("assistant", blocks)
		case schema.RoleTool:
			if m.ToolCallID == "" {
				return nil, badRequest(fmt.Sprintf("messages[%d].tool_call_id", i), "tool messages need a tool_call_id")
			}
			txt := m.Content.PlainText()
			if txt == "" {
				txt = "(empty)"
			}
			hasToolBlocks = true
			cr.appendMessage("user", []contentBlock{{ToolResult: &toolResultBlock{
				ToolUseID: m.ToolCallID, Content: []toolResultContent{{Text: &txt}}}}})
		default:
			return nil, badRequest(fmt.Sprintf("messages[%d].role", i),
				"role %q is not supported by bedrock; use tool messages for function results", m.Role)
		}
	}
	if len(cr.Messages) == 0 {
		return nil, badRequest("messages", "bedrock needs at least one user or assistant message")
	}
	ic := inferenceConfig{Temperature: req.Temperature, TopP: req.TopP, StopSequences: req.Stop}
	if n := req.MaxOutputTokens(); n > 0 {
		ic.MaxTokens = &n
	}
	if ic.MaxTokens != nil || ic.Temperature != nil || ic.TopP != nil || len(ic.StopSequences) > 0 {
		cr.InferenceConfig = &ic
	}
	tc, err := buildToolConfig(req, hasToolBlocks)
	if err != nil {
		return nil, err
	}
	cr.ToolConfig = tc
	return cr, applyExtra(cr, req.Extra)
}

// appendMessage adds blocks as a new message, merging into the previous one
// when it has the same role (Converse requires alternating roles).
func (cr *converseRequest) appendMessage(role string, blocks []contentBlock) {
	if len(blocks) == 0 {
		return
	}
	if n := len(cr.Messages); n > 0 && cr.Messages[n-1].Role == role {
		cr.Messages[n-1].Content = append(cr.Messages[n-1].Content, blocks...)
		return
	}
	cr.Messages = append(cr.Messages, message{Role: role, Content: blocks})
}

func textBlock(s string) contentBlock { return contentBlock{Text: &s} }

func userBlocks(i int, c schema.Content) ([]contentBlock, error) {
	if !c.IsParts {
		if strings.TrimSpace(c.Text) == "" {
			return nil, nil
		}
		return []contentBlock{textBlock(c.Text)}, nil
	}
	var out []contentBlock
	for j, p := range c.Parts {
		switch p.Type {
		case schema.PartText:
			if strings.TrimSpace(p.Text) != "" {
				out = append(out, textBlock(p.Text))
			}
		case schema.PartImageURL:
			if p.ImageURL == nil {
				return nil, badRequest(fmt.Sprintf("messages[%d].content[%d].image_url", i, j), "image_url is required")
			}
			img, err := decodeImage(p.ImageURL.URL)
			if err != nil {
				return nil, badRequest(fmt.Sprintf("messages[%d].content[%d].image_url.url", i, j), "%s", err.Error())
			}
			out = append(out, contentBlock{Image: img})
		default:
			return nil, badRequest(fmt.Sprintf("messages[%d].content[%d].type", i, j),
				"content part type %q is not supported by bedrock", p.Type)
		}
	}
	return out, nil
}

// decodeImage turns a data URI into a Converse image block. Bedrock does not
// fetch URLs, so http(s) URLs are refused.
func decodeImage(u string) (*imageBlock, error) {
	mediaType, data, ok, err := schema.ParseDataURI(u)
	if !ok {
		return nil, fmt.Errorf("bedrock does not fetch image URLs: send the image inline as a data URI (data:image/png;base64,...)")
	}
	if err != nil {
		return nil, fmt.Errorf("image data URI must be base64 encoded (data:image/png;base64,...)")
	}
	var format string
	switch strings.ToLower(mediaType) {
	case "image/png":
		format = "png"
	case "image/jpeg", "image/jpg":
		format = "jpeg"
	case "image/gif":
		format = "gif"
	case "image/webp":
		format = "webp"
	default:
		return nil, fmt.Errorf("image type %q is not supported by bedrock (png, jpeg, gif, webp)", mediaType)
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(data, "=")); err != nil {
			return nil, fmt.Errorf("image data URI is not valid base64")
		}
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("image data URI is empty")
	}
	return &imageBlock{Format: format, Source: imageSource{Bytes: b}}, nil
}

func assistantBlocks(i int, m schema.Message) ([]contentBlock, error) {
	var out []contentBlock
	if txt := m.Content.PlainText(); strings.TrimSpace(txt) != "" {
		out = append(out, textBlock(txt))
	}
	for j, tc := range m.ToolCalls {
		args := bytes.TrimSpace([]byte(tc.Function.Arguments))
		if len(args) == 0 {
			args = []byte("{}")
		}
		if !json.Valid(args) || args[0] != '{' {
			return nil, badRequest(fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j),
				"tool call arguments must be a JSON object")
		}
		if tc.ID == "" || tc.Function.Name == "" {
			return nil, badRequest(fmt.Sprintf("messages[%d].tool_calls[%d]", i, j), "tool calls need an id and a function name")
		}
		out = append(out, contentBlock{ToolUse: &toolUseBlock{ToolUseID: tc.ID, Name: tc.Function.Name, Input: json.RawMessage(args)}})
	}
	return out, nil
}

// buildToolConfig maps tools and tool_choice. tool_choice "none" drops the
// tools, unless the conversation already holds tool blocks: Converse then
// requires toolConfig, so the tools stay (with no toolChoice).
func buildToolConfig(req *schema.ChatRequest, hasToolBlocks bool) (*toolConfig, error) {
	if len(req.Tools) == 0 {
		if req.ToolChoice != nil && req.ToolChoice.Function != "" {
			return nil, badRequest("tool_choice", "tool_choice names a function but no tools are defined")
		}
		return nil, nil
	}
	tc := &toolConfig{}
	names := map[string]bool{}
	for i, t := range req.Tools {
		if t.Type != "" && t.Type != "function" {
			return nil, badRequest(fmt.Sprintf("tools[%d].type", i), "only function tools are supported")
		}
		params := bytes.TrimSpace(t.Function.Parameters)
		if len(params) == 0 || bytes.Equal(params, []byte("null")) {
			params = []byte(`{"type":"object","properties":{}}`)
		}
		if params[0] != '{' {
			return nil, badRequest(fmt.Sprintf("tools[%d].function.parameters", i), "parameters must be a JSON Schema object")
		}
		names[t.Function.Name] = true
		tc.Tools = append(tc.Tools, tool{ToolSpec: toolSpec{Name: t.Function.Name, Description: t.Function.Description,
			InputSchema: inputSchema{JSON: json.RawMessage(params)}}})
	}
	if req.ToolChoice == nil {
		return tc, nil
	}
	switch {
	case req.ToolChoice.Function != "":
		if !names[req.ToolChoice.Function] {
			return nil, badRequest("tool_choice", "tool_choice names function %q, which is not in tools", req.ToolChoice.Function)
		}
		tc.ToolChoice = &toolChoice{Tool: &toolChoiceFn{Name: req.ToolChoice.Function}}
	case req.ToolChoice.Mode == schema.ToolChoiceAuto:
		tc.ToolChoice = &toolChoice{Auto: &struct{}{}}
	case req.ToolChoice.Mode == schema.ToolChoiceRequired:
		tc.ToolChoice = &toolChoice{Any: &struct{}{}}
	case req.ToolChoice.Mode == schema.ToolChoiceNone:
		if !hasToolBlocks {
			return nil, nil
		}
	}
	return tc, nil
}

// applyExtra copies Converse-native fields a client sent (see
// passthroughFields) and maps top_k into additionalModelRequestFields.
func applyExtra(cr *converseRequest, extra map[string]json.RawMessage) error {
	for _, name := range passthroughFields {
		v, ok := extra[name]
		if !ok {
			continue
		}
		switch name {
		case "additionalModelRequestFields":
			cr.AdditionalModelRequestFields = v
		case "additionalModelResponseFieldPaths":
			cr.AdditionalModelResponseFieldPaths = v
		case "guardrailConfig":
			cr.GuardrailConfig = v
		case "performanceConfig":
			cr.PerformanceConfig = v
		case "requestMetadata":
			cr.RequestMetadata = v
		}
	}
	if topK, ok := extra["top_k"]; ok {
		fields := map[string]json.RawMessage{}
		if len(cr.AdditionalModelRequestFields) > 0 {
			if err := json.Unmarshal(cr.AdditionalModelRequestFields, &fields); err != nil {
				return badRequest("additionalModelRequestFields", "additionalModelRequestFields must be an object")
			}
		}
		if _, set := fields["top_k"]; !set {
			fields["top_k"] = topK
		}
		b, err := json.Marshal(fields)
		if err != nil {
			return fmt.Errorf("bedrock: encode additionalModelRequestFields: %w", err)
		}
		cr.AdditionalModelRequestFields = b
	}
	return nil
}
