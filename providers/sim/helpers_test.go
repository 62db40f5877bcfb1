package sim

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/providers/tokens"
)

// counter is shared by the tests: encodings load once.
var counter = tokens.New()

func backend(c config.SimConfig) *config.AIBackend {
	return &config.AIBackend{Provider: config.ProviderSim, Sim: &c}
}

func userChat(model, text string) *schema.ChatRequest {
	return &schema.ChatRequest{Model: model, Messages: []schema.Message{
		{Role: schema.RoleSystem, Content: schema.TextContent("You are terse.")},
		{Role: schema.RoleUser, Content: schema.TextContent(text)},
	}}
}

// doChat runs a non-streamed chat and decodes the response.
func doChat(t *testing.T, a *Adapter, c config.SimConfig, req *schema.ChatRequest) (schema.ChatResponse, schema.Usage) {
	t.Helper()
	body, u, err := a.Do(context.Background(), schema.OpChat, backend(c), nil, req, nil)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	var resp schema.ChatResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return resp, u
}

// chunkAt is one emitted chunk and when it arrived.
type chunkAt struct {
	chunk schema.ChatChunk
	at    time.Duration
}

// streamChat runs a streamed chat, collecting the chunks with their arrival times.
func streamChat(ctx context.Context, t *testing.T, a *Adapter, c config.SimConfig, req *schema.ChatRequest,
	onChunk func(n int)) ([]chunkAt, schema.Usage, error) {
	t.Helper()
	req.Stream = true
	start := time.Now()
	var got []chunkAt
	_, u, err := a.Do(ctx, schema.OpChat, backend(c), nil, req, func(b []byte) error {
		var ch schema.ChatChunk
		if err := json.Unmarshal(b, &ch); err != nil {
			t.Errorf("chunk %s: %v", b, err)
		}
		got = append(got, chunkAt{ch, time.Since(start)})
		if onChunk != nil {
			onChunk(len(got))
		}
		return nil
	})
	return got, u, err
}

func ptr[T any](v T) *T { return &v }
