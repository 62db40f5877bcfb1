package openai

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestRequest(t *testing.T) {
	chat := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`)
	streamChat := []byte(`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	streamUsage := []byte(`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]}`)
	tests := []struct {
		name      string
		op        schema.Operation
		backend   config.AIBackend
		raw       []byte
		wantURL   string
		wantBody  string // "" means raw unchanged
		wantStrip bool
		wantErr   int
	}{
		{name: "openai default", op: schema.OpChat, backend: config.AIBackend{Provider: "openai"}, raw: chat,
			wantURL: "https://api.openai.com/v1/chat/completions"},
		{name: "openai base with v1", op: schema.OpEmbeddings, backend: config.AIBackend{Provider: "openai", BaseURL: "http://x:1/v1/"},
			raw: chat, wantURL: "http://x:1/v1/embeddings"},
		{name: "compatible completions", op: schema.OpCompletion, backend: config.AIBackend{Provider: "openai-compatible", BaseURL: "http://127.0.0.1:8000"},
			raw: chat, wantURL: "http://127.0.0.1:8000/v1/completions"},
		{name: "compatible without base", op: schema.OpChat, backend: config.AIBackend{Provider: "openai-compatible"}, raw: chat, wantErr: 500},
		{name: "azure chat", op: schema.OpChat, backend: config.AIBackend{Provider: "azure", BaseURL: "https://r.openai.azure.com/"},
			raw: chat, wantURL: "https://r.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"},
		{name: "azure fixed deployment and version", op: schema.OpEmbeddings,
			backend: config.AIBackend{Provider: "azure", BaseURL: "https://r", Model: "emb dep", APIVersion: "2025-01-01"},
			raw:     chat, wantURL: "https://r/openai/deployments/emb%20dep/embeddings?api-version=2025-01-01"},
		{name: "stream adds include_usage", op: schema.OpChat, backend: config.AIBackend{Provider: "openai"}, raw: streamChat,
			wantURL:   "https://api.openai.com/v1/chat/completions",
			wantBody:  `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`,
			wantStrip: true},
		{name: "stream include_usage before trailing space", op: schema.OpChat, backend: config.AIBackend{Provider: "openai"},
			raw:       []byte("{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[] }\n"),
			wantURL:   "https://api.openai.com/v1/chat/completions",
			wantBody:  "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[] ,\"stream_options\":{\"include_usage\":true}}\n",
			wantStrip: true},
		{name: "stream sets include_usage in client stream_options", op: schema.OpChat, backend: config.AIBackend{Provider: "openai"},
			raw:       []byte(`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":false},"messages":[]}`),
			wantURL:   "https://api.openai.com/v1/chat/completions",
			wantBody:  `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[]}`,
			wantStrip: true},
		{name: "stream keeps client include_usage", op: schema.OpChat, backend: config.AIBackend{Provider: "openai"}, raw: streamUsage,
			wantURL: "https://api.openai.com/v1/chat/completions"},
	}
	for _, tt := range tests {
		for _, known := range []bool{false, true} {
			name := tt.name
			if known {
				name += " (known)"
			}
			t.Run(name, func(t *testing.T) {
				testRequest(t, tt.op, tt.backend, tt.raw, known, tt.wantURL, tt.wantBody, tt.wantStrip, tt.wantErr)
			})
		}
	}
}

