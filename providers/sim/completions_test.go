package sim

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

func TestCompletions(t *testing.T) {
	a := NewAdapter(counter)
	tests := []struct {
		name        string
		cfg         config.SimConfig
		body        string
		wantChoices int
		wantPrompt  int
		wantFinish  string
		wantText    string // "" means any
	}{
		{"string prompt", config.SimConfig{OutputTokens: 6}, `{"model":"gpt-4","prompt":"hello world"}`, 1, 2, "stop", ""},
		{"array prompt with n", config.SimConfig{}, `{"model":"gpt-4","prompt":["hello world","tiktoken is great!"],"n":2}`,
			4, 8, "stop", ""},
		{"token prompt", config.SimConfig{}, `{"model":"gpt-4","prompt":[1,2,3]}`, 1, 3, "stop", ""},
		{"token arrays", config.SimConfig{}, `{"model":"gpt-4","prompt":[[1,2],[3]]}`, 2, 3, "stop", ""},
		{"max tokens", config.SimConfig{}, `{"model":"gpt-4","prompt":"x","max_tokens":3}`, 1, 1, "length", ""},
		{"echo mode", config.SimConfig{Mode: "echo"}, `{"model":"gpt-4","prompt":"hello world"}`, 1, 2, "stop", "hello world"},
		{"echo field", config.SimConfig{Mode: "echo"}, `{"model":"gpt-4","prompt":"hi","echo":true}`, 1, 1, "stop", "hihi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, u, err := a.Do(context.Background(), schema.OpCompletion, backend(tt.cfg), []byte(tt.body), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var resp completionBody
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.Object != "text_completion" || !strings.HasPrefix(resp.ID, "cmpl-sim-") || resp.Model != "gpt-4" {
				t.Errorf("object %q id %q model %q", resp.Object, resp.ID, resp.Model)
			}
			if len(resp.Choices) != tt.wantChoices || u.PromptTokens != tt.wantPrompt {
				t.Fatalf("%d choices, %d prompt tokens; want %d, %d", len(resp.Choices), u.PromptTokens, tt.wantChoices, tt.wantPrompt)
			}
			for i, c := range resp.Choices {
				if c.Index != i || *c.FinishReason != tt.wantFinish || (tt.wantText != "" && c.Text != tt.wantText) {
					t.Errorf("choice %d: %+v text %q", i, c, c.Text)
				}
			}
			if u.TotalTokens != u.PromptTokens+u.CompletionTokens || *resp.Usage != u {
				t.Errorf("usage %+v vs %+v", *resp.Usage, u)
			}
		})
	}
}

func TestCompletionsStream(t *testing.T) {
	a := NewAdapter(counter)
	raw := `{"model":"gpt-4","prompt":"hello","stream":true,"stream_options":{"include_usage":true}}`
	var text string
	var chunks []completionBody
	_, u, err := a.Do(context.Background(), schema.OpCompletion, backend(config.SimConfig{OutputTokens: 7}), []byte(raw), nil,
		func(b []byte) error {
			var c completionBody
			if err := json.Unmarshal(b, &c); err != nil {
				return err
			}
			chunks = append(chunks, c)
			if len(c.Choices) > 0 {
				text += c.Choices[0].Text
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 7+2 || chunks[len(chunks)-1].Usage == nil || *chunks[len(chunks)-2].Choices[0].FinishReason != "stop" {
		t.Fatalf("%d chunks, last %+v", len(chunks), chunks[len(chunks)-1])
	}
	if counter.Count("gpt-4", text) != 7 || u.CompletionTokens != 7 {
		t.Errorf("streamed %q, usage %+v", text, u)
	}
}

func TestEmbeddings(t *testing.T) {
	a := NewAdapter(counter)
	tests := []struct {
		name     string
		body     string
		wantN    int
		wantDims int
		status   int
	}{
		{"default dims", `{"model":"text-embedding-3-small","input":"hello world"}`, 1, DefaultDimensions, 0},
		{"dimensions", `{"model":"text-embedding-3-small","input":["hello world","x"],"dimensions":32}`, 2, 32, 0},
		{"base64", `{"model":"text-embedding-3-small","input":"hello world","encoding_format":"base64"}`, 1, DefaultDimensions, 0},
		{"bad dims", `{"model":"m","input":"x","dimensions":0}`, 0, 0, 400},
		{"bad format", `{"model":"m","input":"x","encoding_format":"int8"}`, 0, 0, 400},
		{"no input", `{"model":"m","input":[]}`, 0, 0, 400},
		// Each tiny input would be a MaxDimensions vector: bounded as OpenAI bounds it.
		{"too many inputs", `{"model":"m","dimensions":4096,"input":["a"` + strings.Repeat(`,"a"`, MaxEmbeddingInputs) + `]}`, 0, 0, 400},
		{"most inputs", `{"model":"m","dimensions":16,"input":["a"` + strings.Repeat(`,"a"`, MaxEmbeddingInputs-1) + `]}`, MaxEmbeddingInputs, 16, 0},
	}
	// The reference vector comes from an earlier, separate request, not from the
	// code under test: the same text must give the same vector on every call.
	first, _, err := a.Do(context.Background(), schema.OpEmbeddings, backend(config.SimConfig{}),
		[]byte(`{"model":"other-model","input":["hello world","x"]}`), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Data []struct {
			Embedding json.RawMessage `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal(first, &ref); err != nil || len(ref.Data) != 2 {
		t.Fatalf("reference request: %v %s", err, first)
	}
	want := decodeVector(t, ref.Data[0].Embedding)
	if other := decodeVector(t, ref.Data[1].Embedding); slices.Equal(other, want) {
		t.Fatalf("different texts give the same vector %v", want)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, u, err := a.Do(context.Background(), schema.OpEmbeddings, backend(config.SimConfig{}), []byte(tt.body), nil, nil)
			if tt.status != 0 {
				var se *schema.Error
				if !errors.As(err, &se) || se.Status != tt.status {
					t.Fatalf("err %v, want status %d", err, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var resp struct {
				Object string `json:"object"`
				Data   []struct {
					Index     int             `json:"index"`
					Embedding json.RawMessage `json:"embedding"`
				} `json:"data"`
				Usage schema.Usage `json:"usage"`
			}
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.Object != "list" || len(resp.Data) != tt.wantN || u.PromptTokens == 0 || resp.Usage != u {
				t.Fatalf("resp %s usage %+v", body, u)
			}
			vec := decodeVector(t, resp.Data[0].Embedding)
			if len(vec) != tt.wantDims {
				t.Fatalf("%d dims, want %d", len(vec), tt.wantDims)
			}
			norm := 0.0
			for _, v := range vec {
				norm += v * v
			}
			if math.Abs(norm-1) > 1e-5 {
				t.Errorf("norm %v, want 1", norm)
			}
			if tt.wantDims == DefaultDimensions {
				for i := range vec {
					if vec[i] != want[i] {
						t.Fatalf("vector not deterministic: %v vs %v", vec, want)
					}
				}
			}
		})
	}
}

func decodeVector(t *testing.T, raw json.RawMessage) []float64 {
	t.Helper()
	var floats []float64
	if json.Unmarshal(raw, &floats) == nil {
		return floats
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("embedding %s", raw)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+4 <= len(b); i += 4 {
		floats = append(floats, float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))))
	}
	return floats
}
