package vertex

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

func TestEndpoints(t *testing.T) {
	tests := []struct {
		name    string
		adapter *Adapter
		backend config.AIBackend
		model   string
		stream  bool
		want    string
	}{
		{name: "vertex regional", adapter: NewAdapter(), backend: config.AIBackend{Project: "p1", Region: "europe-west4"},
			model: "gemini-2.5-flash",
			want:  "https://europe-west4-aiplatform.googleapis.com/v1/projects/p1/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent"},
		{name: "vertex global stream", adapter: NewAdapter(), backend: config.AIBackend{Project: "p1", Region: "global"},
			model: "gemini-3-pro-preview", stream: true,
			want: "https://aiplatform.googleapis.com/v1/projects/p1/locations/global/publishers/google/models/gemini-3-pro-preview:streamGenerateContent?alt=sse"},
		{name: "vertex base override", adapter: NewAdapter(), backend: config.AIBackend{Project: "p1", Region: "us-central1", BaseURL: "http://127.0.0.1:9999/"},
			model: "gemini-2.5-flash",
			want:  "http://127.0.0.1:9999/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"},
		{name: "gemini default", adapter: NewGeminiAdapter(), model: "models/gemini-2.5-flash",
			want: "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"},
		{name: "gemini override stream", adapter: NewGeminiAdapter(), backend: config.AIBackend{BaseURL: "http://localhost:1"},
			model: "gemini-2.5-flash", stream: true,
			want: "http://localhost:1/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestTranslator(t, tt.adapter, &tt.backend)
			raw := `{"model":"` + tt.model + `","stream":` + map[bool]string{true: "true", false: "false"}[tt.stream] +
				`,"messages":[{"role":"user","content":"hi"}]}`
			up, err := tr.Request([]byte(raw), nil)
			if err != nil {
				t.Fatal(err)
			}
			if up.URL != tt.want || up.Stream != tt.stream {
				t.Fatalf("URL = %s (stream %v)\nwant  %s", up.URL, up.Stream, tt.want)
			}
		})
	}
}

func TestNewTranslatorErrors(t *testing.T) {
	if _, err := NewAdapter().NewTranslator(schema.OpEmbeddings, testBackend()); err == nil {
		t.Fatal("embeddings accepted")
	}
	if _, err := NewAdapter().NewTranslator(schema.OpChat, &config.AIBackend{Region: "us-central1"}); err == nil {
		t.Fatal("vertex without project accepted")
	}
	if _, err := NewGeminiAdapter().NewTranslator(schema.OpChat, &config.AIBackend{}); err != nil {
		t.Fatalf("gemini without project: %v", err)
	}
}

func TestToolChoice(t *testing.T) {
	tests := []struct {
		choice string
		want   string
	}{
		{`"auto"`, `{"functionCallingConfig":{"mode":"AUTO"}}`},
		{`"none"`, `{"functionCallingConfig":{"mode":"NONE"}}`},
		{`"required"`, `{"functionCallingConfig":{"mode":"ANY"}}`},
		{`{"type":"function","function":{"name":"f"}}`, `{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["f"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.choice, func(t *testing.T) {
			req, err := schema.ParseChatRequest([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],` +
				`"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}],` +
				`"tool_choice":` + tt.choice + `}`))
			if err != nil {
				t.Fatal(err)
			}
			gr, err := buildRequest(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(gr.ToolConfig)
			if string(b) != tt.want {
				t.Fatalf("toolConfig = %s, want %s", b, tt.want)
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, param string
	}{
		{"unknown tool_call_id", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_x","content":"1"}]}`,
			"messages[1].tool_call_id"},
		{"bad arguments", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`,
			"messages[1].tool_calls[0].function.arguments"},
		{"file image URL", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}`,
			"messages[0].content[0].image_url.url"},
		{"non-base64 data URI", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`,
			"messages[0].content[0].image_url.url"},
		{"audio part", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`, "messages[0].content[0].type"},
		{"only system", `{"model":"m","messages":[{"role":"system","content":"be nice"}]}`, "messages"},
		{"bad tool schema", `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]}`,
			"tools[0].function.parameters"},
		{"bad response_format", `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"xml"}}`, "response_format.type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestTranslator(t, NewAdapter(), testBackend())
			_, err := tr.Request([]byte(tt.body), nil)
			var se *schema.Error
			if !errors.As(err, &se) || se.Status != 400 || se.Param != tt.param {
				t.Fatalf("err = %v (param %q), want 400 with param %q", err, paramOf(se), tt.param)
			}
		})
	}
}

func paramOf(e *schema.Error) string {
	if e == nil {
		return ""
	}
	return e.Param
}