// testRequest runs one TestRequest case; with known, the translator is told
// (Known) what the front end found in the body instead of looking it up.
func testRequest(t *testing.T, op schema.Operation, backend config.AIBackend, raw []byte, known bool,
	wantURL, wantBody string, wantStrip bool, wantErr int) {
	tr, err := New().NewTranslator(op, &backend)
	if err != nil {
		t.Fatal(err)
	}
	if known {
		var opts []byte
		if o := gjson.GetBytes(raw, "stream_options"); o.Exists() {
			opts = []byte(o.Raw)
		}
		tr.(*Translator).Known(gjson.GetBytes(raw, "stream").Bool(), opts)
	}
	orig := bytes.Clone(raw)
	up, err := tr.Request(raw, nil)
	if wantErr != 0 {
		var se *schema.Error
		if !errors.As(err, &se) || se.Status != wantErr {
			t.Fatalf("err = %v, want status %d", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, orig) {
		t.Fatal("Request mutated raw")
	}
	if up.URL != wantURL {
		t.Errorf("URL = %q, want %q", up.URL, wantURL)
	}
	want := wantBody
	if want == "" {
		want = string(raw)
	}
	if string(up.Body) != want {
		t.Errorf("body = %s, want %s", up.Body, want)
	}
	if got := tr.(*Translator).stripUsage; got != wantStrip {
		t.Errorf("stripUsage = %v, want %v", got, wantStrip)
	}
	if up.Stream != gjson.GetBytes(raw, "stream").Bool() {
		t.Errorf("Stream = %v", up.Stream)
	}
}

func TestUnsupportedOperation(t *testing.T) {
	if _, err := New().NewTranslator(schema.Operation(99), &config.AIBackend{Provider: "openai"}); err == nil {
		t.Fatal("want error")
	}
}

func TestResponse(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		body        string
		wantUsage   schema.Usage
		wantErr     *schema.Error
		notContains string
	}{
		{name: "ok with details", status: 200,
			body: `{"id":"x","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":2}}}`,
			wantUsage: schema.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15,
				PromptTokensDetails: &schema.PromptTokensDetails{CachedTokens: 3}, CompletionTokensDetails: &schema.CompletionTokensDetails{ReasoningTokens: 2}}},
		{name: "ok embeddings no total", status: 200, body: `{"data":[],"usage":{"prompt_tokens":7}}`,
			wantUsage: schema.Usage{PromptTokens: 7, TotalTokens: 7}},
		{name: "ok no usage", status: 200, body: `{"data":[]}`},
		{name: "openai error kept", status: 429,
			body:    `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			wantErr: &schema.Error{Status: 429, Type: "requests", Message: "Rate limit reached", Code: "rate_limit_exceeded"}},
		{name: "invalid request param", status: 400,
			body:    `{"error":{"message":"bad temperature","type":"invalid_request_error","param":"temperature","code":null}}`,
			wantErr: &schema.Error{Status: 400, Type: "invalid_request_error", Message: "bad temperature", Param: "temperature"}},
		{name: "string error", status: 404, body: `{"error":"model not found"}`,
			wantErr: &schema.Error{Status: 404, Type: schema.ErrNotFound, Message: "model not found"}},
		{name: "html never leaked", status: 502, body: `<html><body>nginx secret-host</body></html>`,
			wantErr:     &schema.Error{Status: 502, Type: schema.ErrServer, Message: "the upstream provider failed to answer (Bad Gateway)"},
			notContains: "nginx"},
		{name: "empty 503", status: 503,
			wantErr: &schema.Error{Status: 503, Type: schema.ErrUnavailable, Message: "the upstream provider failed to answer (Service Unavailable)"}},
		{name: "redirect is 502", status: 302, body: `moved`,
			wantErr: &schema.Error{Status: 502, Type: schema.ErrServer, Message: "the upstream provider returned an unexpected status Found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, _ := New().NewTranslator(schema.OpChat, &config.AIBackend{Provider: "openai"})
			out, u, err := tr.Response(tt.status, []byte(tt.body))
			if tt.wantErr != nil {
				var se *schema.Error
				if !errors.As(err, &se) {
					t.Fatalf("err = %v, want *schema.Error", err)
				}
				if *se != *tt.wantErr {
					t.Errorf("err = %+v, want %+v", *se, *tt.wantErr)
				}
				if tt.notContains != "" && strings.Contains(string(se.JSON()), tt.notContains) {
					t.Errorf("error leaks %q", tt.notContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.body {
				t.Errorf("body changed: %s", out)
			}
			if u.PromptTokens != tt.wantUsage.PromptTokens || u.CompletionTokens != tt.wantUsage.CompletionTokens ||
				u.TotalTokens != tt.wantUsage.TotalTokens || u.Cached() != tt.wantUsage.Cached() || u.Reasoning() != tt.wantUsage.Reasoning() {
				t.Errorf("usage = %+v, want %+v", u, tt.wantUsage)
			}
		})
	}
}

func TestStream(t *testing.T) {
	tests := []struct {
		name       string
		input      string
		strip      bool
		wantUsage  schema.Usage
		wantStatus int // 0: no error
	}{
		{name: "basic", input: "stream_basic.sse",
			wantUsage: schema.Usage{PromptTokens: 9, CompletionTokens: 2, TotalTokens: 11,
				PromptTokensDetails: &schema.PromptTokensDetails{CachedTokens: 4}, CompletionTokensDetails: &schema.CompletionTokensDetails{ReasoningTokens: 1}}},
		{name: "basic_stripped", input: "stream_basic.sse", strip: true,
			wantUsage: schema.Usage{PromptTokens: 9, CompletionTokens: 2, TotalTokens: 11,
				PromptTokensDetails: &schema.PromptTokensDetails{CachedTokens: 4}, CompletionTokensDetails: &schema.CompletionTokensDetails{ReasoningTokens: 1}}},
		{name: "error", input: "stream_error.sse", wantStatus: 500},
		{name: "crlf_no_done", input: "stream_crlf_no_done.sse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", tt.input))
			if err != nil {
				t.Fatal(err)
			}
			tr := &Translator{op: schema.OpChat, backend: &config.AIBackend{Provider: "openai"}, stripUsage: tt.strip}
			var out bytes.Buffer
			u, err := tr.Stream(bytes.NewReader(src), func(c []byte) error {
				out.Write(c)
				out.WriteByte('\n')
				return nil
			})
			if tt.wantStatus != 0 {
				var se *schema.Error
				if !errors.As(err, &se) || se.Status != tt.wantStatus {
					t.Fatalf("err = %v, want status %d", err, tt.wantStatus)
				}
				fmt.Fprintf(&out, "error: %s\n", se.JSON())
			} else if err != nil {
				t.Fatal(err)
			}
			if u.TotalTokens != tt.wantUsage.TotalTokens || u.Cached() != tt.wantUsage.Cached() || u.Reasoning() != tt.wantUsage.Reasoning() {
				t.Errorf("usage = %+v, want %+v", u, tt.wantUsage)
			}
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("stream output differs from %s:\n%s", golden, out.Bytes())
			}
		})
	}
}

func TestStreamEmitError(t *testing.T) {
	src, _ := os.ReadFile("testdata/stream_basic.sse")
	tr := &Translator{op: schema.OpChat, backend: &config.AIBackend{}}
	stop := errors.New("client gone")
	_, err := tr.Stream(bytes.NewReader(src), func([]byte) error { return stop })
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want the emit error", err)
	}
}

// TestResponseHidesGatewayKey: an upstream 401/403 for the gateway's own key
// must not echo the upstream's message, which may quote that key.
func TestResponseHidesGatewayKey(t *testing.T) {
	body := []byte(`{"error":{"message":"Incorrect API key provided: sk-proj-****************************wxyz. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
	tests := []struct {
		name        string
		status      int
		passthrough bool
		wantKey     bool
	}{
		{name: "401 gateway key", status: 401},
		{name: "403 gateway key", status: 403},
		{name: "401 client key", status: 401, passthrough: true, wantKey: true},
		{name: "400", status: 400, wantKey: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := New().NewTranslator(schema.OpChat, &config.AIBackend{Provider: "openai", Auth: config.BackendAuth{Passthrough: tt.passthrough}})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = tr.Response(tt.status, body)
			var e *schema.Error
			if !errors.As(err, &e) || e.Status != tt.status {
				t.Fatalf("err = %v", err)
			}
			if got := strings.Contains(e.Message, "wxyz"); got != tt.wantKey {
				t.Errorf("message %q: key shown %v, want %v", e.Message, got, tt.wantKey)
			}
		})
	}
}

// TestChunksEnd: how a stream's body may end. A body that ends before its
// first event is an error (a gateway may fail over: nothing was sent yet);
// after an event, or with [DONE], it is the stream's end.
func TestChunksEnd(t *testing.T) {
	const chunk = `{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"x"}}]}`
	tests := []struct {
		name       string
		body       string
		chunks     int
		wantStatus int // 0: io.EOF
	}{
		{name: "empty body", body: "", wantStatus: 502},
		{name: "blank lines and comments only", body: "\n\n: ping\n\n", wantStatus: 502},
		{name: "empty data event only", body: "data: \n\n", wantStatus: 502},
		{name: "only [DONE]", body: "data: [DONE]\n\n"},
		{name: "chunk without [DONE]", body: "data: " + chunk + "\n\n", chunks: 1},
		{name: "chunk and [DONE]", body: "data: " + chunk + "\n\ndata: [DONE]\n\n", chunks: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &Translator{op: schema.OpChat, backend: &config.AIBackend{}}
			c := tr.Chunks(strings.NewReader(tt.body))
			n := 0
			var err error
			for {
				if _, err = c.Next(); err != nil {
					break
				}
				n++
			}
			if n != tt.chunks {
				t.Errorf("%d chunks, want %d", n, tt.chunks)
			}
			var se *schema.Error
			switch {
			case tt.wantStatus == 0 && !errors.Is(err, io.EOF):
				t.Errorf("err = %v, want io.EOF", err)
			case tt.wantStatus != 0 && (!errors.As(err, &se) || se.Status != tt.wantStatus):
				t.Errorf("err = %v, want status %d", err, tt.wantStatus)
			}
			if _, again := c.Next(); again != err {
				t.Errorf("Next after the end = %v, want %v again", again, err)
			}
		})
	}
}

// TestCompiledURLs: a backend compiled once per snapshot builds the same
// upstream URLs as a translator that builds them per attempt.
func TestCompiledURLs(t *testing.T) {
	tests := []struct {
		name string
		b    config.AIBackend
	}{
		{name: "openai default", b: config.AIBackend{Provider: config.ProviderOpenAI}},
		{name: "compatible with /v1", b: config.AIBackend{Provider: config.ProviderOpenAICompatible, BaseURL: "http://127.0.0.1:8000/v1/"}},
		{name: "azure fixed deployment", b: config.AIBackend{Provider: config.ProviderAzure, BaseURL: "https://x.openai.azure.com", Model: "dep"}},
		{name: "azure per-request deployment", b: config.AIBackend{Provider: config.ProviderAzure, BaseURL: "https://x.openai.azure.com"}},
	}
	raw := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compiled, err := New().Compile(&tt.b)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range []schema.Operation{schema.OpChat, schema.OpCompletion, schema.OpEmbeddings} {
				want, _ := New().NewTranslator(op, &tt.b)
				got, _ := compiled.NewTranslator(op, &tt.b)
				wu, err1 := want.Request(raw, nil)
				gu, err2 := got.Request(raw, nil)
				if err1 != nil || err2 != nil || wu.URL != gu.URL {
					t.Errorf("%s: compiled URL %q (%v), per attempt %q (%v)", op, gu.URL, err2, wu.URL, err1)
				}
			}
		})
	}
}
