package tokens

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// TestCountChatJSON checks that counting the JSON body gives what counting
// the decoded request gives, for every construct CountChat counts.
func TestCountChatJSON(t *testing.T) {
	c := New()
	for _, tc := range []struct{ name, body string }{
		{"sdk", `{"model":"gpt-4o-mini","max_tokens":64,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Explain in one sentence what an AI gateway does."}]}`},
		{"escapes", `{"model":"gpt-4o","messages":[{"role":"user","content":"line one\nline \"two\" \u00e9\ud83d\ude00"}]}`},
		{"name and refusal", `{"model":"gpt-4o","messages":[{"role":"user","name":"bob","content":"hi"},{"role":"assistant","refusal":"I can't.","content":null}]}`},
		{"parts", `{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"hello world"},{"type":"image_url","image_url":{"url":"https://x/a.png","detail":"low"}},{"type":"image_url","image_url":{"url":"https://x/b.png"}},{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`},
		{"tool calls", `{"model":"gpt-4o","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}]}`},
		{"tools", `{"model":"gpt-4o","messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Get the weather","parameters":{ "type": "object", "properties": { "city": { "type": "string" } } }}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := schema.ParseChatRequest([]byte(tc.body))
			if err != nil {
				t.Fatalf("ParseChatRequest: %v", err)
			}
			want := c.CountChat(req)
			// The second count finds each message whole in the cache.
			for _, pass := range []string{"first", "cached"} {
				got, ok := c.CountChatJSON([]byte(tc.body))
				if !ok || got != want {
					t.Errorf("%s CountChatJSON = %d, %v; CountChat = %d", pass, got, ok, want)
				}
			}
		})
	}
	// A message's count is cached by its raw JSON, apart from texts: a text
	// spelling a counted message's JSON is counted as a text.
	msg := `{"role":"user","content":"hi"}`
	if _, ok := c.CountChatJSON([]byte(`{"model":"gpt-4o","messages":[` + msg + `]}`)); !ok {
		t.Fatal("CountChatJSON refused a message")
	}
	body := `{"model":"gpt-4o","messages":[{"role":"user","content":` + strconv.Quote(msg) + `}]}`
	req, err := schema.ParseChatRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := c.CountChatJSON([]byte(body)); !ok || got != New().CountChat(req) {
		t.Errorf("a text equal to a cached message's JSON: CountChatJSON = %d, %v; want %d", got, ok, New().CountChat(req))
	}
	// The same message under another encoding is counted in that encoding.
	long := `{"model":"%s","messages":[{"role":"user","content":"Antidisestablishmentarianism, pneumonoultramicroscopic; 東京 ☃ ∑"}]}`
	for _, model := range []string{"gpt-4o", "gpt-4", "gpt-4o"} {
		b := fmt.Sprintf(long, model)
		req, err := schema.ParseChatRequest([]byte(b))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := c.CountChatJSON([]byte(b)); got != c.CountChat(req) {
			t.Errorf("%s: CountChatJSON = %d, CountChat = %d", model, got, c.CountChat(req))
		}
	}
	if n, ok := c.CountChatJSON([]byte(`{"model":"gpt-4o","messages":[]}`)); !ok || n != ReplyPriming {
		t.Errorf("no messages: %d, %v; want %d, true", n, ok, ReplyPriming)
	}
	for _, bad := range []string{``, `[]`, `"x"`, `{"model":"m"}`, `{"messages":{}}`, `{"messages":`} {
		if n, ok := c.CountChatJSON([]byte(bad)); ok {
			t.Errorf("CountChatJSON(%q) = %d, true; want false", bad, n)
		}
	}
}
