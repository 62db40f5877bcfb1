package anthropicfake

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

const key = "sk-test"

func post(t *testing.T, s *Server, path string, hdr map[string]string, body string) (int, string) {
	t.Helper()
	h := map[string]string{"x-api-key": key, "anthropic-version": Version, "content-type": "application/json"}
	maps.Copy(h, hdr) // an empty value drops the header
	return testutil.Post(t, s.URL+path, h, body)
}

func TestRejects(t *testing.T) {
	s := New(key)
	defer s.Close()
	ok := `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name    string
		path    string
		hdr     map[string]string
		body    string
		status  int
		errType string
	}{
		{name: "wrong key", hdr: map[string]string{"x-api-key": "nope"}, body: ok, status: 401, errType: "authentication_error"},
		{name: "missing key", hdr: map[string]string{"x-api-key": ""}, body: ok, status: 401, errType: "authentication_error"},
		{name: "missing version", hdr: map[string]string{"anthropic-version": ""}, body: ok, status: 400, errType: "invalid_request_error"},
		{name: "wrong content type", hdr: map[string]string{"content-type": "text/plain"}, body: ok, status: 400, errType: "invalid_request_error"},
		{name: "wrong path", path: "/v1/complete", body: ok, status: 404, errType: "not_found_error"},
		{name: "no model", body: `{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, status: 400, errType: "invalid_request_error"},
		{name: "no max_tokens", body: `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, status: 400, errType: "invalid_request_error"},
		{name: "starts with assistant", body: `{"model":"m","max_tokens":10,"messages":[{"role":"assistant","content":"hi"}]}`, status: 400, errType: "invalid_request_error"},
		{name: "two users", body: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`, status: 400, errType: "invalid_request_error"},
		{name: "unknown block", body: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"video"}]}]}`, status: 400, errType: "invalid_request_error"},
		{name: "empty text", body: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`, status: 400, errType: "invalid_request_error"},
		{name: "dangling tool_result", body: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"x"}]}]}`,
			status: 400, errType: "invalid_request_error"},
		{name: "tool_use without result", body: `{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"a"},` +
			`{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},{"role":"user","content":"b"}]}`,
			status: 400, errType: "invalid_request_error"},
		{name: "tool_choice unknown tool", body: `{"model":"m","max_tokens":10,"tools":[{"name":"f","input_schema":{"type":"object"}}],` +
			`"tool_choice":{"type":"tool","name":"g"},"messages":[{"role":"user","content":"a"}]}`, status: 400, errType: "invalid_request_error"},
		{name: "temperature too high", body: `{"model":"m","max_tokens":10,"temperature":1.5,"messages":[{"role":"user","content":"a"}]}`,
			status: 400, errType: "invalid_request_error"},
		{name: "valid", body: ok, status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/v1/messages"
			}
			status, body := post(t, s, path, tc.hdr, tc.body)
			if status != tc.status {
				t.Fatalf("status = %d, want %d: %s", status, tc.status, body)
			}
			if tc.errType == "" {
				return
			}
			var e struct {
				Type  string `json:"type"`
				Error struct{ Type, Message string }
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Type != "error" || e.Error.Type != tc.errType {
				t.Errorf("body = %s, want error type %s", body, tc.errType)
			}
		})
	}
	if n := len(s.Requests()); n != len(tests) {
		t.Errorf("recorded %d requests, want %d", n, len(tests))
	}
}

func TestStreamToolUseFragments(t *testing.T) {
	s := New(key)
	defer s.Close()
	status, body := post(t, s, "/v1/messages", nil, `{"model":"m","max_tokens":100,"stream":true,`+
		`"tools":[{"name":"lookup","input_schema":{"type":"object","properties":{"query":{"type":"string"},"n":{"type":"integer"}}}}],`+
		`"messages":[{"role":"user","content":"find"}]}`)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var args strings.Builder
	fragments := 0
	for _, line := range strings.Split(body, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Type  string `json:"type"`
			Delta struct {
				Type        string `json:"type"`
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			} `json:"delta"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("bad event %s: %v", data, err)
		}
		if ev.Delta.Type == "input_json_delta" {
			fragments++
			args.WriteString(ev.Delta.PartialJSON)
		}
		if ev.Type == "message_delta" && ev.Delta.StopReason != "tool_use" {
			t.Errorf("stop_reason = %q", ev.Delta.StopReason)
		}
	}
	if fragments < 3 || args.String() != `{"n":1,"query":"test"}` {
		t.Errorf("%d fragments, args %s", fragments, args.String())
	}
	if !strings.HasSuffix(strings.TrimSpace(body), `{"type":"message_stop"}`) {
		t.Errorf("stream does not end with message_stop: %s", body)
	}
}

func TestStreamErrorInjection(t *testing.T) {
	s := New(key)
	defer s.Close()
	s.SetStreamError(&Failure{Type: "overloaded_error", Message: "Overloaded"})
	_, body := post(t, s, "/v1/messages", nil, `{"model":"m","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	if !strings.Contains(body, "event: error\ndata: {\"error\":{\"message\":\"Overloaded\",\"type\":\"overloaded_error\"},\"type\":\"error\"}") ||
		strings.Contains(body, "message_stop") {
		t.Errorf("stream = %s", body)
	}
	s.SetStreamError(nil)
	if _, body = post(t, s, "/v1/messages", nil, `{"model":"m","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`); !strings.Contains(body, "message_stop") {
		t.Errorf("stream after reset = %s", body)
	}
}
