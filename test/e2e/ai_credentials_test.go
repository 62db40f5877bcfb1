package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/switchyard-ai/switchyard/internal/fakes/anthropicfake"
	"github.com/switchyard-ai/switchyard/internal/fakes/bedrockfake"
	"github.com/switchyard-ai/switchyard/internal/fakes/openaifake"
)

// TestAIWrongCredentials checks that a wrong upstream credential in the
// gateway's configuration or environment reaches the client as an error, for
// plain and streamed chats, never as a 200.
func TestAIWrongCredentials(t *testing.T) {
	tests := []struct {
		name   string
		model  string
		status int // 0: any error status
		setup  func(t *testing.T) (yaml string, env []string, upstreamSaw func() int)
	}{
		{name: "bedrock wrong AWS secret", model: "claude-sonnet", status: 403,
			setup: func(t *testing.T) (string, []string, func() int) {
				f := bedrockfake.New(bedrockfake.Options{})
				t.Cleanup(f.Close)
				yaml := aiGatewayYAML(fmt.Sprintf(`  - name: claude
    ai: {provider: bedrock, region: %s, baseURL: %s, models: [claude-sonnet], model: "anthropic.claude-3-5-sonnet-20240620-v1:0", auth: {aws: {}}}
`, bedrockfake.TestRegion, f.URL), "claude")
				// Requests with a bad signature are rejected before they are recorded.
				return yaml, bedrockEnv(t, "wrong/secret+key0000000000000000000000"), func() int { return len(f.Requests()) }
			}},
		{name: "vertex wrong service-account key", model: "gemini-flash", status: 502,
			setup: func(t *testing.T) (string, []string, func() int) {
				f := newVertexFake(t)
				other := newVertexFake(t)
				// A well-formed key file whose private key the token endpoint does not know.
				b, err := other.CredentialsJSON()
				if err != nil {
					t.Fatal(err)
				}
				b = bytes.ReplaceAll(b, []byte(other.URL), []byte(f.URL))
				creds := filepath.Join(t.TempDir(), "wrong-sa.json")
				if err := os.WriteFile(creds, b, 0o600); err != nil {
					t.Fatal(err)
				}
				return aiGatewayYAML(vertexYAML(f, "gemini", "gemini-flash", "gemini-2.5-flash", creds), "gemini"), nil,
					func() int { return f.Count("vertex") }
			}},
		{name: "gemini wrong API key", model: "gemini-flash", status: 400,
			setup: func(t *testing.T) (string, []string, func() int) {
				f := newVertexFake(t)
				return aiGatewayYAML(fmt.Sprintf(`  - name: gemini
    ai: {provider: gemini, baseURL: %s, models: [gemini-flash], model: gemini-2.5-flash, auth: {apiKey: "wrong-key"}}
`, f.URL), "gemini"), nil, func() int { return -1 }
			}},
		{name: "anthropic wrong key", model: "claude-sonnet", status: 401,
			setup: func(t *testing.T) (string, []string, func() int) {
				f := anthropicfake.New(anthropicK)
				t.Cleanup(f.Close)
				return aiGatewayYAML(fmt.Sprintf(`  - name: claude
    ai: {provider: anthropic, baseURL: %s, models: [claude-sonnet], model: claude-sonnet-4-5-20250929, auth: {apiKey: "sk-ant-wrong"}}
`, f.URL), "claude"), nil, func() int { return -1 }
			}},
		{name: "openai wrong key", model: "gpt-4o-mini", status: 401,
			setup: func(t *testing.T) (string, []string, func() int) {
				f := openaifake.New(t, openaifake.Options{APIKey: upstreamKey})
				return aiGatewayYAML(fmt.Sprintf(`  - name: oa
    ai: {provider: openai, baseURL: %s, models: [gpt-4o-mini], auth: {apiKey: "sk-wrong"}}
`, f.URL), "oa"), nil, func() int { return -1 }
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			yaml, env, upstreamSaw := tt.setup(t)
			g := startAIGateway(t, yaml, env...)
			c := sdkClient(g, clientKey)
			p := openai.ChatCompletionNewParams{Model: tt.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}}
			_, err := c.Chat.Completions.New(callCtx(t), p)
			var apiErr *openai.Error
			if err == nil {
				t.Fatal("chat succeeded with a wrong credential")
			}
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want an OpenAI-shaped error", err)
			}
			if apiErr.StatusCode < 400 || (tt.status != 0 && apiErr.StatusCode != tt.status) {
				t.Errorf("status %d, want %d (body %s)", apiErr.StatusCode, tt.status, apiErr.RawJSON())
			}
			t.Logf("client got %d: %s", apiErr.StatusCode, apiErr.Message)
			r := collectStream(c, callCtx(t), p)
			if r.err == nil || r.text != "" {
				t.Errorf("stream with a wrong credential: err %v text %q", r.err, r.text)
			}
			if n := upstreamSaw(); n > 0 {
				t.Errorf("the upstream accepted %d requests", n)
			}
			if bytes.Contains([]byte(g.Logs()), []byte("wrong/secret+key")) || bytes.Contains([]byte(g.Logs()), []byte("sk-ant-wrong")) {
				t.Error("a secret appeared in the gateway's logs")
			}
		})
	}
}
