package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// body translates raw with an Anthropic translator and returns the decoded upstream body.
func body(t *testing.T, raw string) map[string]any {
	t.Helper()
	up, err := newTestTranslator(t, false).Request([]byte(raw), nil)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(up.Body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestRequestFields(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		field string
		want  string // JSON of the field, "" for absent
	}{
		{name: "default max_tokens", raw: `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
			field: "max_tokens", want: `4096`},
		{name: "max_completion_tokens wins", raw: `{"model":"m","max_tokens":10,"max_completion_tokens":20,"messages":[{"role":"user","content":"hi"}]}`,
			field: "max_tokens", want: `20`},
		{name: "stop string", raw: `{"model":"m","stop":"END","messages":[{"role":"user","content":"hi"}]}`,
			field: "stop_sequences", want: `["END"]`},
		{name: "top_k passes through", raw: `{"model":"m","top_k":5,"messages":[{"role":"user","content":"hi"}]}`,
			field: "top_k", want: `5`},
		{name: "single system is a string", raw: `{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}`,
			field: "system", want: `"be brief"`},
		{name: "no tools no tool_choice", raw: `{"model":"m","tool_choice":"auto","messages":[{"role":"user","content":"hi"}]}`,
			field: "tool_choice", want: ``},
		{name: "tool_choice none", raw: `{"model":"m","tool_choice":"none","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}`,
			field: "tool_choice", want: `{"type":"none"}`},
		{name: "tool_choice required", raw: `{"model":"m","tool_choice":"required","tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}`,
			field: "tool_choice", want: `{"type":"any"}`},
		{name: "tool_choice function", raw: `{"model":"m","tool_choice":{"type":"function","function":{"name":"f"}},"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}`,
			field: "tool_choice", want: `{"name":"f","type":"tool"}`},
		{name: "parallel_tool_calls false", raw: `{"model":"m","parallel_tool_calls":false,"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}`,
			field: "tool_choice", want: `{"disable_parallel_tool_use":true,"type":"auto"}`},
		{name: "json_object emulated", raw: `{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}]}`,
			field: "tool_choice", want: `{"name":"json_response","type":"tool"}`},
		{name: "response_format ignored with tools", raw: `{"model":"m","response_format":{"type":"json_object"},"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}]}`,
			field: "tool_choice", want: ``},
		{name: "text response_format ignored", raw: `{"model":"m","response_format":{"type":"text"},"messages":[{"role":"user","content":"hi"}]}`,
			field: "tools", want: ``},
		{name: "empty assistant dropped and users merged",
			raw:   `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":""},{"role":"user","content":"b"}]}`,
			field: "messages", want: `[{"content":[{"text":"a","type":"text"},{"text":"b","type":"text"}],"role":"user"}]`},
		{name: "tool results before user text",
			raw: `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":""}}]},` +
				`{"role":"tool","tool_call_id":"t1","content":"r"},{"role":"user","content":"next"}]}`,
			field: "messages", want: `[{"content":[{"text":"a","type":"text"}],"role":"user"},` +
				`{"content":[{"id":"t1","input":{},"name":"f","type":"tool_use"}],"role":"assistant"},` +
				`{"content":[{"content":"r","tool_use_id":"t1","type":"tool_result"},{"text":"next","type":"text"}],"role":"user"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := body(t, tc.raw)
			v, ok := m[tc.field]
			if tc.want == "" {
				if ok {
					t.Errorf("%s = %s, want absent", tc.field, jsonOf(v))
				}
				return
			}
			if got := jsonOf(v); got != tc.want {
				t.Errorf("%s = %s, want %s", tc.field, got, tc.want)
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name, raw, param string
	}{
		{name: "n > 1", raw: `{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`, param: "n"},
		{name: "ftp image", raw: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}`,
			param: "messages[0].content[0]"},
		{name: "non-base64 data URI", raw: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`,
			param: "messages[0].content[0]"},
		{name: "bmp image", raw: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AAAA"}}]}]}`,
			param: "messages[0].content[0]"},
		{name: "bad base64", raw: `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,!!"}}]}]}`,
			param: "messages[0].content[0]"},
		{name: "bad tool arguments", raw: `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`,
			param: "messages[1].tool_calls[0].function.arguments"},
		{name: "tool without id", raw: `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"tool","content":"r"}]}`,
			param: "messages[1].tool_call_id"},
		{name: "only system", raw: `{"model":"m","messages":[{"role":"system","content":"a"}]}`, param: "messages"},
		{name: "bad top_k", raw: `{"model":"m","top_k":"x","messages":[{"role":"user","content":"a"}]}`, param: "top_k"},
		{name: "invalid JSON", raw: `{"model":`, param: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newTestTranslator(t, false).Request([]byte(tc.raw), nil)
			var se *schema.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *schema.Error", err)
			}
			if se.Status != 400 || se.Param != tc.param {
				t.Errorf("status %d param %q, want 400 %q (%s)", se.Status, se.Param, tc.param, se.Message)
			}
		})
	}
}

func TestRequestDoesNotMutate(t *testing.T) {
	raw := []byte(testutil.ReadFile(t, "testdata/tools.request.json"))
	orig := bytes.Clone(raw)
	req, err := schema.ParseChatRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(req)
	tr := newTestTranslator(t, false)
	if _, err := tr.Request(raw, req); err != nil {
		t.Fatal(err)
	}
	after, _ := json.Marshal(req)
	if !bytes.Equal(raw, orig) || !bytes.Equal(before, after) {
		t.Error("Request mutated raw or req")
	}
}

func TestNewTranslator(t *testing.T) {
	tests := []struct {
		name    string
		adapter *Adapter
		op      schema.Operation
		b       *config.AIBackend
		status  int
	}{
		{name: "embeddings", adapter: NewAdapter(), op: schema.OpEmbeddings, b: anthropicBackend, status: 400},
		{name: "completions", adapter: NewAdapter(), op: schema.OpCompletion, b: anthropicBackend, status: 400},
		{name: "vertex without project", adapter: NewVertexAdapter(), op: schema.OpChat, b: &config.AIBackend{}, status: 500},
		{name: "nil backend", adapter: NewAdapter(), op: schema.OpChat, status: 500},
		{name: "ok", adapter: NewAdapter(), op: schema.OpChat, b: anthropicBackend},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.adapter.NewTranslator(tc.op, tc.b)
			var se *schema.Error
			switch {
			case tc.status == 0 && err != nil:
				t.Fatalf("err = %v", err)
			case tc.status != 0 && (!errors.As(err, &se) || se.Status != tc.status):
				t.Fatalf("err = %v, want status %d", err, tc.status)
			}
		})
	}
}

