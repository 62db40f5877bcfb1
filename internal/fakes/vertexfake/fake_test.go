package vertexfake

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

func newServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestVertexAuthAndSchema(t *testing.T) {
	s := newServer(t)
	tok := s.IssueToken()
	base := s.URL + "/v1/projects/" + s.Project + "/locations/" + s.Location + "/publishers/google/models/gemini-2.5-flash"
	good := `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`
	tests := []struct {
		name, url, token, body string
		status                 int
		contains               string
	}{
		{"ok", base + ":generateContent", tok, good, 200, `"text":"You said: hi"`},
		{"no token", base + ":generateContent", "", good, 401, "UNAUTHENTICATED"},
		{"forged token", base + ":generateContent", "ya29.forged", good, 401, "UNAUTHENTICATED"},
		{"wrong project", strings.Replace(base, s.Project, "other", 1) + ":generateContent", tok, good, 403, "PERMISSION_DENIED"},
		{"wrong location", strings.Replace(base, s.Location, "asia-east1", 1) + ":generateContent", tok, good, 404, "NOT_FOUND"},
		{"unknown field", base + ":generateContent", tok, `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"messages":[]}`, 400, "unknown field"},
		{"bad role", base + ":generateContent", tok, `{"contents":[{"role":"assistant","parts":[{"text":"hi"}]}]}`, 400, "valid role"},
		{"empty parts", base + ":generateContent", tok, `{"contents":[{"role":"user","parts":[]}]}`, 400, "parts must not be empty"},
		{"additionalProperties rejected", base + ":generateContent", tok,
			`{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT","additionalProperties":false}}]}]}`,
			400, "additionalProperties"},
		{"call without response", base + ":generateContent", tok,
			`{"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]},{"role":"user","parts":[{"text":"x"}]}]}`,
			400, "number of function response parts"},
		{"tool call", base + ":generateContent", tok,
			`{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT","properties":{"q":{"type":"STRING"}},"required":["q"]}}]}]}`,
			200, `"functionCall":{"args":{"q":"Paris"},"name":"f"}`},
		{"rate limit", base + ":generateContent", tok, `{"contents":[{"role":"user","parts":[{"text":"` + MagicRateLimit + `"}]}]}`, 429, "RESOURCE_EXHAUSTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.token != "" {
				h["Authorization"] = "Bearer " + tt.token
			}
			status, body := testutil.Post(t, tt.url, h, tt.body)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Fatalf("status %d body %s; want %d containing %q", status, body, tt.status, tt.contains)
			}
		})
	}
}

func TestGeminiAPIKey(t *testing.T) {
	s := newServer(t)
	url := s.URL + "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
	body := `{"contents":[{"role":"user","parts":[{"text":"one two"}]}]}`
	if status, _ := testutil.Post(t, url, map[string]string{"x-goog-api-key": "wrong"}, body); status != 400 {
		t.Fatalf("wrong key: status %d", status)
	}
	status, out := testutil.Post(t, url, map[string]string{"x-goog-api-key": s.APIKey}, body)
	if status != 200 || strings.Count(out, "data: ") != 4 || !strings.Contains(out, `"finishReason":"STOP"`) {
		t.Fatalf("stream: %d %s", status, out)
	}
}

func TestTokenEndpointRejectsGarbage(t *testing.T) {
	s := newServer(t)
	tests := []struct{ name, form string }{
		{"wrong grant", "grant_type=client_credentials&assertion=x"},
		{"not a jwt", "grant_type=" + strings.ReplaceAll(jwtBearerGrant, ":", "%3A") + "&assertion=abc"},
		{"unsigned jwt", "grant_type=" + strings.ReplaceAll(jwtBearerGrant, ":", "%3A") + "&assertion=eyJhbGciOiJub25lIn0.e30."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := testutil.Send(t, &schema.Upstream{Method: http.MethodPost, URL: s.TokenURL(),
				ContentType: "application/x-www-form-urlencoded", Body: []byte(tt.form)})
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
		})
	}
}

func TestAnthropicOnVertex(t *testing.T) {
	s := newServer(t)
	tok := s.IssueToken()
	base := s.URL + "/v1/projects/" + s.Project + "/locations/" + s.Location + "/publishers/anthropic/models/claude-sonnet-4-5"
	auth := map[string]string{"Authorization": "Bearer " + tok}
	msg := `"anthropic_version":"vertex-2023-10-16","max_tokens":64,"messages":[{"role":"user","content":"hi"}]`

	if status, _ := testutil.Post(t, base+":rawPredict", nil, `{`+msg+`}`); status != 401 {
		t.Fatalf("no token: status %d", status)
	}
	if status, body := testutil.Post(t, base+":rawPredict", auth, `{"model":"claude",`+msg+`}`); status != 400 || !strings.Contains(body, "invalid_request_error") {
		t.Fatalf("model in body: %d %s", status, body)
	}
	status, body := testutil.Post(t, base+":rawPredict", auth, `{`+msg+`}`)
	var m struct {
		Content []struct{ Text string } `json:"content"`
		Stop    string                  `json:"stop_reason"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &m) != nil || m.Content[0].Text != "You said: hi" || m.Stop != "end_turn" {
		t.Fatalf("rawPredict: %d %s", status, body)
	}
	status, body = testutil.Post(t, base+":streamRawPredict", auth,
		`{"stream":true,`+msg+`,"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]}`)
	for _, want := range []string{"event: message_start", "event: content_block_start", `"type":"tool_use"`, "input_json_delta",
		`"stop_reason":"tool_use"`, "event: message_stop"} {
		if !strings.Contains(body, want) {
			t.Fatalf("stream %d lacks %q:\n%s", status, want, body)
		}
	}
}
