package ai

import (
	"testing"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// TestMaxTokens: admission reads the output cap policies reserve against,
// max_completion_tokens before max_tokens, the same on the one-pass scan and
// on the slow path (driven here through inspectSlow directly).
func TestMaxTokens(t *testing.T) {
	tests := []struct {
		name string
		body string
		want int
	}{
		{name: "none", body: `{"model":"m","messages":[{"role":"user","content":"x"}]}`, want: 0},
		{name: "max_tokens", body: `{"model":"m","max_tokens":256,"messages":[{"role":"user","content":"x"}]}`, want: 256},
		{name: "max_completion_tokens wins", body: `{"model":"m","max_tokens":256,"max_completion_tokens":64,"messages":[{"role":"user","content":"x"}]}`, want: 64},
		{name: "not a number", body: `{"model":"m","max_tokens":"lots","messages":[{"role":"user","content":"x"}]}`, want: 0},
		{name: "negative", body: `{"model":"m","max_tokens":-5,"messages":[{"role":"user","content":"x"}]}`, want: 0},
		{name: "nested is not top level", body: `{"model":"m","metadata":{"max_tokens":9},"messages":[{"role":"user","content":"x"}]}`, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fast, e := inspect([]byte(tt.body), schema.OpChat, 0)
			if e != nil {
				t.Fatal(e)
			}
			slow, e := inspectSlow([]byte(tt.body), schema.OpChat)
			if e != nil {
				t.Fatal(e)
			}
			if fast.maxTokens != tt.want || slow.maxTokens != tt.want {
				t.Errorf("max tokens: scan %d, slow path %d, want %d", fast.maxTokens, slow.maxTokens, tt.want)
			}
		})
	}
}
