// Package schema is Switchyard's common chat schema: the OpenAI Chat Completions
// shape that every front end request is normalized into and that every provider
// translator reads and writes. It is a leaf package (standard library only).
package schema

import "encoding/json"

// Operation is what a client asked for.
type Operation int

// Operations the front end serves.
const (
	OpChat Operation = iota + 1
	OpCompletion
	OpEmbeddings
)

// String returns the operation's OpenAI path name.
func (o Operation) String() string {
	switch o {
	case OpChat:
		return "chat"
	case OpCompletion:
		return "completions"
	case OpEmbeddings:
		return "embeddings"
	}
	return "unknown"
}

// ChatRequest is an OpenAI chat completion request. Fields the gateway does not
// know are kept in Extra and written back unchanged by MarshalJSON.
type ChatRequest struct {
	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *StreamOptions  `json:"stream_options,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	N                   *int            `json:"n,omitempty"`
	Stop                Stop            `json:"stop,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	User                string          `json:"user,omitempty"`
	PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
	Tools               []Tool          `json:"tools,omitempty"`
	ToolChoice          *ToolChoice     `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *ResponseFormat `json:"response_format,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
	// Extra holds every field not listed above, raw.
	Extra map[string]json.RawMessage `json:"-"`
}

// MaxOutputTokens returns max_completion_tokens, else max_tokens, else 0.
func (r *ChatRequest) MaxOutputTokens() int {
	if r.MaxCompletionTokens != nil {
		return *r.MaxCompletionTokens
	}
	if r.MaxTokens != nil {
		return *r.MaxTokens
	}
	return 0
}

// StreamOptions are OpenAI's stream_options.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Roles of chat messages.
const (
	RoleSystem    = "system"
	RoleDeveloper = "developer"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is one chat message.
type Message struct {
	Role       string     `json:"role"`
	Content    Content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	// Refusal is set on assistant messages the model refused.
	Refusal string `json:"refusal,omitempty"`
}

// Content is a message's content: a plain string or an array of parts. A null
// or absent content has neither (assistant messages with only tool calls).
type Content struct {
	Text  string
	Parts []ContentPart
	// IsParts is true when the content was (or should be written as) an array.
	IsParts bool
	// IsNull is true when the content was null or absent.
	IsNull bool
}

// PlainText returns the text of the content, joining text parts with "\n".
func (c Content) PlainText() string {
	if !c.IsParts {
		return c.Text
	}
	s := ""
	for i, p := range c.Parts {
		if p.Type != PartText {
			continue
		}
		if i > 0 && s != "" {
			s += "\n"
		}
		s += p.Text
	}
	return s
}

// Content part types.
const (
	PartText     = "text"
	PartImageURL = "image_url"
)

// ContentPart is one element of an array content.
type ContentPart struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
}

// ImageURL is an image given by URL or data URI (data:image/png;base64,...).
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// ToolCall is a function call made by the assistant.
type ToolCall struct {
	// Index is set in streamed deltas only.
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function FunctionCall `json:"function"`
}

// FunctionCall is a called function's name and JSON arguments (as a string).
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// Tool is a tool definition; only type "function" exists today.
type Tool struct {
	Type     string      `json:"type"`
	Function FunctionDef `json:"function"`
}

// FunctionDef describes a callable function; Parameters is a JSON Schema.
type FunctionDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// Tool choice modes.
const (
	ToolChoiceNone     = "none"
	ToolChoiceAuto     = "auto"
	ToolChoiceRequired = "required"
)

// ToolChoice is "none", "auto", "required", or a named function
// ({"type":"function","function":{"name":...}}), in which case Function is set.
type ToolChoice struct {
	Mode     string
	Function string
}

// ResponseFormat is OpenAI's response_format.
type ResponseFormat struct {
	Type       string          `json:"type"`
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

// Stop is the stop field: a string or an array of strings, kept as a list.
type Stop []string
