package fake

import (
	"bytes"
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

func serve(t *testing.T, cfg Config) *fasthttp.Client {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: f.Handle}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown() })
	return &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }}
}

func TestHandle(t *testing.T) {
	c := serve(t, Config{Chunks: 3, Gap: time.Millisecond})
	tests := []struct {
		name, method, path, body string
		wantType                 string
		check                    func(t *testing.T, body []byte)
	}{
		{name: "chat", method: "POST", path: "/v1/chat/completions", body: `{"model":"m","messages":[]}`,
			wantType: "application/json", check: func(t *testing.T, b []byte) {
				var v struct {
					Usage struct {
						TotalTokens int `json:"total_tokens"`
					} `json:"usage"`
				}
				if err := json.Unmarshal(b, &v); err != nil || v.Usage.TotalTokens != 77 {
					t.Fatalf("usage %+v err %v", v, err)
				}
				if len(b) < 550 || len(b) > 700 {
					t.Fatalf("len %d, want about 600", len(b))
				}
			}},
		{name: "stream", method: "POST", path: "/v1/chat/completions", body: `{"model":"m","stream":true}`,
			wantType: "text/event-stream", check: func(t *testing.T, b []byte) {
				if n := bytes.Count(b, []byte(`"content":"tok`)); n != 3 {
					t.Fatalf("%d content chunks, want 3:\n%s", n, b)
				}
				if !bytes.HasSuffix(b, []byte("data: [DONE]\n\n")) || !bytes.Contains(b, []byte(`"usage"`)) {
					t.Fatalf("no usage or [DONE]:\n%s", b)
				}
			}},
		{name: "stream, flag last behind a gateway's stream_options", method: "POST", path: "/v1/chat/completions",
			body:     `{"messages":[],"model":"m","stream":true,"stream_options":{"include_usage":true}}`,
			wantType: "text/event-stream", check: func(t *testing.T, b []byte) {
				if n := bytes.Count(b, []byte(`"content":"tok`)); n != 3 {
					t.Fatalf("%d content chunks, want 3:\n%s", n, b)
				}
				if !bytes.HasSuffix(b, []byte("data: [DONE]\n\n")) || !bytes.Contains(b, []byte(`"usage"`)) {
					t.Fatalf("no usage or [DONE]:\n%s", b)
				}
			}},
		{name: "converse", method: "POST", path: "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", body: `{}`,
			wantType: "application/json", check: func(t *testing.T, b []byte) {
				if !bytes.Contains(b, []byte(`"stopReason":"end_turn"`)) {
					t.Fatalf("not a Converse answer: %s", b)
				}
			}},
		{name: "stats", method: "GET", path: "/stats", wantType: "application/json", check: func(t *testing.T, b []byte) {
			var st Stats
			if err := json.Unmarshal(b, &st); err != nil || st.Requests != 4 || st.Streams != 2 || st.CPUSeconds <= 0 {
				t.Fatalf("stats %+v err %v", st, err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://fake" + tt.path)
			req.Header.SetMethod(tt.method)
			if tt.body != "" {
				req.SetBodyString(tt.body)
			}
			if err := c.Do(req, resp); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode() != 200 || string(resp.Header.ContentType()) != tt.wantType {
				t.Fatalf("status %d type %q", resp.StatusCode(), resp.Header.ContentType())
			}
			tt.check(t, resp.Body())
		})
	}
}

func TestResponses(t *testing.T) {
	tests := []struct {
		name     string
		response string
		wantLen  int
		want     []string // members the answer must have
		wantErr  bool
	}{
		{name: "default", response: "", wantLen: 643, want: []string{"usage.total_tokens"}},
		{name: "fixed", response: ResponseFixed, wantLen: 643, want: []string{"usage.total_tokens"}},
		{name: "openai", response: ResponseOpenAI, wantLen: 591, want: []string{
			"usage.prompt_tokens_details.cached_tokens", "usage.completion_tokens_details.reasoning_tokens",
			"system_fingerprint", "choices.0.message.refusal", "choices.0.logprobs", "usage.total_tokens"}},
		{name: "unknown", response: "anthropic", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(Config{Response: tt.response}); (err != nil) != tt.wantErr {
				t.Fatalf("New: err %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			c := serve(t, Config{Response: tt.response})
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://fake/v1/chat/completions")
			req.Header.SetMethod("POST")
			req.SetBodyString(`{"messages":[],"model":"m","max_tokens":16,"stream":false}`)
			if err := c.Do(req, resp); err != nil {
				t.Fatal(err)
			}
			b := resp.Body()
			if len(b) != tt.wantLen || !json.Valid(b) {
				t.Fatalf("answer of %d bytes (valid JSON %t), want %d", len(b), json.Valid(b), tt.wantLen)
			}
			for _, path := range tt.want {
				if !gjson.GetBytes(b, path).Exists() {
					t.Errorf("answer lacks %s", path)
				}
			}
		})
	}
}
