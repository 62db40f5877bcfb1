package vertex

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Gemini roles.
const (
	roleUser  = "user"
	roleModel = "model"
)

// Request implements [providers.Translator.Request].
func (t *translator) Request(raw []byte, req *schema.ChatRequest) (*schema.Upstream, error) {
	if req == nil {
		var err error
		if req, err = schema.ParseChatRequest(raw); err != nil {
			return nil, err
		}
	}
	gr, err := buildRequest(req)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(gr)
	if err != nil {
		return nil, schema.Errorf(500, schema.ErrServer, "%s: encode request: %v", t.flavor, err)
	}
	t.model, t.stream = req.Model, req.Stream
	return &schema.Upstream{
		Method:      "POST",
		URL:         t.endpoint(req.Model, req.Stream),
		ContentType: "application/json",
		Body:        body,
		Stream:      req.Stream,
	}, nil
}

// buildRequest translates an OpenAI chat request into a GenerateContentRequest.
func buildRequest(req *schema.ChatRequest) (*generateRequest, error) {
	gr := &generateRequest{}
	toolNames := map[string]string{} // tool_call_id -> function name, from earlier assistant turns
	for i, m := range req.Messages {
		switch m.Role {
		case schema.RoleSystem, schema.RoleDeveloper:
			if text := m.Content.PlainText(); text != "" {
				if gr.SystemInstruction == nil {
					gr.SystemInstruction = &content{}
				}
				gr.SystemInstruction.Parts = append(gr.SystemInstruction.Parts, part{Text: text})
			}
		case schema.RoleUser:
			parts, err := userParts(i, m.Content)
			if err != nil {
				return nil, err
			}
			gr.Contents = appendTurn(gr.Contents, roleUser, parts)
		case schema.RoleAssistant:
			parts, err := assistantParts(i, m, toolNames)
			if err != nil {
				return nil, err
			}
			gr.Contents = appendTurn(gr.Contents, roleModel, parts)
		case schema.RoleTool, "function":
			name := toolNames[m.ToolCallID]
			if name == "" {
				name = m.Name
			}
			if name == "" {
				return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
					Param:   fmt.Sprintf("messages[%d].tool_call_id", i),
					Message: fmt.Sprintf("tool_call_id %q does not match a tool call of an earlier assistant message", m.ToolCallID)}
			}
			p := part{FunctionResponse: &functionResponse{Name: name, Response: toolResponse(m.Content.PlainText())}}
			gr.Contents = appendTurn(gr.Contents, roleUser, []part{p})
		default:
			return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
				Param: fmt.Sprintf("messages[%d].role", i), Message: fmt.Sprintf("invalid role %q", m.Role)}
		}
	}
	if len(gr.Contents) == 0 {
		return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest, Param: "messages",
			Message: "messages must contain at least one user or assistant message with content"}
	}
	if err := addTools(gr, req); err != nil {
		return nil, err
	}
	gc, err := buildGenerationConfig(req)
	if err != nil {
		return nil, err
	}
	gr.GenerationConfig = gc
	return gr, nil
}

// appendTurn adds parts as a turn of role, merging with the previous turn of
// the same role (Gemini wants alternating turns; tool results join one turn).
func appendTurn(cs []content, role string, parts []part) []content {
	if len(parts) == 0 {
		return cs
	}
	if n := len(cs); n > 0 && cs[n-1].Role == role {
		cs[n-1].Parts = append(cs[n-1].Parts, parts...)
		return cs
	}
	return append(cs, content{Role: role, Parts: parts})
}

// userParts translates a user message's content.
func userParts(i int, c schema.Content) ([]part, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []part{{Text: c.Text}}, nil
	}
	var parts []part
	for j, p := range c.Parts {
		switch p.Type {
		case schema.PartText:
			if p.Text != "" {
				parts = append(parts, part{Text: p.Text})
			}
		case schema.PartImageURL:
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
					Param: fmt.Sprintf("messages[%d].content[%d].image_url", i, j), Message: "image_url.url is required"}
			}
			ip, err := imagePart(p.ImageURL.URL)
			if err != nil {
				return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
					Param: fmt.Sprintf("messages[%d].content[%d].image_url.url", i, j), Message: err.Error()}
			}
			parts = append(parts, ip)
		default:
			return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
				Param:   fmt.Sprintf("messages[%d].content[%d].type", i, j),
				Message: fmt.Sprintf("content part type %q is not supported by this provider", p.Type)}
		}
	}
	return parts, nil
}

// assistantParts translates an assistant message: its text, then one
// functionCall per tool call. It records each call's id and name in names.
func assistantParts(i int, m schema.Message, names map[string]string) ([]part, error) {
	var parts []part
	if text := m.Content.PlainText(); text != "" {
		parts = append(parts, part{Text: text})
	}
	for j, tc := range m.ToolCalls {
		if tc.Function.Name == "" {
			return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
				Param: fmt.Sprintf("messages[%d].tool_calls[%d].function.name", i, j), Message: "function name is required"}
		}
		args := bytes.TrimSpace([]byte(tc.Function.Arguments))
		if len(args) == 0 {
			args = []byte("{}")
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(args, &obj); err != nil || obj == nil {
			return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
				Param:   fmt.Sprintf("messages[%d].tool_calls[%d].function.arguments", i, j),
				Message: "function arguments must be a JSON object"}
		}
		if tc.ID != "" {
			names[tc.ID] = tc.Function.Name
		}
		parts = append(parts, part{
			FunctionCall:     &functionCall{Name: tc.Function.Name, Args: json.RawMessage(args)},
			ThoughtSignature: signatureFromID(tc.ID),
		})
	}
	return parts, nil
}

