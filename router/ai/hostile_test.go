package ai

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/internal/fakes/openaifake"
)

func TestHostileRequests(t *testing.T) {
	fake := openaifake.New(t, openaifake.Options{APIKey: "upstream-key"})
	h := newHarness(t, []backendSpec{{name: "oa", ai: openaiBackend(fake, "gpt-4o-mini", "text-embedding-3-small")}},
		Options{MaxBodyBytes: 64 << 10})
	const chat = "/v1/chat/completions"
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	deep := `{"model":"gpt-4o-mini",` + msgs + `,"x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`
	deepOK := `{"model":"gpt-4o-mini",` + msgs + `,"x":` + strings.Repeat("[", 60) + strings.Repeat("]", 60) + `}`
	tests := []struct {
		name   string
		method string
		path   string
		ct     string
		body   string
		status int
		param  string
	}{
		{name: "empty body", body: ``, status: 400},
		{name: "whitespace body", body: "   \n", status: 400},
		{name: "bad json", body: `{"model":`, status: 400},
		{name: "trailing garbage", body: `{"model":"gpt-4o-mini",` + msgs + `} x`, status: 400},
		{name: "json array", body: `[1,2]`, status: 400},
		{name: "json string", body: `"hello"`, status: 400},
		{name: "json null", body: `null`, status: 400},
		{name: "missing model", body: `{` + msgs + `}`, status: 400, param: "model"},
		{name: "empty model", body: `{"model":"",` + msgs + `}`, status: 400, param: "model"},
		{name: "null model", body: `{"model":null,` + msgs + `}`, status: 400, param: "model"},
		{name: "numeric model", body: `{"model":5,` + msgs + `}`, status: 400, param: "model"},
		{name: "object model", body: `{"model":{"a":1},` + msgs + `}`, status: 400, param: "model"},
		{name: "string stream", body: `{"model":"gpt-4o-mini","stream":"yes",` + msgs + `}`, status: 400, param: "stream"},
		{name: "numeric stream", body: `{"model":"gpt-4o-mini","stream":1,` + msgs + `}`, status: 400, param: "stream"},
		{name: "messages object", body: `{"model":"gpt-4o-mini","messages":{}}`, status: 400, param: "messages"},
		{name: "messages missing", body: `{"model":"gpt-4o-mini"}`, status: 400, param: "messages"},
		{name: "messages empty", body: `{"model":"gpt-4o-mini","messages":[]}`, status: 400, param: "messages"},
		{name: "message not object", body: `{"model":"gpt-4o-mini","messages":["hi"]}`, status: 400, param: "messages[0]"},
		{name: "message without role", body: `{"model":"gpt-4o-mini","messages":[{"content":"hi"}]}`, status: 400, param: "messages[0].role"},
		{name: "numeric role", body: `{"model":"gpt-4o-mini","messages":[{"role":1,"content":"hi"}]}`, status: 400, param: "messages[0].role"},
		{name: "invalid utf8", body: "{\"model\":\"gpt-4o-mini\"," + msgs[:len(msgs)-3] + "\xff\xfe\"}]}", status: 400},
		{name: "deep nesting", body: deep, status: 400},
		{name: "nesting at limit", body: deepOK, status: 200},
		{name: "body too large", body: `{"model":"gpt-4o-mini",` + msgs + `,"pad":"` + strings.Repeat("a", 70<<10) + `"}`, status: 413},
		{name: "unknown model", body: `{"model":"gpt-9",` + msgs + `}`, status: 404, param: "model"},
		{name: "model with injection", body: `{"model":"<script>\"x",` + msgs + `}`, status: 404, param: "model"},
		{name: "form content type", ct: "application/x-www-form-urlencoded", body: `model=gpt-4o-mini`, status: 400},
		{name: "GET chat", method: "GET", status: 405},
		{name: "PUT chat", method: "PUT", body: `{}`, status: 405},
		{name: "DELETE models", method: "DELETE", path: "/v1/models", status: 405},
		{name: "unknown path", path: "/v1/assistants", body: `{}`, status: 404},
		{name: "path without v1", path: "/chat/completions", body: `{"model":"gpt-4o-mini",` + msgs + `}`, status: 404},
		{name: "unknown model id", method: "GET", path: "/v1/models/nope", status: 404},
		{name: "embeddings without input", path: "/v1/embeddings", body: `{"model":"text-embedding-3-small"}`, status: 400, param: "input"},
		{name: "embeddings empty array", path: "/v1/embeddings", body: `{"model":"text-embedding-3-small","input":[]}`, status: 400, param: "input"},
		{name: "embeddings numeric input", path: "/v1/embeddings", body: `{"model":"text-embedding-3-small","input":5}`, status: 400, param: "input"},
		{name: "embeddings stream", path: "/v1/embeddings", body: `{"model":"text-embedding-3-small","stream":true,"input":"x"}`, status: 400, param: "stream"},
		{name: "upstream schema violation", body: `{"model":"gpt-4o-mini","messages":[{"role":"wizard","content":"x"}]}`, status: 400},
		{name: "huge number", body: `{"model":"gpt-4o-mini",` + msgs + `,"temperature":1e999999}`, status: 200},
		{name: "unterminated string", body: `{"model":"gpt-4o-mini` + "\n", status: 400},
		{name: "nul byte", body: "{\"model\":\"gpt-4o-mini\x00\"," + msgs + "}", status: 400},
	}
	if len(tests) < 30 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path, ct := tt.method, tt.path, tt.ct
			if method == "" {
				method = "POST"
			}
			if path == "" {
				path = chat
			}
			if ct == "" {
				ct = "application/json"
			}
			status, hdr, body := h.do(t, method, path, ct, []byte(tt.body))
			if status != tt.status {
				t.Fatalf("status = %d, want %d: %s", status, tt.status, body)
			}
			if status == 200 {
				return
			}
			if !bytes.HasPrefix(hdr.ContentType(), []byte("application/json")) {
				t.Errorf("content type %q", hdr.ContentType())
			}
			e := gjson.GetBytes(body, "error")
			if e.Get("message").Type != gjson.String || e.Get("message").Str == "" || e.Get("type").Str == "" {
				t.Errorf("not an OpenAI error: %s", body)
			}
			if tt.param != "" && e.Get("param").Str != tt.param {
				t.Errorf("param = %q, want %q (%s)", e.Get("param").Str, tt.param, body)
			}
			if tt.name == "unknown model" && e.Get("code").Str != "model_not_found" {
				t.Errorf("code = %q", e.Get("code").Str)
			}
		})
	}
}

func TestDepthOK(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want bool
	}{
		{name: "flat", in: `{"a":1}`, max: 1, want: true},
		{name: "two", in: `{"a":[1]}`, max: 1, want: false},
		{name: "brackets in string", in: `{"a":"[[[[{{{{"}`, max: 1, want: true},
		{name: "escaped quote", in: `{"a":"\"[[["}`, max: 1, want: true},
		{name: "escaped backslash", in: `{"a":"\\","b":[[]]}`, max: 2, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := depthOK([]byte(tt.in), tt.max); got != tt.want {
				t.Errorf("depthOK = %v, want %v", got, tt.want)
			}
		})
	}
}
