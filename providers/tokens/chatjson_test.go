package tokens

import (
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
			got, ok := c.CountChatJSON([]byte(tc.body))
			if !ok || got != want {
				t.Errorf("CountChatJSON = %d, %v; CountChat = %d", got, ok, want)
			}
		})
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
