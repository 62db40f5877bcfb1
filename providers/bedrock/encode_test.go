package bedrock

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// TestAppendConverseMatchesMarshal checks the hand-written encoder of the
// Converse request against json.Marshal, byte for byte, on the translation
// of every golden request and on requests that set every member.
func TestAppendConverseMatchesMarshal(t *testing.T) {
	files, err := filepath.Glob("testdata/*.request.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden requests: %v", err)
	}
	var crs []*converseRequest
	for _, f := range files {
		req, err := schema.ParseChatRequest(testutil.ReadFile(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cr, err := buildConverse(req)
		if err != nil {
			continue // a golden error case
		}
		crs = append(crs, cr)
	}
	text, max, temp, topP := "r <&> \u2028 \xff", 5, 1e-7, 0.9
	crs = append(crs,
		&converseRequest{},
		&converseRequest{Messages: []message{{Role: "user"}}, ToolConfig: &toolConfig{ToolChoice: &toolChoice{
			Auto: &struct{}{}, Any: &struct{}{}, Tool: &toolChoiceFn{Name: "f"}}}},
		&converseRequest{
			Messages: []message{{Role: "user", Content: []contentBlock{
				{Text: &text, Image: &imageBlock{Format: "png", Source: imageSource{Bytes: []byte{0, 1, 2, 255}}}},
				{Image: &imageBlock{Format: "gif"}},
				{ToolUse: &toolUseBlock{ToolUseID: "t<1>", Name: "n", Input: json.RawMessage(` { "a" : "<b>" } `)}},
				{ToolUse: &toolUseBlock{}},
				{ToolResult: &toolResultBlock{ToolUseID: "t", Status: "error", Content: []toolResultContent{
					{Text: &text, JSON: json.RawMessage(`[1, 2]`)}, {JSON: json.RawMessage(`{}`)}, {}}}},
				{ToolResult: &toolResultBlock{}},
			}}},
			System:          []systemBlock{{Text: "a"}, {Text: "\"b\"\n"}},
			InferenceConfig: &inferenceConfig{MaxTokens: &max, Temperature: &temp, TopP: &topP, StopSequences: []string{"x", "</s>"}},
			ToolConfig: &toolConfig{Tools: []tool{{ToolSpec: toolSpec{Name: "f", Description: "d & e",
				InputSchema: inputSchema{JSON: json.RawMessage(`{"type": "object"}`)}}}, {}}},
			AdditionalModelRequestFields:      json.RawMessage(`{"top_k": 5}`),
			AdditionalModelResponseFieldPaths: json.RawMessage(`["/a"]`),
			GuardrailConfig:                   json.RawMessage(`{"g":1}`),
			PerformanceConfig:                 json.RawMessage(`{"latency":"optimized"}`),
			RequestMetadata:                   json.RawMessage(`{"k":"v"}`),
		},
		&converseRequest{InferenceConfig: &inferenceConfig{TopP: &topP}, ToolConfig: &toolConfig{Tools: []tool{}}},
		&converseRequest{InferenceConfig: &inferenceConfig{Temperature: new(math.MaxFloat64)}},
	)
	for i, cr := range crs {
		want, err := json.Marshal(cr)
		if err != nil {
			t.Fatalf("case %d: json.Marshal: %v", i, err)
		}
		if got := appendConverse(nil, cr); !bytes.Equal(got, want) {
			t.Errorf("case %d:\ngot  %s\nwant %s", i, got, want)
		}
	}
}
