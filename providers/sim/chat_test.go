package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

func TestChatDeterminism(t *testing.T) {
	a := NewAdapter(counter)
	base := func() *schema.ChatRequest { return userChat("gpt-4o", "Tell me about gateways.") }
	tests := []struct {
		name      string
		other     func() *schema.ChatRequest
		wantEqual bool
	}{
		{"same request", base, true},
		{"same seed", func() *schema.ChatRequest { r := base(); r.Seed = nil; return r }, true},
		{"other message", func() *schema.ChatRequest { return userChat("gpt-4o", "Tell me about rivers.") }, false},
		{"seed set", func() *schema.ChatRequest { r := base(); r.Seed = ptr(int64(7)); return r }, false},
	}
	first, _ := doChat(t, a, config.SimConfig{OutputTokens: 32}, base())
	want := first.Choices[0].Message.Content.Text
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := doChat(t, a, config.SimConfig{OutputTokens: 32}, tt.other())
			got := resp.Choices[0].Message.Content.Text
			if (got == want) != tt.wantEqual {
				t.Errorf("text %q vs %q: equal=%v, want %v", got, want, got == want, tt.wantEqual)
			}
		})
	}
}

func TestChatResponse(t *testing.T) {
	a := NewAdapter(counter)
	tests := []struct {
		name       string
		cfg        config.SimConfig
		maxTokens  *int
		n          *int
		wantTokens int
		wantFinish string
	}{
		{"default length", config.SimConfig{}, nil, nil, DefaultOutputTokens, schema.FinishStop},
		{"configured length", config.SimConfig{OutputTokens: 40}, nil, nil, 40, schema.FinishStop},
		{"max tokens cuts", config.SimConfig{OutputTokens: 40}, ptr(5), nil, 5, schema.FinishLength},
		{"max tokens above length", config.SimConfig{OutputTokens: 8}, ptr(100), nil, 8, schema.FinishStop},
		{"max equals length", config.SimConfig{OutputTokens: 8}, ptr(8), nil, 8, schema.FinishStop},
		{"three choices", config.SimConfig{OutputTokens: 10}, nil, ptr(3), 10, schema.FinishStop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, model := range []string{"gpt-4o", "gpt-4"} {
				req := userChat(model, "hello world")
				req.MaxTokens, req.N = tt.maxTokens, tt.n
				resp, u := doChat(t, a, tt.cfg, req)
				n := 1
				if tt.n != nil {
					n = *tt.n
				}
				if !strings.HasPrefix(resp.ID, "chatcmpl-sim-") || resp.Object != "chat.completion" || resp.Model != model {
					t.Errorf("id %q object %q model %q", resp.ID, resp.Object, resp.Model)
				}
				if len(resp.Choices) != n {
					t.Fatalf("got %d choices, want %d", len(resp.Choices), n)
				}
				completion := 0
				for i, c := range resp.Choices {
					text := c.Message.Content.Text
					if got := counter.Count(model, text); got != tt.wantTokens {
						t.Errorf("choice %d: %d tokens in %q, want %d", i, got, text, tt.wantTokens)
					}
					if c.FinishReason != tt.wantFinish || c.Index != i || c.Message.Role != schema.RoleAssistant {
						t.Errorf("choice %d: finish %q index %d role %q", i, c.FinishReason, c.Index, c.Message.Role)
					}
					completion += counter.Count(model, text)
				}
				want := schema.Usage{PromptTokens: counter.CountChat(req), CompletionTokens: completion,
					TotalTokens: counter.CountChat(req) + completion}
				if *resp.Usage != want || u != want {
					t.Errorf("usage %+v (returned %+v), want %+v", *resp.Usage, u, want)
				}
			}
		})
	}
}

func TestChatEcho(t *testing.T) {
	a := NewAdapter(counter)
	tests := []struct {
		name, text string
		maxTokens  *int
		want       string
		finish     string
	}{
		{"echo", "Repeat after me, please.", nil, "Repeat after me, please.", schema.FinishStop},
		{"echo cut", "Repeat after me, please.", ptr(2), "Repeat after", schema.FinishLength},
		{"unicode", "こんにちは世界 🎉", nil, "こんにちは世界 🎉", schema.FinishStop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := userChat("gpt-4o", tt.text)
			req.MaxTokens = tt.maxTokens
			resp, u := doChat(t, a, config.SimConfig{Mode: "echo"}, req)
			if got := resp.Choices[0].Message.Content.Text; got != tt.want || resp.Choices[0].FinishReason != tt.finish {
				t.Errorf("got %q %s, want %q %s", got, resp.Choices[0].FinishReason, tt.want, tt.finish)
			}
			if u.CompletionTokens != counter.Count("gpt-4o", tt.want) {
				t.Errorf("completion tokens %d, want %d", u.CompletionTokens, counter.Count("gpt-4o", tt.want))
			}
		})
	}
}

func TestChatErrors(t *testing.T) {
	a := NewAdapter(counter)
	tests := []struct {
		name   string
		op     schema.Operation
		raw    string
		req    *schema.ChatRequest
		status int
	}{
		{"n zero", schema.OpChat, "", &schema.ChatRequest{Model: "m", N: ptr(0),
			Messages: []schema.Message{{Role: "user", Content: schema.TextContent("x")}}}, 400},
		{"negative max", schema.OpChat, "", &schema.ChatRequest{Model: "m", MaxTokens: ptr(-1),
			Messages: []schema.Message{{Role: "user", Content: schema.TextContent("x")}}}, 400},
		{"raw parsed when req nil", schema.OpChat, `{"model":"m","messages":[]}`, nil, 400},
		{"bad json", schema.OpChat, `{`, nil, 400},
		{"unknown op", schema.Operation(99), `{}`, nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := a.Do(context.Background(), tt.op, backend(config.SimConfig{}), []byte(tt.raw), tt.req, nil)
			var se *schema.Error
			if !errors.As(err, &se) || se.Status != tt.status {
				t.Fatalf("err = %v, want status %d", err, tt.status)
			}
		})
	}
}

