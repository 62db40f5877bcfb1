package tokens

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

func TestEncoding(t *testing.T) {
	c := New()
	tests := []struct {
		name, model, want string
	}{
		{"gpt-4o", "gpt-4o", O200KBase},
		{"gpt-4o-mini dated", "gpt-4o-mini-2024-07-18", O200KBase},
		{"gpt-4.1", "gpt-4.1-nano", O200KBase},
		{"gpt-4.5", "gpt-4.5-preview", O200KBase},
		{"gpt-5", "gpt-5", O200KBase},
		{"gpt-5-mini", "gpt-5-mini", O200KBase},
		{"o1", "o1-preview", O200KBase},
		{"o3", "o3-mini", O200KBase},
		{"o4", "o4-mini", O200KBase},
		{"chatgpt-4o", "chatgpt-4o-latest", O200KBase},
		{"upper case", "GPT-4o", O200KBase},
		{"provider prefix", "openai/gpt-5", O200KBase},
		{"gpt-4", "gpt-4", CL100KBase},
		{"gpt-4-turbo", "gpt-4-turbo", CL100KBase},
		{"gpt-3.5", "gpt-3.5-turbo", CL100KBase},
		{"embeddings", "text-embedding-3-small", CL100KBase},
		{"claude", "claude-3-5-sonnet", CL100KBase},
		{"gemini", "gemini-2.0-flash", CL100KBase},
		{"llama", "meta-llama/Llama-3.1-8B-Instruct", CL100KBase},
		{"empty", "", CL100KBase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Encoding(tt.model); got != tt.want {
				t.Errorf("Encoding(%q) = %s, want %s", tt.model, got, tt.want)
			}
		})
	}
}

