package ai

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/openaifake"
)

func openaiBackend(fake *openaifake.Server, models ...string) config.AIBackend {
	return config.AIBackend{Provider: config.ProviderOpenAI, BaseURL: fake.URL, Models: models,
		Auth: config.BackendAuth{APIKey: "upstream-key"}}
}

func TestSDKChat(t *testing.T) {
	fake := openaifake.New(t, openaifake.Options{APIKey: "upstream-key", CachedTokens: 2, ReasoningTokens: 1,
		Header: map[string]string{"x-ratelimit-remaining-requests": "99"}})
	h := newHarness(t, []backendSpec{{name: "oa", ai: openaiBackend(fake, "gpt-4o-mini")}}, Options{})
	c := h.sdk()
	res, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != "Hello from gpt-4o-mini!" {
		t.Errorf("content = %q", got)
	}
	if res.Usage.TotalTokens == 0 || res.Usage.PromptTokensDetails.CachedTokens != 2 {
		t.Errorf("usage = %+v", res.Usage)
	}
	up := fake.LastRequest()
	if got := up.Header.Get("Authorization"); got != "Bearer upstream-key" {
		t.Errorf("upstream Authorization = %q, want the backend key", got)
	}
	if up.Header.Get("X-Request-Id") != "req-test" {
		t.Errorf("upstream X-Request-Id = %q", up.Header.Get("X-Request-Id"))
	}
	d := h.rec.next(t)
	if d.x.Backend != "default/oa" || d.x.Model != "gpt-4o-mini" || d.x.Status != 200 || d.x.Stream {
		t.Errorf("exchange = %+v", d.x)
	}
	if d.u.TotalTokens != int(res.Usage.TotalTokens) || d.u.Cached() != 2 || d.u.Reasoning() != 1 {
		t.Errorf("done usage = %+v", d.u)
	}
	// Headers, through a raw request.
	status, hdr, _ := h.do(t, "POST", "/v1/chat/completions", "application/json",
		[]byte(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
	if status != 200 || string(hdr.Peek(HeaderBackend)) != "default/oa" || string(hdr.Peek("x-ratelimit-remaining-requests")) != "99" {
		t.Errorf("status %d, headers:\n%s", status, hdr.Header())
	}
}

func TestSDKStream(t *testing.T) {
	fake := openaifake.New(t, openaifake.Options{APIKey: "upstream-key", Reply: "one two three four five", CachedTokens: 3})
	h := newHarness(t, []backendSpec{{name: "oa", ai: openaiBackend(fake, "gpt-4o-mini")}}, Options{})
	c := h.sdk()
	tests := []struct {
		name         string
		includeUsage bool
	}{
		{name: "gateway asks for usage", includeUsage: false},
		{name: "client asks for usage", includeUsage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := openai.ChatCompletionNewParams{
				Model:    "gpt-4o-mini",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count")},
			}
			if tt.includeUsage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			st := c.Chat.Completions.NewStreaming(context.Background(), p)
			var text strings.Builder
			chunks, usageChunks := 0, 0
			for st.Next() {
				ch := st.Current()
				chunks++
				if len(ch.Choices) == 0 {
					usageChunks++
					continue
				}
				text.WriteString(ch.Choices[0].Delta.Content)
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
			if text.String() != "one two three four five" {
				t.Errorf("text = %q", text.String())
			}
			wantUsageChunks := 0
			if tt.includeUsage {
				wantUsageChunks = 1
			}
			if usageChunks != wantUsageChunks || chunks != 7+wantUsageChunks {
				t.Errorf("chunks = %d, usage chunks = %d", chunks, usageChunks)
			}
			if !gjson.GetBytes(fake.LastRequest().Body, "stream_options.include_usage").Bool() {
				t.Error("upstream was not asked for usage")
			}
			d := h.rec.next(t)
			if !d.x.Stream || d.u.PromptTokens == 0 || d.u.CompletionTokens != 5 || d.u.Cached() != 3 || d.x.FirstByte.IsZero() {
				t.Errorf("done = %+v usage %+v", d.x, d.u)
			}
		})
	}
}

func TestSDKToolRoundTrip(t *testing.T) {
	fake := openaifake.New(t, openaifake.Options{APIKey: "upstream-key"})
	h := newHarness(t, []backendSpec{{name: "oa", ai: openaiBackend(fake, "gpt-4o-mini")}}, Options{})
	c := h.sdk()
	p := openai.ChatCompletionNewParams{
		Model:    "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
			Name:       "get_weather",
			Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
		})},
	}
	res, err := c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	calls := res.Choices[0].Message.ToolCalls
	if len(calls) != 1 || calls[0].Function.Name != "get_weather" || res.Choices[0].FinishReason != "tool_calls" {
		t.Fatalf("tool calls = %+v", calls)
	}
	p.Messages = append(p.Messages, res.Choices[0].Message.ToParam(), openai.ToolMessage("sunny, 21C", calls[0].ID))
	res, err = c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Choices[0].Message.Content; got != "The tool said: sunny, 21C" {
		t.Errorf("final = %q", got)
	}
}

func TestSDKEmbeddingsAndModels(t *testing.T) {
	fake := openaifake.New(t, openaifake.Options{APIKey: "upstream-key"})
	h := newHarness(t, []backendSpec{
		{name: "oa", ai: openaiBackend(fake, "text-embedding-3-small", "gpt-4o-mini")},
		{name: "alias", ai: config.AIBackend{Provider: config.ProviderOpenAICompatible, BaseURL: fake.URL + "/v1",
			Aliases: map[string]string{"fast": "gpt-4o-mini"}, Models: []string{"llama"}, Auth: config.BackendAuth{APIKey: "upstream-key"}}},
	}, Options{})
	c := h.sdk()
	emb, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a b", "c"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Data) != 2 || len(emb.Data[0].Embedding) != 8 || emb.Usage.PromptTokens != 3 {
		t.Errorf("embeddings = %+v", emb)
	}
	page, err := c.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "fast,gpt-4o-mini,llama,text-embedding-3-small" {
		t.Errorf("models = %v", ids)
	}
	m, err := c.Models.Get(context.Background(), "fast")
	if err != nil || m.ID != "fast" {
		t.Errorf("get model = %+v, %v", m, err)
	}
	// An alias is rewritten to its upstream model.
	if _, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "fast", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}}); err != nil {
		t.Fatal(err)
	}
	if got := gjson.GetBytes(fake.LastRequest().Body, "model").String(); got != "gpt-4o-mini" {
		t.Errorf("upstream model = %q", got)
	}
}

func TestSDKErrors(t *testing.T) {
	fake := openaifake.New(t, openaifake.Options{APIKey: "other-key"})
	h := newHarness(t, []backendSpec{{name: "oa", ai: openaiBackend(fake, "gpt-4o-mini")}}, Options{})
	c := h.sdk()
	tests := []struct {
		name   string
		model  string
		status int
		code   string
	}{
		{name: "unknown model", model: "gpt-9", status: 404, code: "model_not_found"},
		{name: "upstream rejects key", model: "gpt-4o-mini", status: 401, code: "invalid_api_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: tt.model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *openai.Error", err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Code != tt.code {
				t.Errorf("status %d code %q, want %d %q", apiErr.StatusCode, apiErr.Code, tt.status, tt.code)
			}
		})
	}
}
