package e2e

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
)

const chatPrompt = "Say hello to the end-to-end test"

// TestAIProviders drives every provider configuration through the real binary
// with the real OpenAI Go SDK: chat, streams (with and without usage), tool
// calls (plain and streamed), embeddings, models, errors, and the token
// metrics the policies' Done hook records.
func TestAIProviders(t *testing.T) {
	for _, tc := range aiCases() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.setup(t)
			g := startAIGateway(t, s.yaml, s.env...)
			c := sdkClient(g, clientKey)
			ledger := usageLedger{}
			plain := checkPlainChat(t, c, tc, ledger)
			t.Run("stream with usage", func(t *testing.T) { checkStreamChat(t, c, tc, plain, true, ledger) })
			t.Run("stream without usage", func(t *testing.T) { checkStreamChat(t, c, tc, plain, false, nil) })
			t.Run("tool round trip", func(t *testing.T) { checkToolRoundTrip(t, c, tc, ledger) })
			t.Run("streamed tool call", func(t *testing.T) { checkStreamedToolCall(t, c, tc, ledger) })
			for _, m := range tc.embed {
				t.Run("embeddings "+m, func(t *testing.T) { checkEmbeddings(t, c, m, ledger) })
			}
			t.Run("models", func(t *testing.T) { checkModels(t, c, tc) })
			t.Run("token metrics", func(t *testing.T) {
				// The stream without usage also reached the Done hook; the
				// ledger below counts it from the plain chat (same prompt).
				ledger.add("chat", tc.model, plain.Usage.PromptTokens, plain.Usage.CompletionTokens)
				ledger.check(t, g, tc.provider)
			})
			t.Run("unknown model", func(t *testing.T) {
				_, err := c.Chat.Completions.New(callCtx(t), openai.ChatCompletionNewParams{
					Model: "no-such-model", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
				wantAPIError(t, err, 404, "model_not_found")
			})
			if s.upstreamError != nil {
				t.Run("upstream error", func(t *testing.T) {
					prompt, status := s.upstreamError(t)
					_, err := c.Chat.Completions.New(callCtx(t), openai.ChatCompletionNewParams{
						Model: tc.model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)}})
					wantAPIError(t, err, status, "")
				})
			}
			if s.verify != nil {
				t.Run("upstream saw", s.verify)
			}
		})
	}
}

// wantAPIError checks err is an OpenAI-shaped API error with status (and code, when set).
func wantAPIError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want an *openai.Error with status %d", err, status)
	}
	if apiErr.StatusCode != status || (code != "" && apiErr.Code != code) {
		t.Errorf("status %d code %q, want %d %q (body %s)", apiErr.StatusCode, apiErr.Code, status, code, apiErr.RawJSON())
	}
	if apiErr.Message == "" || apiErr.Type == "" {
		t.Errorf("error without message or type: %s", apiErr.RawJSON())
	}
}

func checkPlainChat(t *testing.T, c openai.Client, tc aiCase, ledger usageLedger) *openai.ChatCompletion {
	t.Helper()
	res, err := c.Chat.Completions.New(callCtx(t), openai.ChatCompletionNewParams{
		Model: tc.model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(chatPrompt)}})
	if err != nil {
		t.Fatalf("plain chat: %v", err)
	}
	if len(res.Choices) != 1 || res.Choices[0].Message.Content == "" || res.Choices[0].FinishReason != "stop" {
		t.Fatalf("plain chat: %s", res.RawJSON())
	}
	u := res.Usage
	if u.PromptTokens <= 0 || u.CompletionTokens <= 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("plain chat usage = %s", res.JSON.Usage.Raw())
	}
	if res.Object != "chat.completion" || res.ID == "" {
		t.Errorf("plain chat: object %q id %q", res.Object, res.ID)
	}
	ledger.add("chat", tc.model, u.PromptTokens, u.CompletionTokens)
	return res
}

func checkStreamChat(t *testing.T, c openai.Client, tc aiCase, plain *openai.ChatCompletion, includeUsage bool, ledger usageLedger) {
	p := openai.ChatCompletionNewParams{Model: tc.model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(chatPrompt)}}
	if includeUsage {
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	}
	r := collectStream(c, callCtx(t), p)
	if r.err != nil {
		t.Fatalf("stream: %v", r.err)
	}
	if want := plain.Choices[0].Message.Content; r.text != want {
		t.Errorf("streamed text = %q, want the plain answer %q", r.text, want)
	}
	if r.finish != "stop" {
		t.Errorf("finish_reason = %q", r.finish)
	}
	if len(strings.Fields(r.text)) > 1 && r.chunks < 3 {
		t.Errorf("%d chunks for %q: the text was not streamed", r.chunks, r.text)
	}
	if !includeUsage {
		if r.usageChunks != 0 {
			t.Errorf("%d usage chunks without include_usage", r.usageChunks)
		}
		return
	}
	if r.usageChunks != 1 || !r.usageLast {
		t.Fatalf("usage chunks = %d, last = %v; want exactly one, last, with no choices", r.usageChunks, r.usageLast)
	}
	if r.usage.PromptTokens != plain.Usage.PromptTokens || r.usage.CompletionTokens != plain.Usage.CompletionTokens ||
		r.usage.TotalTokens != r.usage.PromptTokens+r.usage.CompletionTokens {
		t.Errorf("stream usage %d/%d/%d, plain %d/%d", r.usage.PromptTokens, r.usage.CompletionTokens, r.usage.TotalTokens,
			plain.Usage.PromptTokens, plain.Usage.CompletionTokens)
	}
	ledger.add("chat", tc.model, r.usage.PromptTokens, r.usage.CompletionTokens)
}