func TestURLs(t *testing.T) {
	raw := func(stream bool) []byte {
		return []byte(`{"model":"claude-x@1","stream":` + map[bool]string{true: "true", false: "false"}[stream] +
			`,"messages":[{"role":"user","content":"hi"}]}`)
	}
	tests := []struct {
		name    string
		adapter *Adapter
		b       config.AIBackend
		stream  bool
		want    string
		version string
	}{
		{name: "anthropic default", adapter: NewAdapter(), want: "https://api.anthropic.com/v1/messages", version: "2023-06-01"},
		{name: "anthropic override", adapter: NewAdapter(), b: config.AIBackend{BaseURL: "http://127.0.0.1:9/", APIVersion: "2024-01-01"},
			want: "http://127.0.0.1:9/v1/messages", version: "2024-01-01"},
		{name: "vertex global", adapter: NewVertexAdapter(), b: config.AIBackend{Project: "p"},
			want: "https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/anthropic/models/claude-x@1:rawPredict"},
		{name: "vertex region stream", adapter: NewVertexAdapter(), b: config.AIBackend{Project: "p", Region: "europe-west1"}, stream: true,
			want: "https://europe-west1-aiplatform.googleapis.com/v1/projects/p/locations/europe-west1/publishers/anthropic/models/claude-x@1:streamRawPredict"},
		{name: "vertex override", adapter: NewVertexAdapter(), b: config.AIBackend{Project: "p", Region: "us-east5", BaseURL: "http://127.0.0.1:9"},
			want: "http://127.0.0.1:9/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-x@1:rawPredict"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := tc.adapter.NewTranslator(schema.OpChat, &tc.b)
			if err != nil {
				t.Fatal(err)
			}
			up, err := tr.Request(raw(tc.stream), nil)
			if err != nil {
				t.Fatal(err)
			}
			if up.URL != tc.want {
				t.Errorf("URL = %s, want %s", up.URL, tc.want)
			}
			if got := up.GetHeader("anthropic-version"); got != tc.version {
				t.Errorf("anthropic-version = %q, want %q", got, tc.version)
			}
			hasModel := strings.Contains(string(up.Body), `"model"`)
			if hasModel == tc.adapter.vertex {
				t.Errorf("body model presence = %v for vertex=%v: %s", hasModel, tc.adapter.vertex, up.Body)
			}
		})
	}
}
