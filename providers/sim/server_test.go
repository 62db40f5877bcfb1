package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/config"
)

func newTestServer(t *testing.T) (*httptest.Server, openai.Client) {
	t.Helper()
	srv := httptest.NewServer(NewServer(NewAdapter(counter), config.SimConfig{OutputTokens: 12},
		prometheus.NewRegistry(), WithModels("sim-a", "sim-b")))
	t.Cleanup(srv.Close)
	return srv, openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("test"), option.WithMaxRetries(0))
}

func TestServerWithOpenAIClient(t *testing.T) {
	srv, client := newTestServer(t)
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Be brief."), openai.UserMessage("hello world")}

	t.Run("chat", func(t *testing.T) {
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: msgs})
		if err != nil {
			t.Fatal(err)
		}
		text := resp.Choices[0].Message.Content
		if resp.Model != "gpt-4o" || resp.Choices[0].FinishReason != "stop" || counter.Count("gpt-4o", text) != 12 {
			t.Errorf("model %q finish %q text %q", resp.Model, resp.Choices[0].FinishReason, text)
		}
		if resp.Usage.PromptTokens != 3+1+3+3+1+2+3 || resp.Usage.CompletionTokens != 12 {
			t.Errorf("usage %+v", resp.Usage)
		}
	})
	t.Run("stream", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: msgs,
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		acc := openai.ChatCompletionAccumulator{}
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if len(acc.Choices) != 1 || counter.Count("gpt-4o", acc.Choices[0].Message.Content) != 12 ||
			acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != 12 {
			t.Errorf("accumulated %+v usage %+v", acc.Choices, acc.Usage)
		}
	})
	t.Run("embeddings", func(t *testing.T) {
		resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "text-embedding-3-small",
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 || len(resp.Data[0].Embedding) != DefaultDimensions || resp.Usage.PromptTokens != 2 {
			t.Errorf("embeddings %+v", resp)
		}
	})
	t.Run("models", func(t *testing.T) {
		page, err := client.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 2 || page.Data[0].ID != "sim-a" || page.Data[1].ID != "sim-b" {
			t.Errorf("models %+v", page.Data)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		for _, want := range []string{`vllm:num_requests_running{model_name="gpt-4o"} 0`,
			`vllm:generation_tokens_total{model_name="gpt-4o"} 24`, `vllm:kv_cache_usage_perc{model_name="gpt-4o"} 0`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("metrics lack %q:\n%s", want, b)
			}
		}
	})
}

func TestServerHTTP(t *testing.T) {
	srv, _ := newTestServer(t)
	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"bad json", "POST", "/v1/chat/completions", `{"model":`, 400, `"type":"invalid_request_error"`},
		{"no messages", "POST", "/v1/chat/completions", `{"model":"m","messages":[]}`, 400, `"param":"messages"`},
		{"bad completions json", "POST", "/v1/completions", `nope`, 400, `invalid_request_error`},
		{"wrong method", "GET", "/v1/chat/completions", "", 405, `"error"`},
		{"post models", "POST", "/v1/models", "{}", 405, `"error"`},
		{"too large", "POST", "/v1/chat/completions", `{"model":"m","messages":[],"x":"` +
			strings.Repeat("a", MaxBodyBytes) + `"}`, 413, `"error"`},
		{"unknown path", "GET", "/v2/nothing", "", 404, `not_found_error`},
		{"health", "GET", "/health", "", 200, `"ok"`},
		{"completions", "POST", "/v1/completions", `{"model":"m","prompt":"hi"}`, 200, `"text_completion"`},
		{"sse", "POST", "/v1/chat/completions", `{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
			200, "data: [DONE]\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, bytes.NewReader([]byte(tt.body)))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.contains) {
				t.Errorf("status %d body %.300s; want %d containing %q", resp.StatusCode, b, tt.status, tt.contains)
			}
			if tt.status >= 400 {
				var e struct {
					Error struct{ Message, Type string }
				}
				if json.Unmarshal(b, &e) != nil || e.Error.Message == "" {
					t.Errorf("not an OpenAI error: %s", b)
				}
			}
		})
	}
}
