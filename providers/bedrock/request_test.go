package bedrock

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

func TestModelURL(t *testing.T) {
	tests := []struct {
		name, endpoint, model, action, want string
	}{
		{name: "colon escaped", endpoint: "https://e", model: "anthropic.claude-3-5-sonnet-20240620-v1:0", action: "converse",
			want: "https://e/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"},
		{name: "arn slashes escaped", endpoint: "http://127.0.0.1:1", action: "converse-stream",
			model: "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
			want:  "http://127.0.0.1:1/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ModelURL(tc.endpoint, tc.model, tc.action); got != tc.want {
				t.Errorf("ModelURL = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		name    string
		b       config.AIBackend
		want    string
		wantErr bool
	}{
		{name: "region default", b: config.AIBackend{Region: "eu-west-3"}, want: "https://bedrock-runtime.eu-west-3.amazonaws.com"},
		{name: "base url override", b: config.AIBackend{Region: "eu-west-3", BaseURL: "http://127.0.0.1:9000/"}, want: "http://127.0.0.1:9000"},
		{name: "neither", b: config.AIBackend{}, wantErr: true},
		{name: "explicit https default port dropped", b: config.AIBackend{BaseURL: "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com:443/"},
			want: "https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com"},
		{name: "explicit http default port dropped", b: config.AIBackend{BaseURL: "http://proxy.internal:80/bedrock"}, want: "http://proxy.internal/bedrock"},
		{name: "other port kept", b: config.AIBackend{BaseURL: "https://proxy.internal:8443"}, want: "https://proxy.internal:8443"},
		{name: "ipv6 with default port", b: config.AIBackend{BaseURL: "https://[::1]:443"}, want: "https://[::1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Endpoint(&tc.b)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("Endpoint = %q, %v; want %q (err %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// upstreamBody translates raw and returns the Converse body as a generic map.
func upstreamBody(t *testing.T, raw string) (map[string]any, error) {
	t.Helper()
	up, err := newTestTranslator(t).Request([]byte(raw), nil)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(up.Body, &m); err != nil {
		t.Fatal(err)
	}
	return m, nil
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name, raw, wantParam, wantMsg string
	}{
		{name: "http image url", raw: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`,
			wantParam: "messages[0].content[0].image_url.url", wantMsg: "does not fetch image URLs"},
		{name: "unsupported image type", raw: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/tiff;base64,AAAA"}}]}]}`,
			wantParam: "messages[0].content[0].image_url.url", wantMsg: "not supported"},
		{name: "bad base64", raw: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,%%%"}}]}]}`,
			wantParam: "messages[0].content[0].image_url.url", wantMsg: "not valid base64"},
		{name: "n > 1", raw: `{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`, wantParam: "n", wantMsg: "one choice"},
		{name: "bad tool arguments", raw: `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`,
			wantParam: "messages[1].tool_calls[0].function.arguments", wantMsg: "JSON object"},
		{name: "tool_choice unknown function", raw: `{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"g"}}}`,
			wantParam: "tool_choice", wantMsg: "not in tools"},
		{name: "only system", raw: `{"model":"m","messages":[{"role":"system","content":"hi"}]}`, wantParam: "messages", wantMsg: "at least one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := upstreamBody(t, tc.raw)
			var se *schema.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *schema.Error", err)
			}
			if se.Status != http.StatusBadRequest || se.Param != tc.wantParam || !strings.Contains(se.Message, tc.wantMsg) {
				t.Errorf("error = %d %q %q, want 400 %q containing %q", se.Status, se.Param, se.Message, tc.wantParam, tc.wantMsg)
			}
		})
	}
}

func TestToolChoice(t *testing.T) {
	const tools = `"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]`
	tests := []struct {
		name, raw, want string
	}{
		{name: "none drops tools", raw: `{"model":"m","messages":[{"role":"user","content":"hi"}],` + tools + `,"tool_choice":"none"}`, want: `null`},
		{name: "none keeps tools with tool history", raw: `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"a","content":"ok"}],` + tools + `,"tool_choice":"none"}`,
			want: `{"tools":[{"toolSpec":{"inputSchema":{"json":{"type":"object"}},"name":"f"}}]}`},
		{name: "named function", raw: `{"model":"m","messages":[{"role":"user","content":"hi"}],` + tools + `,"tool_choice":{"type":"function","function":{"name":"f"}}}`,
			want: `{"toolChoice":{"tool":{"name":"f"}},"tools":[{"toolSpec":{"inputSchema":{"json":{"type":"object"}},"name":"f"}}]}`},
		{name: "absent", raw: `{"model":"m","messages":[{"role":"user","content":"hi"}],` + tools + `}`,
			want: `{"tools":[{"toolSpec":{"inputSchema":{"json":{"type":"object"}},"name":"f"}}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := upstreamBody(t, tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(m["toolConfig"])
			if string(got) != tc.want {
				t.Errorf("toolConfig = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestRequestDoesNotMutateReq checks that Request leaves the decoded request
// (shared by every attempt) as it was, on every golden request and one with
// Extra members.
func TestRequestDoesNotMutateReq(t *testing.T) {
	files, err := filepath.Glob("testdata/*.request.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden requests: %v", err)
	}
	bodies := [][]byte{[]byte(`{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}],"top_k":5}`)}
	for _, f := range files {
		bodies = append(bodies, testutil.ReadFile(t, f))
	}
	for _, raw := range bodies {
		req, err := schema.ParseChatRequest(raw)
		if err != nil {
			t.Fatal(err)
		}
		fresh, _ := schema.ParseChatRequest(raw)
		for range 2 { // a retry reuses req
			if _, err := newTestTranslator(t).Request(raw, req); err != nil {
				continue // a golden error case
			}
		}
		if !reflect.DeepEqual(req, fresh) {
			t.Errorf("req mutated:\n%+v\n%+v", req, fresh)
		}
	}
}

func TestNewTranslatorOps(t *testing.T) {
	_, err := New().NewTranslator(schema.OpCompletion, testBackend)
	var se *schema.Error
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest {
		t.Errorf("completions: err = %v, want 400", err)
	}
}