func TestStream(t *testing.T) {
	a := NewAdapter(counter)
	tests := []struct {
		name         string
		cfg          config.SimConfig
		includeUsage bool
		n            int
	}{
		{"timed with usage", config.SimConfig{TimeToFirstToken: config.Duration(60 * time.Millisecond),
			InterTokenLatency: config.Duration(15 * time.Millisecond), OutputTokens: 5}, true, 1},
		{"no usage unless asked", config.SimConfig{OutputTokens: 3}, false, 1},
		{"two choices", config.SimConfig{OutputTokens: 4}, true, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := userChat("gpt-4o", "stream please")
			req.N = ptr(tt.n)
			if tt.includeUsage {
				req.StreamOptions = &schema.StreamOptions{IncludeUsage: true}
			}
			chunks, u, err := streamChat(context.Background(), t, a, tt.cfg, req, nil)
			if err != nil {
				t.Fatal(err)
			}
			// role chunks, then content, then finish chunks, then usage.
			texts := make([]string, tt.n)
			var contentAt []time.Duration
			finished := 0
			for i, c := range chunks {
				if c.chunk.ID != chunks[0].chunk.ID || c.chunk.Object != "chat.completion.chunk" {
					t.Errorf("chunk %d: id %q object %q", i, c.chunk.ID, c.chunk.Object)
				}
				if c.chunk.Usage != nil {
					if i != len(chunks)-1 || len(c.chunk.Choices) != 0 {
						t.Errorf("usage chunk at %d of %d with %d choices", i, len(chunks), len(c.chunk.Choices))
					}
					if *c.chunk.Usage != u {
						t.Errorf("usage chunk %+v, returned %+v", *c.chunk.Usage, u)
					}
					continue
				}
				ch := c.chunk.Choices[0]
				switch {
				case i < tt.n:
					if ch.Delta.Role != schema.RoleAssistant || ch.Index != i {
						t.Errorf("chunk %d: want role chunk, got %+v", i, ch)
					}
				case ch.FinishReason != nil:
					finished++
					if *ch.FinishReason != schema.FinishStop {
						t.Errorf("finish %q", *ch.FinishReason)
					}
				default:
					if finished > 0 {
						t.Errorf("content after finish at %d", i)
					}
					texts[ch.Index] += *ch.Delta.Content
					if ch.Index == 0 {
						contentAt = append(contentAt, c.at)
					}
				}
			}
			if finished != tt.n {
				t.Errorf("%d finish chunks, want %d", finished, tt.n)
			}
			if tt.includeUsage != (chunks[len(chunks)-1].chunk.Usage != nil) {
				t.Errorf("usage chunk present = %v, want %v", !tt.includeUsage, tt.includeUsage)
			}
			completion := 0
			for _, s := range texts {
				completion += counter.Count("gpt-4o", s)
			}
			if len(contentAt) != tt.cfg.OutputTokens || u.CompletionTokens != completion ||
				u.PromptTokens != counter.CountChat(req) {
				t.Errorf("%d content chunks, usage %+v, counted completion %d", len(contentAt), u, completion)
			}
			if contentAt[0] < tt.cfg.TimeToFirstToken.D() {
				t.Errorf("first token after %v, want >= %v", contentAt[0], tt.cfg.TimeToFirstToken.D())
			}
			for i := 1; i < len(contentAt); i++ {
				if gap := contentAt[i] - contentAt[i-1]; gap < tt.cfg.InterTokenLatency.D() {
					t.Errorf("token %d after %v, want >= %v", i, gap, tt.cfg.InterTokenLatency.D())
				}
			}
		})
	}
}

func TestStreamCancel(t *testing.T) {
	a := NewAdapter(counter)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.SimConfig{InterTokenLatency: config.Duration(20 * time.Millisecond), OutputTokens: 1000}
	start := time.Now()
	chunks, _, err := streamChat(ctx, t, a, cfg, userChat("gpt-4o", "long"), func(n int) {
		if n == 4 {
			cancel()
		}
	})
	var se *schema.Error
	if !errors.As(err, &se) || se.Status != 499 {
		t.Fatalf("err = %v, want a 499 schema.Error", err)
	}
	if len(chunks) > 5 || time.Since(start) > 2*time.Second {
		t.Errorf("stream ran on after cancel: %d chunks in %v", len(chunks), time.Since(start))
	}
	if r, w, kv := a.Stats("gpt-4o"); r != 0 || w != 0 || kv != 0 {
		t.Errorf("after cancel: running %d waiting %d kv %v", r, w, kv)
	}
}

func TestStreamEmitError(t *testing.T) {
	a := NewAdapter(counter)
	boom := errors.New("client gone")
	req := userChat("gpt-4o", "x")
	req.Stream = true
	_, _, err := a.Do(context.Background(), schema.OpChat, backend(config.SimConfig{}), nil, req,
		func([]byte) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the emit error", err)
	}
}
