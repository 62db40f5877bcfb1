package load

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestBodies(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		stream  bool
		minSize int
		maxSize int
	}{
		{name: "padded 1 KB", body: ChatBody("gpt-4o-mini", false, 1024), minSize: 1024, maxSize: 1024},
		{name: "padded small", body: ChatBody("gpt-4o-mini", true, 10), stream: true, minSize: 100, maxSize: 200},
		{name: "sdk", body: SDKBody("gpt-4o-mini", false), minSize: 150, maxSize: 300},
		{name: "sdk stream", body: SDKBody("gpt-4o-mini", true), stream: true, minSize: 150, maxSize: 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid(tt.body) {
				t.Fatalf("invalid JSON: %s", tt.body)
			}
			if n := len(tt.body); n < tt.minSize || n > tt.maxSize {
				t.Errorf("%d bytes, want %d to %d", n, tt.minSize, tt.maxSize)
			}
			var keys []string
			gjson.ParseBytes(tt.body).ForEach(func(k, _ gjson.Result) bool { keys = append(keys, k.Str); return true })
			if got := strings.Join(keys, ","); got != "messages,model,max_tokens,stream" {
				t.Errorf("members %s, want the SDK's order messages,model,max_tokens,stream", got)
			}
			if got := gjson.GetBytes(tt.body, "stream").Bool(); got != tt.stream {
				t.Errorf("stream %t, want %t", got, tt.stream)
			}
			if gjson.GetBytes(tt.body, "model").Str != "gpt-4o-mini" {
				t.Errorf("model %s", gjson.GetBytes(tt.body, "model"))
			}
		})
	}
}

func TestSDKHeaders(t *testing.T) {
	seen := map[string]bool{}
	for _, h := range SDKHeaders() {
		if h[0] == "" || h[1] == "" || seen[strings.ToLower(h[0])] {
			t.Errorf("header %q: empty or repeated", h)
		}
		seen[strings.ToLower(h[0])] = true
	}
	for _, want := range []string{"user-agent", "authorization", "x-stainless-lang"} {
		if !seen[want] {
			t.Errorf("no %s header", want)
		}
	}
}

func TestWithKey(t *testing.T) {
	sdk := SDKHeaders()
	got := WithKey(sdk, "sk-metered-0123456789")
	if len(got) != len(sdk) {
		t.Fatalf("%d headers, want %d", len(got), len(sdk))
	}
	n := 0
	for i, h := range got {
		if strings.EqualFold(h[0], "Authorization") {
			n++
			if h[1] != "Bearer sk-metered-0123456789" || sdk[i][1] != "Bearer sk-loadtest" {
				t.Errorf("authorization %q (SDK headers now %q)", h[1], sdk[i][1])
			}
		}
	}
	if n != 1 {
		t.Errorf("%d authorization headers", n)
	}
	if got := WithKey(nil, "k"); len(got) != 1 || got[0] != [2]string{"Authorization", "Bearer k"} {
		t.Errorf("no headers: %q", got)
	}
}

// TestRPCBody numbers a JSON-RPC body's id.
func TestRPCBody(t *testing.T) {
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call"}`)
	if got := string(rpcBody(body, 4217)); got != `{"jsonrpc":"2.0","id":4217,"method":"tools/call"}` {
		t.Errorf("rpcBody = %s", got)
	}
	if got := string(rpcBody([]byte(`{"id":"x"}`), 3)); got != `{"id":"x"}` {
		t.Errorf("a body without the placeholder changed: %s", got)
	}
}
