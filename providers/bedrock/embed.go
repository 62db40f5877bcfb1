package bedrock

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Embedding model families Bedrock serves through InvokeModel.
const (
	familyTitan  = "titan"
	familyCohere = "cohere"
)

// embedTranslator serves one embeddings attempt against InvokeModel.
type embedTranslator struct {
	endpoint string
	model    string
	family   string
	base64   bool
	n        int
}

// embeddingFamily returns the family of an upstream model id, "" if unknown.
// Cross-region and ARN ids are matched on their last path element.
func embeddingFamily(model string) string {
	id := model[strings.LastIndexByte(model, '/')+1:]
	switch {
	case strings.Contains(id, "amazon.titan-embed-text"):
		return familyTitan
	case strings.Contains(id, "cohere.embed-"):
		return familyCohere
	}
	return ""
}

// isTitanG1 reports whether model is Titan Embeddings G1 - Text
// (amazon.titan-embed-text-v1), whose body has inputText and nothing else.
func isTitanG1(model string) bool {
	return strings.Contains(model[strings.LastIndexByte(model, '/')+1:], "amazon.titan-embed-text-v1")
}

// Request implements [providers.Translator.Request]. req is unused: the body
// is an OpenAI embeddings request. Titan takes one input per call; several
// inputs get a 400. Cohere takes up to 96 inputs in one call.
func (t *embedTranslator) Request(raw []byte, _ *schema.ChatRequest) (*schema.Upstream, error) {
	er, err := schema.ParseEmbeddingRequest(raw)
	if err != nil {
		return nil, err
	}
	t.model, t.n = er.Model, len(er.Input)
	switch er.EncodingFormat {
	case "", "float":
	case "base64":
		t.base64 = true
	default:
		return nil, badRequest("encoding_format", "encoding_format must be float or base64")
	}
	var body any
	switch t.family = embeddingFamily(er.Model); t.family {
	case familyTitan:
		if len(er.Input) != 1 {
			return nil, badRequest("input", "bedrock titan embeddings take one input per request")
		}
		if isTitanG1(er.Model) {
			// Titan Embeddings G1 takes inputText only: any other key is a ValidationException.
			if er.Dimensions != nil {
				return nil, badRequest("dimensions", "%s does not support dimensions", er.Model)
			}
			body = struct {
				InputText string `json:"inputText"`
			}{InputText: er.Input[0]}
			break
		}
		body = struct {
			InputText  string `json:"inputText"`
			Dimensions *int   `json:"dimensions,omitempty"`
			Normalize  bool   `json:"normalize"`
		}{InputText: er.Input[0], Dimensions: er.Dimensions, Normalize: true}
	case familyCohere:
		if len(er.Input) > 96 {
			return nil, badRequest("input", "bedrock cohere embeddings take at most 96 inputs per request")
		}
		body = struct {
			Texts     []string `json:"texts"`
			InputType string   `json:"input_type"`
		}{Texts: er.Input, InputType: "search_document"}
	default:
		return nil, badRequest("model", "bedrock embeddings support amazon.titan-embed-text-* and cohere.embed-* models, not %q", er.Model)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("bedrock: encode embeddings request: %w", err)
	}
	return &schema.Upstream{Method: http.MethodPost, URL: ModelURL(t.endpoint, er.Model, "invoke"),
		ContentType: "application/json", Body: b}, nil
}

// embeddingOut is one OpenAI embedding whose vector is floats or base64.
type embeddingOut struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

// Response implements [providers.Translator.Response].
func (t *embedTranslator) Response(status int, body []byte) ([]byte, schema.Usage, error) {
	if status < 200 || status > 299 {
		return nil, schema.Usage{}, vendorHTTPError(status, body)
	}
	var vecs [][]float64
	var u schema.Usage
	invalid := schema.Errorf(http.StatusBadGateway, schema.ErrServer, "bedrock returned an invalid embeddings response")
	switch t.family {
	case familyTitan:
		var r struct {
			Embedding           []float64 `json:"embedding"`
			InputTextTokenCount int       `json:"inputTextTokenCount"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Embedding == nil {
			return nil, u, invalid
		}
		vecs = [][]float64{r.Embedding}
		u.PromptTokens, u.TotalTokens = r.InputTextTokenCount, r.InputTextTokenCount
	case familyCohere:
		var r struct {
			Embeddings [][]float64 `json:"embeddings"`
		}
		if err := json.Unmarshal(body, &r); err != nil || len(r.Embeddings) != t.n {
			return nil, u, invalid
		}
		vecs = r.Embeddings // Cohere reports no token count in the body
	default:
		return nil, u, fmt.Errorf("bedrock: embeddings response before request")
	}
	data := make([]embeddingOut, len(vecs))
	for i, v := range vecs {
		data[i] = embeddingOut{Object: "embedding", Index: i, Embedding: v}
		if t.base64 {
			data[i].Embedding = float32Base64(v)
		}
	}
	out, err := json.Marshal(struct {
		Object string         `json:"object"`
		Data   []embeddingOut `json:"data"`
		Model  string         `json:"model"`
		Usage  schema.Usage   `json:"usage"`
	}{"list", data, t.model, u})
	if err != nil {
		return nil, u, fmt.Errorf("bedrock: encode embeddings response: %w", err)
	}
	return out, u, nil
}

// float32Base64 encodes v as little-endian float32s in base64, as OpenAI does.
func float32Base64(v []float64) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(x)))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Stream implements [providers.Translator.Stream]; embeddings never stream.
func (t *embedTranslator) Stream(io.Reader, func([]byte) error) (schema.Usage, error) {
	return schema.Usage{}, schema.Errorf(http.StatusBadRequest, schema.ErrInvalidRequest, "embeddings cannot be streamed")
}
