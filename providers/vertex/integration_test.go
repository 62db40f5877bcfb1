package vertex_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/vertexfake"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/providers/vertex"
)

// call runs one attempt end to end: Request -> Sign -> POST -> Response/Stream.
// It returns the OpenAI body (or the chunks as a JSON array) and the error.
func call(t *testing.T, a providers.Adapter, b *config.AIBackend, s auth.Signer, raw string) ([]byte, []schema.ChatChunk, error) {
	t.Helper()
	ctx := context.Background()
	tr, err := a.NewTranslator(schema.OpChat, b)
	if err != nil {
		t.Fatal(err)
	}
	up, err := tr.Request([]byte(raw), nil)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if err := s.Sign(ctx, up, auth.ClientCredentials{}); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	resp := testutil.Do(t, up)
	defer resp.Body.Close()
	if !up.Stream || resp.StatusCode/100 != 2 {
		out, _, err := tr.Response(resp.StatusCode, testutil.ReadBody(t, resp))
		return out, nil, err
	}
	var chunks []schema.ChatChunk
	_, err = tr.Stream(resp.Body, func(c []byte) error {
		var ch schema.ChatChunk
		if err := json.Unmarshal(c, &ch); err != nil {
			t.Fatalf("chunk: %v", err)
		}
		chunks = append(chunks, ch)
		return nil
	})
	return nil, chunks, err
}

func setup(t *testing.T) (*vertexfake.Server, *config.AIBackend, auth.Signer) {
	t.Helper()
	f, err := vertexfake.New(vertexfake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	path, err := f.WriteCredentials(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := auth.NewGCPSigner(context.Background(), &config.GCPAuth{CredentialsFile: path})
	if err != nil {
		t.Fatal(err)
	}
	b := &config.AIBackend{Provider: config.ProviderVertex, Project: f.Project, Region: f.Location, BaseURL: f.URL}
	return f, b, s
}

const weatherTool = `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","additionalProperties":false,"properties":{"city":{"type":"string"}},"required":["city"]}}}]`

func TestIntegrationVertex(t *testing.T) {
	f, b, s := setup(t)
	a := vertex.NewAdapter()

	t.Run("chat", func(t *testing.T) {
		out, _, err := call(t, a, b, s, `{"model":"gemini-2.5-flash","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello there"}]}`)
		if err != nil {
			t.Fatal(err)
		}
		var r schema.ChatResponse
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		if r.Choices[0].Message.Content.Text != "You said: hello there" || r.Choices[0].FinishReason != "stop" || r.Usage.TotalTokens == 0 {
			t.Fatalf("response: %s", out)
		}
	})

	var callID, args string
	t.Run("tools stream", func(t *testing.T) {
		_, chunks, err := call(t, a, b, s, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"weather in Paris?"}],`+weatherTool+`}`)
		if err != nil {
			t.Fatal(err)
		}
		var finish string
		for _, c := range chunks {
			for _, ch := range c.Choices {
				for _, tc := range ch.Delta.ToolCalls {
					if tc.ID != "" {
						callID = tc.ID
					}
					args += tc.Function.Arguments
				}
				if ch.FinishReason != nil {
					finish = *ch.FinishReason
				}
			}
		}
		if finish != "tool_calls" || args != `{"city":"Paris"}` || callID == "" {
			t.Fatalf("finish %q, args %q, id %q", finish, args, callID)
		}
		if last := chunks[len(chunks)-1]; len(last.Choices) != 0 || last.Usage == nil || last.Usage.TotalTokens == 0 {
			t.Fatalf("no usage chunk last: %+v", last)
		}
	})

	t.Run("after tool result stream", func(t *testing.T) {
		raw := `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"weather in Paris?"},` +
			`{"role":"assistant","content":null,"tool_calls":[{"id":"` + callID + `","type":"function","function":{"name":"get_weather","arguments":` + jsonString(args) + `}}]},` +
			`{"role":"tool","tool_call_id":"` + callID + `","content":"{\"temp\":18}"}],` + weatherTool + `}`
		_, chunks, err := call(t, a, b, s, raw)
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		for _, c := range chunks {
			for _, ch := range c.Choices {
				if ch.Delta.Content != nil {
					text.WriteString(*ch.Delta.Content)
				}
			}
		}
		if text.String() != `The tool get_weather returned {"temp":18}.` {
			t.Fatalf("text = %q", text.String())
		}
	})

	t.Run("mid-stream error", func(t *testing.T) {
		_, chunks, err := call(t, a, b, s, `{"model":"gemini-2.5-flash","stream":true,"messages":[{"role":"user","content":"please `+vertexfake.MagicError+` now"}]}`)
		var se *schema.Error
		if !errors.As(err, &se) || se.Status != 500 || len(chunks) < 2 {
			t.Fatalf("err = %v after %d chunks", err, len(chunks))
		}
	})

	t.Run("wrong project", func(t *testing.T) {
		bad := *b
		bad.Project = "someone-else"
		_, _, err := call(t, a, &bad, s, `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`)
		var se *schema.Error
		if !errors.As(err, &se) || se.Status != 403 {
			t.Fatalf("err = %v, want 403", err)
		}
	})

	t.Run("wrong bearer token", func(t *testing.T) {
		_, _, err := call(t, a, b, auth.NewKeySigner("Authorization", "Bearer ", "ya29.forged"),
			`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`)
		var se *schema.Error
		if !errors.As(err, &se) || se.Status != 401 || se.Type != schema.ErrAuthentication {
			t.Fatalf("err = %v, want 401", err)
		}
	})

	if n := f.Count("token"); n != 1 {
		t.Errorf("token endpoint called %d times, want 1 (cached)", n)
	}
}

func TestIntegrationGemini(t *testing.T) {
	f, _, _ := setup(t)
	a := vertex.NewGeminiAdapter()
	b := &config.AIBackend{Provider: config.ProviderGemini, BaseURL: f.URL}
	out, _, err := call(t, a, b, auth.NewKeySigner("x-goog-api-key", "", f.APIKey),
		`{"model":"gemini-2.5-flash","max_tokens":3,"messages":[{"role":"user","content":"one two three four five"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	var r schema.ChatResponse
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	if r.Choices[0].FinishReason != "length" || r.Choices[0].Message.Content.Text != "You said: one" {
		t.Fatalf("response: %s", out)
	}
	_, _, err = call(t, a, b, auth.NewKeySigner("x-goog-api-key", "", "wrong"),
		`{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`)
	var se *schema.Error
	if !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Message, "API key not valid") {
		t.Fatalf("wrong key: err = %v", err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
