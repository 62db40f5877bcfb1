package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/internal/fakes/anthropicfake"
	"github.com/switchyard-ai/switchyard/internal/fakes/bedrockfake"
	"github.com/switchyard-ai/switchyard/internal/fakes/openaifake"
	"github.com/switchyard-ai/switchyard/internal/fakes/vertexfake"
)

// Keys used across the AI end-to-end tests.
const (
	clientKey   = "sk-client-e2e"   // what clients send to the gateway
	upstreamKey = "sk-upstream-e2e" // what the gateway's config holds
	anthropicK  = "sk-ant-e2e"
)

// aiCase is one provider configuration behind the gateway.
type aiCase struct {
	name     string
	provider string   // gen_ai_provider_name in metrics
	model    string   // client-facing chat model
	embed    []string // client-facing embedding models (none: the provider has no embeddings)
	// toolEcho: the final answer after a tool result quotes it.
	toolEcho bool
	setup    func(t *testing.T) aiSetup
}

// aiSetup is a started fake and the gateway configuration that reaches it.
type aiSetup struct {
	yaml string
	env  []string
	// upstreamError arranges for the next chat with prompt to fail upstream
	// with the given client-visible status.
	upstreamError func(t *testing.T) (prompt string, status int)
	// verify checks what the fake received, after every call.
	verify func(t *testing.T)
}

// bedrockEnv is the gateway's environment for the bedrock fake.
func bedrockEnv(t *testing.T, secret string) []string {
	dir := t.TempDir()
	return []string{
		"AWS_ACCESS_KEY_ID=" + bedrockfake.TestAccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_SESSION_TOKEN=",
		"AWS_REGION=" + bedrockfake.TestRegion,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PROFILE=",
		"AWS_CONFIG_FILE=" + dir + "/config",
		"AWS_SHARED_CREDENTIALS_FILE=" + dir + "/credentials",
	}
}

