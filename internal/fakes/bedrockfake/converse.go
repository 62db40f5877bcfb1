package bedrockfake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// The Converse request, strictly: unknown fields are rejected.
type converseRequest struct {
	Messages                          []message         `json:"messages"`
	System                            []systemBlock     `json:"system"`
	InferenceConfig                   *inferenceConfig  `json:"inferenceConfig"`
	ToolConfig                        *toolConfig       `json:"toolConfig"`
	AdditionalModelRequestFields      json.RawMessage   `json:"additionalModelRequestFields"`
	AdditionalModelResponseFieldPaths []string          `json:"additionalModelResponseFieldPaths"`
	GuardrailConfig                   json.RawMessage   `json:"guardrailConfig"`
	PerformanceConfig                 json.RawMessage   `json:"performanceConfig"`
	PromptVariables                   json.RawMessage   `json:"promptVariables"`
	RequestMetadata                   map[string]string `json:"requestMetadata"`
}

type message struct {
	Role    string         `json:"role"`
	Content []contentBlock `json:"content"`
}

type contentBlock struct {
	Text             *string          `json:"text,omitempty"`
	Image            *imageBlock      `json:"image,omitempty"`
	ToolUse          *toolUseBlock    `json:"toolUse,omitempty"`
	ToolResult       *toolResultBlock `json:"toolResult,omitempty"`
	Document         json.RawMessage  `json:"document,omitempty"`
	CachePoint       json.RawMessage  `json:"cachePoint,omitempty"`
	ReasoningContent json.RawMessage  `json:"reasoningContent,omitempty"`
}

type imageBlock struct {
	Format string `json:"format"`
	Source struct {
		Bytes string `json:"bytes"`
	} `json:"source"`
}

type toolUseBlock struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type toolResultBlock struct {
	ToolUseID string `json:"toolUseId"`
	Content   []struct {
		Text  *string         `json:"text,omitempty"`
		JSON  json.RawMessage `json:"json,omitempty"`
		Image *imageBlock     `json:"image,omitempty"`
	} `json:"content"`
	Status string `json:"status,omitempty"`
}

type systemBlock struct {
	Text       *string         `json:"text,omitempty"`
	CachePoint json.RawMessage `json:"cachePoint,omitempty"`
}

type inferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens"`
	Temperature   *float64 `json:"temperature"`
	TopP          *float64 `json:"topP"`
	StopSequences []string `json:"stopSequences"`
}

type toolConfig struct {
	Tools []struct {
		ToolSpec *struct {
			Name        string `json:"name"`
			Description string `json:"description"`
			InputSchema struct {
				JSON json.RawMessage `json:"json"`
			} `json:"inputSchema"`
		} `json:"toolSpec"`
		CachePoint json.RawMessage `json:"cachePoint,omitempty"`
	} `json:"tools"`
	ToolChoice *struct {
		Auto *struct{} `json:"auto"`
		Any  *struct{} `json:"any"`
		Tool *struct {
			Name string `json:"name"`
		} `json:"tool"`
	} `json:"toolChoice"`
}

var toolNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// Bedrock's own wording, capital and full stop included.
		//lint:ignore ST1005 matches the service's message
		return fmt.Errorf("Malformed input request: %v, please reformat your input and try again.", err)

	}
	return nil
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	return json.Valid(raw)
}

// validate checks what the Converse API checks and returns the first violation.
func (req *converseRequest) validate() string {
	if len(req.Messages) == 0 {
		return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	}
	seenToolUse := map[string]bool{}
	usesTools := false
	for i, m := range req.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return fmt.Sprintf("1 validation error detected: Value '%s' at 'messages.%d.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]", m.Role, i+1)
		}
		if i == 0 && m.Role != "user" {
			return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
		}
		if i > 0 && req.Messages[i-1].Role == m.Role {
			return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
		}
		if len(m.Content) == 0 {
			return fmt.Sprintf("The content field in the Message object at messages.%d is empty. Add a ContentBlock object to the content field and try again.", i)
		}
		for j, c := range m.Content {
			if msg := c.validate(i, j, m.Role, seenToolUse); msg != "" {
				return msg
			}
			if c.ToolUse != nil || c.ToolResult != nil {
				usesTools = true
			}
		}
	}
	for i, s := range req.System {
		if (s.Text == nil) == (s.CachePoint == nil) || (s.Text != nil && strings.TrimSpace(*s.Text) == "") {
			return fmt.Sprintf("The text field in the SystemContentBlock object at system.%d is blank. Add text to the text field, and try again.", i)
		}
	}
	if ic := req.InferenceConfig; ic != nil {
		switch {
		case ic.MaxTokens != nil && *ic.MaxTokens < 1:
			return "1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"
		case ic.Temperature != nil && (*ic.Temperature < 0 || *ic.Temperature > 1):
			return "1 validation error detected: Value at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value between 0 and 1"
		case ic.TopP != nil && (*ic.TopP < 0 || *ic.TopP > 1):
			return "1 validation error detected: Value at 'inferenceConfig.topP' failed to satisfy constraint: Member must have value between 0 and 1"
		case len(ic.StopSequences) > 4:
			return "1 validation error detected: Value at 'inferenceConfig.stopSequences' failed to satisfy constraint: Member must have length less than or equal to 4"
		}
	}
	if usesTools && req.ToolConfig == nil {
		return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
	}
	if tc := req.ToolConfig; tc != nil {
		if len(tc.Tools) == 0 {
			return "1 validation error detected: Value at 'toolConfig.tools' failed to satisfy constraint: Member must have length greater than or equal to 1"
		}
		names := map[string]bool{}
		for i, t := range tc.Tools {
			if t.ToolSpec == nil {
				continue
			}
			if !toolNameRE.MatchString(t.ToolSpec.Name) {
				return fmt.Sprintf("1 validation error detected: Value at 'toolConfig.tools.%d.member.toolSpec.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+", i+1)
			}
			if !isObject(t.ToolSpec.InputSchema.JSON) {
				return fmt.Sprintf("The value at toolConfig.tools.%d.toolSpec.inputSchema.json must be a JSON object.", i)
			}
			names[t.ToolSpec.Name] = true
		}
		if ch := tc.ToolChoice; ch != nil {
			n := 0
			for _, set := range []bool{ch.Auto != nil, ch.Any != nil, ch.Tool != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				return "toolChoice must set exactly one of auto, any or tool."
			}
			if ch.Tool != nil && !names[ch.Tool.Name] {
				return fmt.Sprintf("The tool %s in toolChoice is not defined in toolConfig.tools.", ch.Tool.Name)
			}
		}
	}
	return ""
}

