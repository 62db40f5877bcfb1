package sim

import (
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/providers/tokens"
)

func TestWordsAreSingleTokens(t *testing.T) {
	c := tokens.New()
	for _, model := range []string{"gpt-4o", "gpt-4"} {
		for _, w := range words {
			for _, v := range []string{w, " " + w, capitalize(w), " " + capitalize(w)} {
				if n := c.Count(model, v); n != 1 {
					t.Errorf("%s: %q is %d tokens, want 1", c.Encoding(model), v, n)
				}
			}
		}
		if n := c.Count(model, sentenceEnd); n != 1 {
			t.Errorf("%q is %d tokens", sentenceEnd, n)
		}
	}
}

func TestLoremTokenCount(t *testing.T) {
	c := tokens.New()
	tests := []struct {
		name  string
		seed  uint64
		n     int
		model string
	}{
		{"short", 1, 5, "gpt-4o"},
		{"medium", 42, 64, "gpt-4"},
		{"long", 7, 500, "gpt-4o"},
		{"one", 9, 1, "gpt-4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := lorem(tt.seed, 0, tt.n)
			if len(p) != tt.n {
				t.Fatalf("got %d pieces, want %d", len(p), tt.n)
			}
			text := strings.Join(p, "")
			if got := c.Count(tt.model, text); got != tt.n {
				t.Errorf("text %q counts %d tokens, want %d", text, got, tt.n)
			}
			if again := strings.Join(lorem(tt.seed, 0, tt.n), ""); again != text {
				t.Errorf("not deterministic")
			}
		})
	}
}
