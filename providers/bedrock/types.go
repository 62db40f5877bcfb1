package bedrock

import "encoding/json"

// The Converse API's JSON shapes (only what the translator writes or reads).
// They mirror github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types, whose
// union types do not marshal to the wire format by themselves.

type converseRequest struct {
	Messages                          []message        `json:"messages"`
	System                            []systemBlock    `json:"system,omitempty"`
	InferenceConfig                   *inferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig                        *toolConfig      `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields      json.RawMessage  `json:"additionalModelRequestFields,omitempty"`
	AdditionalModelResponseFieldPaths json.RawMessage  `json:"additionalModelResponseFieldPaths,omitempty"`
	GuardrailConfig                   json.RawMessage  `json:"guardrailConfig,omitempty"`
	PerformanceConfig                 json.RawMessage  `json:"performanceConfig,omitempty"`
	RequestMetadata                   json.RawMessage  `json:"requestMetadata,omitempty"`
}

type message struct {
	Role    string         `json:"role"`
	Content []contentBlock `json:"content"`
}

type contentBlock struct {
	Text       *string          `json:"text,omitempty"`
	Image      *imageBlock      `json:"image,omitempty"`
	ToolUse    *toolUseBlock    `json:"toolUse,omitempty"`
	ToolResult *toolResultBlock `json:"toolResult,omitempty"`
}

type imageBlock struct {
	Format string      `json:"format"`
	Source imageSource `json:"source"`
}

type imageSource struct {
	// Bytes is base64 in the JSON wire format.
	Bytes []byte `json:"bytes"`
}

type toolUseBlock struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type toolResultBlock struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []toolResultContent `json:"content"`
	Status    string              `json:"status,omitempty"`
}

type toolResultContent struct {
	Text *string         `json:"text,omitempty"`
	JSON json.RawMessage `json:"json,omitempty"`
}

type systemBlock struct {
	Text string `json:"text"`
}

type inferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type toolConfig struct {
	Tools      []tool      `json:"tools"`
	ToolChoice *toolChoice `json:"toolChoice,omitempty"`
}

type tool struct {
	ToolSpec toolSpec `json:"toolSpec"`
}

type toolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema inputSchema `json:"inputSchema"`
}

type inputSchema struct {
	JSON json.RawMessage `json:"json"`
}

type toolChoice struct {
	Auto *struct{}     `json:"auto,omitempty"`
	Any  *struct{}     `json:"any,omitempty"`
	Tool *toolChoiceFn `json:"tool,omitempty"`
}

type toolChoiceFn struct {
	Name string `json:"name"`
}

// converseResponse is the Converse API's response.
type converseResponse struct {
	Output struct {
		Message *converseMessage `json:"message"`
	} `json:"output"`
	StopReason string     `json:"stopReason"`
	Usage      tokenUsage `json:"usage"`
}

// converseMessage is the output message of a Converse response.
type converseMessage struct {
	Role    string          `json:"role"`
	Content []converseBlock `json:"content"`
}

// converseBlock is one content block of the output message.
type converseBlock struct {
	Text             *string         `json:"text"`
	ToolUse          *toolUseBlock   `json:"toolUse"`
	ReasoningContent json.RawMessage `json:"reasoningContent"`
}

// tokenUsage is Bedrock's TokenUsage. inputTokens excludes cache reads and writes.
type tokenUsage struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	TotalTokens           int `json:"totalTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens"`
}

// Stream event payloads (ConverseStream).

type contentBlockStartEvent struct {
	ContentBlockIndex int `json:"contentBlockIndex"`
	Start             struct {
		ToolUse *struct {
			ToolUseID string `json:"toolUseId"`
			Name      string `json:"name"`
		} `json:"toolUse"`
	} `json:"start"`
}

type contentBlockDeltaEvent struct {
	ContentBlockIndex int `json:"contentBlockIndex"`
	Delta             struct {
		Text    *string `json:"text"`
		ToolUse *struct {
			Input string `json:"input"`
		} `json:"toolUse"`
		ReasoningContent json.RawMessage `json:"reasoningContent"`
	} `json:"delta"`
}

type contentBlockStopEvent struct {
	ContentBlockIndex int `json:"contentBlockIndex"`
}

type messageStopEvent struct {
	StopReason string `json:"stopReason"`
}

type metadataEvent struct {
	Usage *tokenUsage `json:"usage"`
}

// vendorError is Bedrock's error body ({"message":...}, sometimes "Message").
type vendorError struct {
	Message  string `json:"message"`
	MessageU string `json:"Message"`
}
