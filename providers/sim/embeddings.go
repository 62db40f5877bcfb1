package sim

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// embeddingData is one embedding, as a float list or base64 of little-endian float32s.
type embeddingData struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

// embeddings serves /v1/embeddings: per input a unit vector derived from the
// SHA-256 of its text, DefaultDimensions long unless dimensions says otherwise.
func (a *Adapter) embeddings(ctx context.Context, s settings, raw []byte) ([]byte, schema.Usage, error) {
	req, err := schema.ParseEmbeddingRequest(raw)
	if err != nil {
		return nil, schema.Usage{}, err
	}
	if len(req.Input) > MaxEmbeddingInputs {
		return nil, schema.Usage{}, badRequest("input", "input must have at most %d items", MaxEmbeddingInputs)
	}
	dims := DefaultDimensions
	if req.Dimensions != nil {
		dims = *req.Dimensions
		if dims < 1 || dims > MaxDimensions {
			return nil, schema.Usage{}, badRequest("dimensions", "dimensions must be between 1 and %d", MaxDimensions)
		}
	}
	b64 := false
	switch req.EncodingFormat {
	case "", "float":
	case "base64":
		b64 = true
	default:
		return nil, schema.Usage{}, badRequest("encoding_format", "encoding_format must be float or base64")
	}
	var u schema.Usage
	for _, in := range req.Input {
		u.PromptTokens += a.counter.Count(req.Model, in)
	}
	u.TotalTokens = u.PromptTokens

	m := a.models.get(req.Model)
	if err := m.acquire(ctx, s.maxRunning); err != nil {
		return nil, u, ctxError(err)
	}
	m.addTokens(u.PromptTokens, 0)
	m.release(s.maxRunning)

	data := make([]embeddingData, len(req.Input))
	for i, in := range req.Input {
		v := vector(in, dims)
		d := embeddingData{Object: "embedding", Index: i, Embedding: v}
		if b64 {
			d.Embedding = encodeFloat32(v)
		}
		data[i] = d
	}
	body, err := json.Marshal(struct {
		Object string          `json:"object"`
		Data   []embeddingData `json:"data"`
		Model  string          `json:"model"`
		Usage  *schema.Usage   `json:"usage"`
	}{"list", data, req.Model, &u})
	if err != nil {
		return nil, u, schema.Errorf(500, schema.ErrServer, "sim: encode response: %v", err)
	}
	return body, u, nil
}

// vector returns a deterministic unit vector of dims values for text.
func vector(text string, dims int) []float64 {
	sum := sha256.Sum256([]byte(text))
	r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
	v := make([]float64, dims)
	norm := 0.0
	for i := range v {
		v[i] = r.Float64()*2 - 1
		norm += v[i] * v[i]
	}
	norm = math.Sqrt(norm)
	if norm == 0 {
		v[0], norm = 1, 1
	}
	for i := range v {
		// float32 precision, so float and base64 answers agree.
		v[i] = float64(float32(v[i] / norm))
	}
	return v
}

// encodeFloat32 is OpenAI's base64 encoding: little-endian float32s.
func encodeFloat32(v []float64) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(f)))
	}
	return base64.StdEncoding.EncodeToString(b)
}