func newVertexFake(t *testing.T) *vertexfake.Server {
	t.Helper()
	f, err := vertexfake.New(vertexfake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// vertexYAML is a vertex backend reaching f with the credentials file creds.
func vertexYAML(f *vertexfake.Server, name, model, upstream, creds string) string {
	return fmt.Sprintf(`  - name: %s
    ai:
      provider: vertex
      project: %s
      region: %s
      baseURL: %s
      models: [%s]
      model: "%s"
      auth: {gcp: {credentialsFile: %s}}
`, name, f.Project, f.Location, f.URL, model, upstream, creds)
}

// aiCases are the provider configurations every SDK test runs against.
func aiCases() []aiCase {
	return []aiCase{
		{name: "openai", provider: "openai", model: "gpt-4o-mini", embed: []string{"text-embedding-3-small"}, toolEcho: true,
			setup: func(t *testing.T) aiSetup {
				f := openaifake.New(t, openaifake.Options{APIKey: upstreamKey})
				return aiSetup{
					yaml: aiGatewayYAML(fmt.Sprintf(`  - name: oa
    ai: {provider: openai, baseURL: %s, models: [gpt-4o-mini, text-embedding-3-small], auth: {apiKey: "%s"}}
`, f.URL, upstreamKey), "oa"),
					upstreamError: func(t *testing.T) (string, int) {
						f.SetFault(openaifake.Fault{Status: 400})
						t.Cleanup(func() { f.SetFault(openaifake.Fault{}) })
						return "fail please", 400
					},
					verify: func(t *testing.T) {
						reqs := f.Requests()
						if len(reqs) == 0 {
							t.Fatal("the openai fake saw no request")
						}
						for i, r := range reqs {
							if got := r.Header.Get("Authorization"); got != "Bearer "+upstreamKey {
								t.Errorf("request %d %s: Authorization %q, want the gateway's configured key", i, r.Path, got)
							}
						}
					},
				}
			}},
		{name: "openai-passthrough", provider: "openai-compatible", model: "llama-pass", toolEcho: true,
			setup: func(t *testing.T) aiSetup {
				f := openaifake.New(t, openaifake.Options{APIKey: clientKey})
				return aiSetup{
					yaml: aiGatewayYAML(fmt.Sprintf(`  - name: pass
    ai: {provider: openai-compatible, baseURL: %s/v1, models: [llama-pass], auth: {passthrough: true}}
`, f.URL), "pass"),
					upstreamError: func(t *testing.T) (string, int) {
						f.SetFault(openaifake.Fault{Status: 422})
						t.Cleanup(func() { f.SetFault(openaifake.Fault{}) })
						return "fail please", 422
					},
					verify: func(t *testing.T) {
						for i, r := range f.Requests() {
							if got := r.Header.Get("Authorization"); got != "Bearer "+clientKey {
								t.Errorf("request %d: Authorization %q, want the client's key forwarded", i, got)
							}
						}
					},
				}
			}},
		{name: "bedrock", provider: "bedrock", model: "claude-sonnet", embed: []string{"titan-embed", "cohere-embed"}, toolEcho: true,
			setup: func(t *testing.T) aiSetup {
				f := bedrockfake.New(bedrockfake.Options{})
				t.Cleanup(f.Close)
				back := func(name, model, upstream string) string {
					return fmt.Sprintf(`  - name: %s
    ai: {provider: bedrock, region: %s, baseURL: %s, models: [%s], model: "%s", auth: {aws: {}}}
`, name, bedrockfake.TestRegion, f.URL, model, upstream)
				}
				return aiSetup{
					yaml: aiGatewayYAML(back("claude", "claude-sonnet", "anthropic.claude-3-5-sonnet-20240620-v1:0")+
						back("titan", "titan-embed", "amazon.titan-embed-text-v2:0")+
						back("cohere", "cohere-embed", "cohere.embed-english-v3"), "claude", "titan", "cohere"),
					env: bedrockEnv(t, bedrockfake.TestSecretAccessKey),
					upstreamError: func(*testing.T) (string, int) {
						return "please " + bedrockfake.TriggerThrottle, 429
					},
					verify: func(t *testing.T) {
						ops := map[string]int{}
						for _, r := range f.Requests() {
							ops[r.Op]++
							if want := map[string]bool{"anthropic.claude-3-5-sonnet-20240620-v1:0": r.Op != "invoke",
								"amazon.titan-embed-text-v2:0": r.Op == "invoke", "cohere.embed-english-v3": r.Op == "invoke"}; !want[r.ModelID] {
								t.Errorf("bedrock %s: upstream model %q", r.Op, r.ModelID)
							}
							if !strings.Contains(r.Header.Get("Authorization"), "Credential="+bedrockfake.TestAccessKeyID+"/") {
								t.Errorf("bedrock %s: Authorization %q is not SigV4 with the test key", r.Op, r.Header.Get("Authorization"))
							}
						}
						if ops["converse"] == 0 || ops["converse-stream"] == 0 || ops["invoke"] == 0 {
							t.Errorf("bedrock operations seen: %v", ops)
						}
					},
				}
			}},
		{name: "vertex-gemini", provider: "vertex", model: "gemini-flash", toolEcho: false,
			setup: func(t *testing.T) aiSetup {
				return vertexSetup(t, "gemini", "gemini-flash", "gemini-2.5-flash", "vertex", "/publishers/google/models/")
			}},
		{name: "vertex-claude", provider: "vertex", model: "claude-vertex", toolEcho: true,
			setup: func(t *testing.T) aiSetup {
				return vertexSetup(t, "claude", "claude-vertex", "claude-sonnet-4-5@20250929", "anthropic", "/publishers/anthropic/models/")
			}},
		{name: "gemini", provider: "gemini", model: "gemini-flash", toolEcho: false,
			setup: func(t *testing.T) aiSetup {
				f := newVertexFake(t)
				return aiSetup{
					yaml: aiGatewayYAML(fmt.Sprintf(`  - name: gemini
    ai: {provider: gemini, baseURL: %s, models: [gemini-flash], model: gemini-2.5-flash, auth: {apiKey: "%s"}}
`, f.URL, f.APIKey), "gemini"),
					upstreamError: func(*testing.T) (string, int) {
						return "please " + vertexfake.MagicRateLimit, 429
					},
					verify: func(t *testing.T) {
						wantUpstreamPath(t, f, "gemini", "/v1beta/models/gemini-2.5-flash:")
						if f.Count("gemini") == 0 {
							t.Error("the gemini API fake saw no request")
						}
					},
				}
			}},
		{name: "anthropic", provider: "anthropic", model: "claude-sonnet", toolEcho: true,
			setup: func(t *testing.T) aiSetup {
				f := anthropicfake.New(anthropicK)
				t.Cleanup(f.Close)
				return aiSetup{
					yaml: aiGatewayYAML(fmt.Sprintf(`  - name: claude
    ai: {provider: anthropic, baseURL: %s, models: [claude-sonnet], model: claude-sonnet-4-5-20250929, auth: {apiKey: "%s"}}
`, f.URL, anthropicK), "claude"),
					upstreamError: func(*testing.T) (string, int) {
						f.FailNext(1, anthropicfake.Failure{Status: 529, Type: "overloaded_error", Message: "Overloaded"})
						return "fail please", 503
					},
					verify: func(t *testing.T) {
						reqs := f.Requests()
						if len(reqs) == 0 {
							t.Fatal("the anthropic fake saw no request")
						}
						for i, r := range reqs {
							if m := gjson.GetBytes(r.Body, "model").String(); m != "claude-sonnet-4-5-20250929" {
								t.Errorf("request %d: upstream model %q", i, m)
							}
							if r.Header.Get("x-api-key") != anthropicK || r.Header.Get("anthropic-version") == "" {
								t.Errorf("request %d: x-api-key/anthropic-version not set by the gateway", i)
							}
						}
					},
				}
			}},
		{name: "sim", provider: "sim", model: "sim-chat", embed: []string{"sim-embed"}, toolEcho: false,
			setup: func(t *testing.T) aiSetup {
				return aiSetup{yaml: aiGatewayYAML(`  - name: sim
    ai: {provider: sim, models: [sim-chat, sim-embed], sim: {outputTokens: 12}}
`, "sim")}
			}},
	}
}

// wantUpstreamPath checks every request of kind went to a path containing part.
func wantUpstreamPath(t *testing.T, f *vertexfake.Server, kind, part string) {
	t.Helper()
	for _, r := range f.Requests() {
		if r.Kind == kind && !strings.Contains(r.Path, part) {
			t.Errorf("%s request to %s, want a path containing %s", kind, r.Path, part)
		}
	}
}

// vertexSetup is a Vertex AI backend `backend` serving model as upstream on a
// fresh vertexfake with service-account credentials; kind is the fake's
// request counter ("vertex" for Gemini, "anthropic" for Claude) and publisher
// the URL path the upstream call must carry before the model.
func vertexSetup(t *testing.T, backend, model, upstream, kind, publisher string) aiSetup {
	f := newVertexFake(t)
	creds, err := f.WriteCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return aiSetup{
		yaml: aiGatewayYAML(vertexYAML(f, backend, model, upstream, creds), backend),
		upstreamError: func(*testing.T) (string, int) {
			return "please " + vertexfake.MagicRateLimit, 429
		},
		verify: func(t *testing.T) {
			wantUpstreamPath(t, f, kind, publisher+upstream+":")
			if f.Count("token") == 0 || f.Count(kind) == 0 {
				t.Errorf("vertex fake: %d token requests, %d %s requests", f.Count("token"), f.Count(kind), kind)
			}
		},
	}
}