// Expected counts were computed once with tiktoken-go (and agree with OpenAI's
// cookbook where it lists them, e.g. "tiktoken is great!" = 6).
func TestCount(t *testing.T) {
	c := New()
	tests := []struct {
		name   string
		text   string
		o200k  int
		cl100k int
	}{
		{"empty", "", 0, 0},
		{"hello world", "hello world", 2, 2},
		{"punctuation", "Hello, world!", 4, 4},
		{"cookbook", "tiktoken is great!", 6, 6},
		{"long word", "antidisestablishmentarianism", 6, 6},
		{"japanese differs", "こんにちは世界", 2, 4},
		{"special token as text", "<|endoftext|>", 7, 7},
		{"space", " ", 1, 1},
		{"pangram", "The quick brown fox jumps over the lazy dog.", 10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Count("gpt-4o", tt.text); got != tt.o200k {
				t.Errorf("o200k Count(%q) = %d, want %d", tt.text, got, tt.o200k)
			}
			if got := c.Count("gpt-4", tt.text); got != tt.cl100k {
				t.Errorf("cl100k Count(%q) = %d, want %d", tt.text, got, tt.cl100k)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	c := New()
	tests := []struct {
		name, model, text string
		want              []string
	}{
		{"empty", "gpt-4o", "", nil},
		{"words", "gpt-4", "hello world", []string{"hello", " world"}},
		{"japanese", "gpt-4o", "こんにちは世界", []string{"こんにちは", "世界"}},
		{"emoji joined", "gpt-4o", "hi 🎉", []string{"hi", " 🎉"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Split(tt.model, tt.text)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Fatalf("Split(%q) = %q, want %q", tt.text, got, tt.want)
			}
			for _, p := range got {
				if !utf8.ValidString(p) {
					t.Errorf("piece %q is not valid UTF-8", p)
				}
			}
		})
	}
}

func TestSplitBytes(t *testing.T) {
	got := splitBytes("abcdé🎉x", 4)
	if strings.Join(got, "") != "abcdé🎉x" {
		t.Fatalf("splitBytes lost text: %q", got)
	}
	for _, p := range got {
		if !utf8.ValidString(p) {
			t.Errorf("piece %q is not valid UTF-8", p)
		}
	}
}

func TestCountChat(t *testing.T) {
	c := New()
	text := func(role, s string) schema.Message { return schema.Message{Role: role, Content: schema.TextContent(s)} }
	params := json.RawMessage(`{ "type": "object", "properties": { "city": { "type": "string" } } }`)
	tests := []struct {
		name string
		req  *schema.ChatRequest
		want int
	}{
		{"nil", nil, 0},
		// 3+1(system)+6 + 3+1(user)+2 + 3
		{"two messages", &schema.ChatRequest{Model: "gpt-4", Messages: []schema.Message{
			text("system", "You are a helpful assistant."), text("user", "hello world")}}, 19},
		// + name "bob" (1) + 1
		{"name", &schema.ChatRequest{Model: "gpt-4o", Messages: []schema.Message{
			text("system", "You are a helpful assistant."),
			{Role: "user", Content: schema.TextContent("hello world"), Name: "bob"}}}, 21},
		// 3+1 + parts: 2 + 85 (low) + 765 (auto) + 3
		{"images", &schema.ChatRequest{Model: "gpt-4o", Messages: []schema.Message{{Role: "user", Content: schema.Content{
			IsParts: true, Parts: []schema.ContentPart{
				{Type: "text", Text: "hello world"},
				{Type: "image_url", ImageURL: &schema.ImageURL{URL: "https://x/a.png", Detail: "low"}},
				{Type: "image_url", ImageURL: &schema.ImageURL{URL: "https://x/b.png"}},
			}}}}}, 3 + 1 + 2 + ImageLowDetail + ImageEstimate + 3},
		// user 3+1+2, tool def: name get_weather + description + params JSON (compacted)
		{"tools", &schema.ChatRequest{Model: "gpt-4o", Messages: []schema.Message{text("user", "hello world")},
			Tools: []schema.Tool{{Type: "function", Function: schema.FunctionDef{
				Name: "get_weather", Description: "Get the weather", Parameters: params}}}},
			3 + 1 + 2 + 3 + c.Count("gpt-4o", "get_weather") + c.Count("gpt-4o", "Get the weather") +
				c.Count("gpt-4o", `{"type":"object","properties":{"city":{"type":"string"}}}`)},
		// assistant tool call and tool result
		{"tool call", &schema.ChatRequest{Model: "gpt-4o", Messages: []schema.Message{
			{Role: "assistant", Content: schema.Content{IsNull: true}, ToolCalls: []schema.ToolCall{{ID: "c1", Type: "function",
				Function: schema.FunctionCall{Name: "f", Arguments: "{}"}}}},
			{Role: "tool", ToolCallID: "c1", Content: schema.TextContent("ok")}}},
			3 + c.Count("gpt-4o", "assistant") + c.Count("gpt-4o", "f") + c.Count("gpt-4o", "{}") +
				3 + c.Count("gpt-4o", "tool") + c.Count("gpt-4o", "c1") + c.Count("gpt-4o", "ok") + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.CountChat(tt.req); got != tt.want {
				t.Errorf("CountChat = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestConcurrentFirstUse(t *testing.T) {
	c := New()
	var wg sync.WaitGroup
	counts := make([]int, 16)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			model := "gpt-4"
			if i%2 == 0 {
				model = "gpt-4o"
			}
			counts[i] = c.Count(model, "hello world")
		}()
	}
	wg.Wait()
	for i, n := range counts {
		if n != 2 {
			t.Errorf("goroutine %d counted %d, want 2", i, n)
		}
	}
}

// TestCountCache: cached counts equal fresh ones, texts of one length do not
// share a count, and the cache stays bounded.
func TestCountCache(t *testing.T) {
	c := New()
	a := strings.Repeat("hello world ", 100)
	b := strings.Repeat("x", len(a)) // same length, far fewer tokens
	fresh := len(c.o200k.get().EncodeOrdinary(a))
	for i := 0; i < 3; i++ {
		if got := c.Count("gpt-4o", a); got != fresh {
			t.Fatalf("count %d = %d, want %d", i, got, fresh)
		}
	}
	if got, want := c.Count("gpt-4o", b), len(c.o200k.get().EncodeOrdinary(b)); got != want || got == fresh {
		t.Errorf("same-length text = %d, want %d", got, want)
	}
	if got, want := c.Count("gpt-4", a), len(c.cl100.get().EncodeOrdinary(a)); got != want {
		t.Errorf("cl100k count = %d, want %d", got, want)
	}
	for i := 0; i < cacheEntries+100; i++ {
		c.cache.put(countKey{hash: uint64(i), len: 1}, i)
	}
	if n := len(c.cache.m); n > cacheEntries {
		t.Errorf("cache holds %d entries, bound %d", n, cacheEntries)
	}
	var zero Counter // no seed: nothing cached
	zero.Count("gpt-4o", a)
	if zero.cache.m != nil {
		t.Error("the zero Counter cached a count")
	}
}

// TestPreload: after Preload both encodings are loaded, and counting needs no
// further loading.
func TestPreload(t *testing.T) {
	c := New()
	c.Preload()
	if c.o200k.tk == nil || c.cl100.tk == nil {
		t.Fatalf("Preload left an encoding unloaded: o200k %v, cl100k %v", c.o200k.tk != nil, c.cl100.tk != nil)
	}
	if n := c.Count("gpt-4o", "hello world"); n != 2 {
		t.Errorf("Count after Preload = %d, want 2", n)
	}
}
