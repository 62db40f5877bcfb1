package a2a

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestCanonical checks RFC 8785's examples of ordering, escaping and numbers.
func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"b":1,"a":[true,null,"x"]}`, `{"a":[true,null,"x"],"b":1}`},
		{`{"€":1,"\r":2,"1":3,"😀":4,"ö":5}`, `{"\r":2,"1":3,"ö":5,"€":1,"😀":4}`},
		{`"<tag>&\u2028\u0007"`, "\"<tag>&\u2028\\u0007\""},
		{`[1.0, 1e21, 1e-7, 0.000001, -0, 123456789012, 4.5]`, `[1,1e+21,1e-7,0.000001,0,123456789012,4.5]`},
		{`{"nested":{"z":"\"q\"","a":"\\"}}`, `{"nested":{"a":"\\","z":"\"q\""}}`},
	}
	for _, tc := range tests {
		dec := json.NewDecoder(strings.NewReader(tc.in))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := canonical(&buf, v); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("canonical(%s) = %s, want %s", tc.in, buf.String(), tc.want)
		}
	}
}

// TestRewrite maps agent URLs to the gateway's, replacing the agent's path.
func TestRewrite(t *testing.T) {
	agent, _ := url.Parse("http://agent.internal:9999/teams/x/agent")
	w := &rewriter{agent: agent, base: "https://gw.example/a2a/x"}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"http://agent.internal:9999/teams/x/agent", "https://gw.example/a2a/x", true},
		{"http://agent.internal:9999/teams/x/agent/rpc", "https://gw.example/a2a/x/rpc", true},
		{"http://AGENT.internal:9999/teams/x/agent/v1?x=1", "https://gw.example/a2a/x/v1?x=1", true},
		{"http://agent.internal:9999/teams/x/agentish", "http://agent.internal:9999/teams/x/agentish", false},
		{"http://agent.internal:9999/other", "http://agent.internal:9999/other", false},
		{"http://agent.internal/teams/x/agent", "http://agent.internal/teams/x/agent", false},
		{"https://agent.internal:9999/teams/x/agent", "https://agent.internal:9999/teams/x/agent", false},
		{"http://elsewhere:9999/teams/x/agent", "http://elsewhere:9999/teams/x/agent", false},
	}
	for _, tc := range tests {
		got, ok := w.rewrite(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("rewrite(%s) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	root, _ := url.Parse("https://agent.example")
	w = &rewriter{agent: root, base: "http://gw/agents/a"}
	if got, _ := w.rewrite("https://agent.example:443/"); got != "http://gw/agents/a/" {
		t.Errorf("default port: %s", got)
	}
}
