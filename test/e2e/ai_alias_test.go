package e2e

import (
	"errors"
	"fmt"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/internal/fakes/anthropicfake"
	"github.com/switchyard-ai/switchyard/internal/fakes/bedrockfake"
)

// TestAIAliasListedInModels uses the shape of examples/anthropic.yaml and
// examples/bedrock.yaml: a client-facing name in both `models` and `aliases`.
// The upstream must be asked for the alias target, not the client's name.
func TestAIAliasListedInModels(t *testing.T) {
	t.Run("anthropic chat", func(t *testing.T) {
		f := anthropicfake.New(anthropicK)
		t.Cleanup(f.Close)
		g := startAIGateway(t, aiGatewayYAML(fmt.Sprintf(`  - name: claude
    ai: {provider: anthropic, baseURL: %s, models: [claude-sonnet], aliases: {claude-sonnet: claude-sonnet-4-5-20250929}, auth: {apiKey: "%s"}}
`, f.URL, anthropicK), "claude"))
		c := sdkClient(g, clientKey)
		if _, err := c.Chat.Completions.New(callCtx(t), openai.ChatCompletionNewParams{Model: "claude-sonnet",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}); err != nil {
			t.Fatal(err)
		}
		reqs := f.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%d upstream requests", len(reqs))
		}
		if got := gjson.GetBytes(reqs[0].Body, "model").String(); got != "claude-sonnet-4-5-20250929" {
			t.Errorf("upstream model = %q, want the alias target claude-sonnet-4-5-20250929", got)
		}
	})
	t.Run("bedrock embeddings", func(t *testing.T) {
		f := bedrockfake.New(bedrockfake.Options{})
		t.Cleanup(f.Close)
		g := startAIGateway(t, aiGatewayYAML(fmt.Sprintf(`  - name: titan
    ai: {provider: bedrock, region: %s, baseURL: %s, models: [titan-embed], aliases: {titan-embed: "amazon.titan-embed-text-v2:0"}, auth: {aws: {}}}
`, bedrockfake.TestRegion, f.URL), "titan"), bedrockEnv(t, bedrockfake.TestSecretAccessKey)...)
		c := sdkClient(g, clientKey)
		res, err := c.Embeddings.New(callCtx(t), openai.EmbeddingNewParams{Model: "titan-embed",
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")}})
		var apiErr *openai.Error
		if errors.As(err, &apiErr) {
			t.Fatalf("embeddings through an alias listed in models: %d %s", apiErr.StatusCode, apiErr.RawJSON())
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Data) != 1 {
			t.Errorf("%d embeddings", len(res.Data))
		}
	})
}
