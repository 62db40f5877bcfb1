package anthropic

import (
	"bytes"
	"encoding/json"
)

// messagesRequest is the body of POST /v1/messages (and of Vertex rawPredict,
// which has anthropic_version and no model).
type messagesRequest struct {
	AnthropicVersion string          `json:"anthropic_version,omitempty"`
	Model            string          `json:"model,omitempty"`
	System           any             `json:"system,omitempty"` // string or []contentBlock
	Messages         []message       `json:"messages"`
	MaxTokens        int             `json:"max_tokens"`
	Temperature      *float64        `json:"temperature,omitempty"`
	TopP             *float64        `json:"top_p,omitempty"`
	TopK             json.RawMessage `json:"top_k,omitempty"`
	StopSequences    []string        `json:"stop_sequences,omitempty"`
	Stream           bool            `json:"stream,omitempty"`
	Tools            []tool          `json:"tools,omitempty"`
	ToolChoice       *toolChoice     `json:"tool_choice,omitempty"`
	Metadata         *metadata       `json:"metadata,omitempty"`
}

// message is one conversation turn.
type message struct {
	Role    string         `json:"role"`
	Content []contentBlock `json:"content"`
}

// contentBlock is a request or response content block: text, image,
// tool_use, tool_result (and, in responses, thinking blocks we skip).
type contentBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Source    *imageSource    `json:"source,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   any             `json:"content,omitempty"` // tool_result: string
	IsError   bool            `json:"is_error,omitempty"`
}

// imageSource is an image block's source: base64 data or a URL.
type imageSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

// tool is a client tool definition.
type tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// toolChoice is auto, any, tool (with name) or none.
type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// metadata carries the end user's id.
type metadata struct {
	UserID string `json:"user_id,omitempty"`
}

// messagesResponse is a complete Messages API response, also the message of
// a stream's message_start event.
type messagesResponse struct {
	ID           string         `json:"id"`
	Type         string         `json:"type"`
	Role         string         `json:"role"`
	Model        string         `json:"model"`
	Content      []contentBlock `json:"content"`
	StopReason   string         `json:"stop_reason"`
	StopSequence *string        `json:"stop_sequence"`
	Usage        usage          `json:"usage"`
}

// usage is Anthropic's token usage. prompt tokens in OpenAI's sense are
// input + cache read + cache creation.
type usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// apiError is the error object of {"type":"error","error":{...}}.
type apiError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// errorBody is an Anthropic error response or stream error event.
type errorBody struct {
	Type  string    `json:"type"`
	Error *apiError `json:"error"`
}

// streamEvent is the data of one SSE event.
type streamEvent struct {
	Type         string            `json:"type"`
	Message      *messagesResponse `json:"message"`
	Index        int               `json:"index"`
	ContentBlock *contentBlock     `json:"content_block"`
	Delta        *streamDelta      `json:"delta"`
	Usage        *usage            `json:"usage"`
	Error        *apiError         `json:"error"`
}

// streamDelta is a content_block_delta's or message_delta's delta.
type streamDelta struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	PartialJSON string `json:"partial_json"`
	StopReason  string `json:"stop_reason"`
}

// marshal encodes v without HTML escaping (so "<", ">" and "&" stay readable).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