// toolResponse makes a functionResponse.response object from a tool result: a
// JSON object is sent as is, anything else as {"content": text}.
func toolResponse(text string) json.RawMessage {
	trimmed := bytes.TrimSpace([]byte(text))
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		return json.RawMessage(trimmed)
	}
	b, _ := json.Marshal(map[string]string{"content": text})
	return b
}

// addTools translates tools and tool_choice.
func addTools(gr *generateRequest, req *schema.ChatRequest) error {
	if len(req.Tools) == 0 {
		return nil
	}
	decls := make([]functionDeclaration, 0, len(req.Tools))
	for i, tl := range req.Tools {
		if tl.Type != "" && tl.Type != "function" {
			return &schema.Error{Status: 400, Type: schema.ErrInvalidRequest, Param: fmt.Sprintf("tools[%d].type", i),
				Message: fmt.Sprintf("tool type %q is not supported by this provider", tl.Type)}
		}
		if tl.Function.Name == "" {
			return &schema.Error{Status: 400, Type: schema.ErrInvalidRequest, Param: fmt.Sprintf("tools[%d].function.name", i),
				Message: "function name is required"}
		}
		params, err := convertSchema(tl.Function.Parameters, true)
		if err != nil {
			return &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
				Param: fmt.Sprintf("tools[%d].function.parameters", i), Message: err.Error()}
		}
		decls = append(decls, functionDeclaration{Name: tl.Function.Name, Description: tl.Function.Description, Parameters: params})
	}
	gr.Tools = []tool{{FunctionDeclarations: decls}}
	if tc := req.ToolChoice; tc != nil {
		fc := functionCallingConfig{}
		switch tc.Mode {
		case schema.ToolChoiceNone:
			fc.Mode = "NONE"
		case schema.ToolChoiceRequired:
			fc.Mode = "ANY"
		case "function":
			fc.Mode, fc.AllowedFunctionNames = "ANY", []string{tc.Function}
		default:
			fc.Mode = "AUTO"
		}
		gr.ToolConfig = &toolConfig{FunctionCallingConfig: fc}
	}
	return nil
}

// buildGenerationConfig translates sampling, length, stop and response_format.
func buildGenerationConfig(req *schema.ChatRequest) (*generationConfig, error) {
	gc := &generationConfig{
		Temperature:      req.Temperature,
		TopP:             req.TopP,
		StopSequences:    req.Stop,
		CandidateCount:   req.N,
		Seed:             req.Seed,
		PresencePenalty:  req.PresencePenalty,
		FrequencyPenalty: req.FrequencyPenalty,
	}
	if n := req.MaxOutputTokens(); n > 0 {
		gc.MaxOutputTokens = &n
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "", "text":
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			gc.ResponseMimeType = "application/json"
			var js struct {
				Schema json.RawMessage `json:"schema"`
			}
			if len(rf.JSONSchema) > 0 {
				if err := json.Unmarshal(rf.JSONSchema, &js); err != nil {
					return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
						Param: "response_format.json_schema", Message: "json_schema must be an object"}
				}
			}
			s, err := convertSchema(js.Schema, false)
			if err != nil {
				return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest,
					Param: "response_format.json_schema.schema", Message: err.Error()}
			}
			gc.ResponseSchema = s
		default:
			return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest, Param: "response_format.type",
				Message: fmt.Sprintf("response_format type %q is not supported", rf.Type)}
		}
	}
	if isEmptyConfig(gc) {
		return nil, nil
	}
	return gc, nil
}

func isEmptyConfig(gc *generationConfig) bool {
	return gc.Temperature == nil && gc.TopP == nil && gc.MaxOutputTokens == nil && len(gc.StopSequences) == 0 &&
		gc.CandidateCount == nil && gc.Seed == nil && gc.PresencePenalty == nil && gc.FrequencyPenalty == nil &&
		gc.ResponseMimeType == "" && len(gc.ResponseSchema) == 0
}

// mimeByExt maps a URL's file extension to a MIME type for fileData parts
// (image/jpeg when unknown).
func mimeByExt(ext string) string {
	switch ext {
	case ".png":
		return "image/png"
	case ".webp":
		return "image/webp"
	case ".gif":
		return "image/gif"
	case ".heic":
		return "image/heic"
	case ".heif":
		return "image/heif"
	case ".pdf":
		return "application/pdf"
	}
	return "image/jpeg"
}

// imagePart turns an image URL into inlineData (data URI) or fileData
// (http, https and gs URLs, which Vertex fetches itself).
func imagePart(u string) (part, error) {
	if mime, data, ok, err := schema.ParseDataURI(u); ok {
		if err != nil {
			return part{}, fmt.Errorf("image data URI must be base64 encoded (data:<mime>;base64,<data>)")
		}
		if mime == "" {
			return part{}, fmt.Errorf("image data URI needs a MIME type")
		}
		return part{InlineData: &blob{MimeType: mime, Data: data}}, nil
	}
	lower := strings.ToLower(u)
	if !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "gs://") {
		return part{}, fmt.Errorf("image URL must be a data URI or an http(s) or gs:// URL")
	}
	path := lower
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	mime := mimeByExt("")
	if i := strings.LastIndexByte(path, '.'); i >= 0 && !strings.Contains(path[i:], "/") {
		mime = mimeByExt(path[i:])
	}
	return part{FileData: &fileData{MimeType: mime, FileURI: u}}, nil
}