func TestRequestDoesNotMutate(t *testing.T) {
	raw := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"call_0_f~AbC-_x","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"call_0_f~AbC-_x","content":"ok"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","additionalProperties":false,"properties":{"a":{"type":"integer"}}}}}]}`)
	req, err := schema.ParseChatRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(req)
	tr := newTestTranslator(t, NewAdapter(), testBackend())
	up, err := tr.Request(raw, req)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := json.Marshal(req)
	if string(before) != string(after) {
		t.Fatalf("request mutated:\n%s\n%s", before, after)
	}
	// the thought signature travels back in standard base64
	if !strings.Contains(string(up.Body), `"thoughtSignature":"AbC+/x=="`) {
		t.Fatalf("signature not restored: %s", up.Body)
	}
}

func TestToolCallIDRoundTrip(t *testing.T) {
	tests := []struct{ sig string }{{""}, {"CiQB0e2Kb+3/qT7x1Q=="}, {"AAAA"}, {"ab/+cd=="}}
	for _, tt := range tests {
		t.Run(tt.sig, func(t *testing.T) {
			id := toolCallID(3, "ns.get_weather", tt.sig)
			if strings.ContainsAny(id, "+/=") {
				t.Fatalf("id %q is not URL safe", id)
			}
			if got := signatureFromID(id); got != tt.sig {
				t.Fatalf("signatureFromID(%q) = %q, want %q", id, got, tt.sig)
			}
		})
	}
}

func TestConvertSchema(t *testing.T) {
	tests := []struct {
		name, in, want string
		top            bool
	}{
		{name: "empty object dropped at top", in: `{"type":"object","properties":{},"additionalProperties":false}`, top: true, want: ``},
		{name: "nested empty object keeps type", in: `{"type":"object","properties":{"o":{"type":"object","properties":{}}},"required":["o","missing"]}`,
			want: `{"properties":{"o":{"type":"OBJECT"}},"required":["o"],"type":"OBJECT"}`},
		{name: "multi type", in: `{"type":["string","integer","null"]}`, want: `{"anyOf":[{"type":"STRING"},{"type":"INTEGER"}],"nullable":true}`},
		{name: "const and oneOf", in: `{"oneOf":[{"const":"a"},{"type":"number","format":"double","multipleOf":2}]}`,
			want: `{"anyOf":[{"enum":["a"]},{"format":"double","type":"NUMBER"}]}`},
		{name: "numeric enum dropped", in: `{"type":"integer","enum":[1,2]}`, want: `{"type":"INTEGER"}`},
		{name: "allOf ref definitions", in: `{"type":"object","properties":{"x":{"allOf":[{"$ref":"#/definitions/X"}],"description":"d"}},"definitions":{"X":{"type":"array","items":{"type":"string"}}}}`,
			want: `{"properties":{"x":{"description":"d","items":{"type":"STRING"},"type":"ARRAY"}},"type":"OBJECT"}`},
		{name: "recursive ref bounded", in: `{"$ref":"#/$defs/N","$defs":{"N":{"type":"object","properties":{"next":{"$ref":"#/$defs/N"}}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := convertSchema(json.RawMessage(tt.in), tt.top)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" && tt.name == "recursive ref bounded" {
				if len(got) == 0 || len(got) > 4096 {
					t.Fatalf("recursive schema: %d bytes", len(got))
				}
				return
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestResponseErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantStatus int
		wantMsg    string
	}{
		{name: "google 400", status: 400, body: `{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT"}}`,
			wantStatus: 400, wantMsg: "vertex: Request contains an invalid argument."},
		{name: "array form", status: 403, body: `[{"error":{"code":403,"message":"Permission denied.","status":"PERMISSION_DENIED"}}]`,
			wantStatus: 403, wantMsg: "vertex: Permission denied."},
		{name: "html body not echoed", status: 502, body: `<html>secret upstream page</html>`, wantStatus: 502, wantMsg: "vertex: upstream error: Bad Gateway"},
		{name: "2xx not JSON", status: 200, body: `nope`, wantStatus: 502, wantMsg: "vertex: decode response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestTranslator(t, NewAdapter(), testBackend())
			_, _, err := tr.Response(tt.status, []byte(tt.body))
			var se *schema.Error
			if !errors.As(err, &se) || se.Status != tt.wantStatus || !strings.HasPrefix(se.Message, tt.wantMsg) {
				t.Fatalf("err = %v, want %d %q", err, tt.wantStatus, tt.wantMsg)
			}
		})
	}
}

func TestResponseBlockedPrompt(t *testing.T) {
	tr := newTestTranslator(t, NewGeminiAdapter(), &config.AIBackend{})
	out, _, err := tr.Response(200, []byte(`{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}}`))
	if err != nil {
		t.Fatal(err)
	}
	var resp schema.ChatResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].FinishReason != schema.FinishContentFilter || resp.Usage.PromptTokens != 9 {
		t.Fatalf("blocked prompt: %s", out)
	}
}