// checkArgs checks arguments are a complete JSON object naming a city.
func checkArgs(t *testing.T, args string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(args), &m); err != nil {
		t.Fatalf("tool arguments %q are not a JSON object: %v", args, err)
	}
	if _, ok := m["city"].(string); !ok {
		t.Errorf("tool arguments %q have no city", args)
	}
}

func checkToolRoundTrip(t *testing.T, c openai.Client, tc aiCase, ledger usageLedger) {
	p := openai.ChatCompletionNewParams{
		Model:    tc.model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")},
		Tools:    []openai.ChatCompletionToolUnionParam{weatherTool()},
	}
	res, err := c.Chat.Completions.New(callCtx(t), p)
	if err != nil {
		t.Fatalf("tool call: %v", err)
	}
	ch := res.Choices[0]
	if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 {
		t.Fatalf("want one tool call with finish_reason tool_calls, got %s", res.RawJSON())
	}
	call := ch.Message.ToolCalls[0]
	if call.Function.Name != "get_weather" || call.ID == "" || call.Type != "function" {
		t.Errorf("tool call = %s", call.RawJSON())
	}
	checkArgs(t, call.Function.Arguments)
	ledger.add("chat", tc.model, res.Usage.PromptTokens, res.Usage.CompletionTokens)

	p.Messages = append(p.Messages, ch.Message.ToParam(), openai.ToolMessage("Sunny, 22C", call.ID))
	res, err = c.Chat.Completions.New(callCtx(t), p)
	if err != nil {
		t.Fatalf("tool result turn: %v", err)
	}
	final := res.Choices[0]
	if final.Message.Content == "" || len(final.Message.ToolCalls) != 0 || final.FinishReason != "stop" {
		t.Errorf("final answer = %s", res.RawJSON())
	}
	if tc.toolEcho && !strings.Contains(final.Message.Content, "Sunny, 22C") {
		t.Errorf("final answer %q does not use the tool result", final.Message.Content)
	}
	ledger.add("chat", tc.model, res.Usage.PromptTokens, res.Usage.CompletionTokens)
}

func checkStreamedToolCall(t *testing.T, c openai.Client, tc aiCase, ledger usageLedger) {
	r := collectStream(c, callCtx(t), openai.ChatCompletionNewParams{
		Model:         tc.model,
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")},
		Tools:         []openai.ChatCompletionToolUnionParam{weatherTool()},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	if r.err != nil {
		t.Fatalf("stream: %v", r.err)
	}
	if r.finish != "tool_calls" || r.toolName != "get_weather" || r.toolID == "" || len(r.toolIndexes) != 1 {
		t.Fatalf("streamed tool call: finish %q name %q id %q indexes %v", r.finish, r.toolName, r.toolID, r.toolIndexes)
	}
	checkArgs(t, r.toolArgs)
	if r.usageChunks != 1 || !r.usageLast || r.usage.PromptTokens <= 0 || r.usage.CompletionTokens <= 0 {
		t.Errorf("usage chunks %d last %v usage %+v", r.usageChunks, r.usageLast, r.usage)
	}
	ledger.add("chat", tc.model, r.usage.PromptTokens, r.usage.CompletionTokens)
}

func checkEmbeddings(t *testing.T, c openai.Client, model string, ledger usageLedger) {
	in := openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"the quick brown fox", "jumps"}}
	want := 2
	if model == "titan-embed" { // Titan takes one input per request
		in, want = openai.EmbeddingNewParamsInputUnion{OfString: openai.String("the quick brown fox")}, 1
	}
	res, err := c.Embeddings.New(callCtx(t), openai.EmbeddingNewParams{Model: openai.EmbeddingModel(model), Input: in})
	if err != nil {
		t.Fatalf("embeddings: %v", err)
	}
	if len(res.Data) != want {
		t.Fatalf("%d embeddings, want %d", len(res.Data), want)
	}
	for i, d := range res.Data {
		if len(d.Embedding) == 0 || d.Index != int64(i) {
			t.Errorf("embedding %d: index %d, %d dimensions", i, d.Index, len(d.Embedding))
		}
	}
	ledger.add("embeddings", model, res.Usage.PromptTokens, 0)
}

func checkModels(t *testing.T, c openai.Client, tc aiCase) {
	page, err := c.Models.List(callCtx(t))
	if err != nil {
		t.Fatalf("models: %v", err)
	}
	got := map[string]bool{}
	for _, m := range page.Data {
		got[m.ID] = true
	}
	for _, want := range append([]string{tc.model}, tc.embed...) {
		if !got[want] {
			t.Errorf("models %v lack %q", got, want)
		}
	}
	if _, err := c.Models.Get(callCtx(t), "no-such-model"); err == nil {
		t.Error("GET /v1/models/no-such-model succeeded")
	} else {
		wantAPIError(t, err, 404, "")
	}
}