func (c contentBlock) validate(i, j int, role string, seenToolUse map[string]bool) string {
	n := 0
	for _, set := range []bool{c.Text != nil, c.Image != nil, c.ToolUse != nil, c.ToolResult != nil,
		c.Document != nil, c.CachePoint != nil, c.ReasoningContent != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Sprintf("The ContentBlock object at messages.%d.content.%d must set exactly one member.", i, j)
	}
	switch {
	case c.Text != nil && strings.TrimSpace(*c.Text) == "":
		return fmt.Sprintf("The text field in the ContentBlock object at messages.%d.content.%d is blank. Add text to the text field, and try again.", i, j)
	case c.Image != nil:
		return validateImage(c.Image, fmt.Sprintf("messages.%d.content.%d.image", i, j))
	case c.ToolUse != nil:
		if role != "assistant" {
			return "toolUse content blocks are only allowed in assistant messages."
		}
		if c.ToolUse.ToolUseID == "" || c.ToolUse.Name == "" || !isObject(c.ToolUse.Input) {
			return fmt.Sprintf("The toolUse at messages.%d.content.%d needs toolUseId, name and an object input.", i, j)
		}
		seenToolUse[c.ToolUse.ToolUseID] = true
	case c.ToolResult != nil:
		if role != "user" {
			return "toolResult content blocks are only allowed in user messages."
		}
		tr := c.ToolResult
		if !seenToolUse[tr.ToolUseID] {
			return fmt.Sprintf("The toolResult at messages.%d.content.%d references toolUseId %q that no earlier toolUse has.", i, j, tr.ToolUseID)
		}
		if len(tr.Content) == 0 {
			return fmt.Sprintf("The toolResult at messages.%d.content.%d has no content.", i, j)
		}
		for _, rc := range tr.Content {
			if (rc.Text != nil) == (rc.JSON != nil) && rc.Image == nil {
				return "A ToolResultContentBlock must set exactly one of text, json or image."
			}
		}
		if tr.Status != "" && tr.Status != "success" && tr.Status != "error" {
			return "toolResult status must be success or error."
		}
	}
	return ""
}

func validateImage(img *imageBlock, at string) string {
	switch img.Format {
	case "png", "jpeg", "gif", "webp":
	default:
		return fmt.Sprintf("1 validation error detected: Value '%s' at '%s.format' failed to satisfy constraint: Member must satisfy enum value set: [gif, jpeg, png, webp]", img.Format, at)
	}
	b, err := base64.StdEncoding.DecodeString(img.Source.Bytes)
	if err != nil || len(b) == 0 {
		return fmt.Sprintf("The image bytes at %s.source.bytes are not valid base64.", at)
	}
	return ""
}

// lastUserText returns the text blocks of the last user message.
func (req *converseRequest) lastUserText() string {
	last := req.Messages[len(req.Messages)-1]
	var parts []string
	for _, c := range last.Content {
		if c.Text != nil {
			parts = append(parts, *c.Text)
		}
	}
	return strings.Join(parts, " ")
}

func (s *Server) decodeConverse(w http.ResponseWriter, body []byte) (*converseRequest, bool) {
	var req converseRequest
	if err := decodeStrict(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return nil, false
	}
	if msg := req.validate(); msg != "" {
		writeError(w, http.StatusBadRequest, "ValidationException", msg)
		return nil, false
	}
	return &req, true
}

func (s *Server) converse(w http.ResponseWriter, _ string, body []byte) {
	req, ok := s.decodeConverse(w, body)
	if !ok {
		return
	}
	if strings.Contains(req.lastUserText(), TriggerThrottle) {
		writeError(w, http.StatusTooManyRequests, "ThrottlingException", "Too many requests, please wait before trying again.")
		return
	}
	rep := s.reply(req)
	var content []map[string]any
	if rep.toolName != "" {
		content = append(content, map[string]any{"toolUse": map[string]any{
			"toolUseId": rep.toolID, "name": rep.toolName, "input": json.RawMessage(rep.toolInput)}})
	} else {
		content = append(content, map[string]any{"text": strings.Join(rep.words, "")})
	}
	writeJSON(w, map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
		"stopReason": rep.stopReason,
		"usage":      rep.usage(),
		"metrics":    map[string]any{"latencyMs": 42},
	})
}
