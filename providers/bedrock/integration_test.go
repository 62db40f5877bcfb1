package bedrock_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/bedrockfake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/bedrock"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// result is what one round trip through translator, signer and fake gave.
type result struct {
	body   []byte
	chunks []schema.ChatChunk
	usage  schema.Usage
	err    error
}

// roundTrip runs translator.Request -> signer.Sign -> POST to the fake ->
// translator.Response or Stream, as the router does.
func roundTrip(t *testing.T, fake *bedrockfake.Server, secret string, op schema.Operation, raw string) result {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	b := &config.AIBackend{Provider: config.ProviderBedrock, Region: bedrockfake.TestRegion, BaseURL: fake.URL}
	signer, err := auth.NewAWSSigner(context.Background(), &config.AWSAuth{AccessKeyID: bedrockfake.TestAccessKeyID,
		SecretAccessKey: config.Secret(secret)}, b.Region)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := bedrock.New().NewTranslator(op, b)
	if err != nil {
		t.Fatal(err)
	}
	up, err := tr.Request([]byte(raw), nil)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if err := signer.Sign(context.Background(), up, auth.ClientCredentials{}); err != nil {
		t.Fatal(err)
	}
	resp := testutil.Do(t, up)
	defer resp.Body.Close()
	var r result
	if up.Stream && resp.StatusCode == http.StatusOK {
		r.usage, r.err = tr.Stream(resp.Body, func(c []byte) error {
			var ch schema.ChatChunk
			if err := json.Unmarshal(c, &ch); err != nil {
				return err
			}
			r.chunks = append(r.chunks, ch)
			return nil
		})
		return r
	}
	r.body, r.usage, r.err = tr.Response(resp.StatusCode, testutil.ReadBody(t, resp))
	return r
}

func TestIntegrationChat(t *testing.T) {
	fake := bedrockfake.New(bedrockfake.Options{})
	defer fake.Close()
	r := roundTrip(t, fake, bedrockfake.TestSecretAccessKey, schema.OpChat,
		`{"model":"anthropic.claude-3-5-sonnet-20240620-v1:0","messages":[{"role":"system","content":"be nice"},{"role":"user","content":"hi"}]}`)
	if r.err != nil {
		t.Fatal(r.err)
	}
	var resp schema.ChatResponse
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content.Text != bedrockfake.DefaultText || resp.Choices[0].FinishReason != "stop" || r.usage.TotalTokens == 0 {
		t.Errorf("response = %s", r.body)
	}
	if got := fake.Requests()[0].RawPath; got != "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse" {
		t.Errorf("path = %s", got)
	}
}

func TestIntegrationStreamToolCall(t *testing.T) {
	fake := bedrockfake.New(bedrockfake.Options{})
	defer fake.Close()
	r := roundTrip(t, fake, bedrockfake.TestSecretAccessKey, schema.OpChat, `{"model":"m","stream":true,
		"messages":[{"role":"user","content":"weather in Paris?"}],
		"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}}}}}]}`)
	if r.err != nil {
		t.Fatal(r.err)
	}
	var args, finish string
	var id string
	for _, ch := range r.chunks {
		for _, c := range ch.Choices {
			for _, tc := range c.Delta.ToolCalls {
				if tc.ID != "" {
					id = tc.ID
				}
				args += tc.Function.Arguments
			}
			if c.FinishReason != nil {
				finish = *c.FinishReason
			}
		}
	}
	if args != `{"city":"Paris","days":3}` || id == "" || finish != "tool_calls" {
		t.Errorf("args %q id %q finish %q", args, id, finish)
	}
	last := r.chunks[len(r.chunks)-1]
	if len(last.Choices) != 0 || last.Usage == nil || r.usage.CompletionTokens != 12 {
		t.Errorf("last chunk %+v usage %+v", last, r.usage)
	}
}

func TestIntegrationStreamThrottle(t *testing.T) {
	fake := bedrockfake.New(bedrockfake.Options{})
	defer fake.Close()
	r := roundTrip(t, fake, bedrockfake.TestSecretAccessKey, schema.OpChat,
		`{"model":"m","stream":true,"messages":[{"role":"user","content":"hi `+bedrockfake.TriggerThrottle+`"}]}`)
	var se *schema.Error
	if !errors.As(r.err, &se) || se.Status != http.StatusTooManyRequests || len(r.chunks) != 2 {
		t.Fatalf("err = %v after %d chunks, want 429 after role and first delta", r.err, len(r.chunks))
	}
}

func TestIntegrationWrongCredential(t *testing.T) {
	fake := bedrockfake.New(bedrockfake.Options{})
	defer fake.Close()
	r := roundTrip(t, fake, "wrong-secret", schema.OpChat, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	var se *schema.Error
	if !errors.As(r.err, &se) || se.Status != http.StatusForbidden || !strings.Contains(se.Message, "signature we calculated does not match") {
		t.Fatalf("err = %v, want 403 signature mismatch", r.err)
	}
}

func TestIntegrationEmbeddings(t *testing.T) {
	fake := bedrockfake.New(bedrockfake.Options{})
	defer fake.Close()
	tests := []struct {
		name, raw string
		wantN     int
		wantDims  int
	}{
		{name: "titan", raw: `{"model":"amazon.titan-embed-text-v2:0","input":"hello there","dimensions":256}`, wantN: 1, wantDims: 256},
		{name: "cohere", raw: `{"model":"cohere.embed-multilingual-v3","input":["a","b","c"]}`, wantN: 3, wantDims: bedrockfake.CohereDimensions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := roundTrip(t, fake, bedrockfake.TestSecretAccessKey, schema.OpEmbeddings, tc.raw)
			if r.err != nil {
				t.Fatal(r.err)
			}
			var resp schema.EmbeddingResponse
			if err := json.Unmarshal(r.body, &resp); err != nil {
				t.Fatal(err)
			}
			if len(resp.Data) != tc.wantN || len(resp.Data[tc.wantN-1].Embedding) != tc.wantDims || resp.Data[tc.wantN-1].Index != tc.wantN-1 {
				t.Errorf("got %d embeddings", len(resp.Data))
			}
		})
	}
}
