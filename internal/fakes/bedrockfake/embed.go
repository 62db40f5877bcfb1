package bedrockfake

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"strings"
)

// Embedding dimensions the fake returns by default.
const (
	TitanDefaultDimensions = 1024
	CohereDimensions       = 1024
)

type titanRequest struct {
	InputText      string   `json:"inputText"`
	Dimensions     *int     `json:"dimensions"`
	Normalize      *bool    `json:"normalize"`
	EmbeddingTypes []string `json:"embeddingTypes"`
}

type cohereRequest struct {
	Texts          []string `json:"texts"`
	InputType      string   `json:"input_type"`
	Truncate       string   `json:"truncate"`
	EmbeddingTypes []string `json:"embedding_types"`
}

func (s *Server) invoke(w http.ResponseWriter, modelID string, body []byte) {
	switch {
	case strings.HasPrefix(modelID, "amazon.titan-embed-text"):
		s.titan(w, modelID, body)
	case strings.HasPrefix(modelID, "cohere.embed-"):
		s.cohere(w, body)
	default:
		writeError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("The provided model identifier %s is not supported by the fake.", modelID))
	}
}

func (s *Server) titan(w http.ResponseWriter, modelID string, body []byte) {
	var req titanRequest
	if err := decodeStrict(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	// Titan Embeddings G1 (v1) takes inputText only; the V2 options are refused.
	if strings.HasPrefix(modelID, "amazon.titan-embed-text-v1") {
		for key, set := range map[string]bool{"dimensions": req.Dimensions != nil, "normalize": req.Normalize != nil,
			"embeddingTypes": req.EmbeddingTypes != nil} {
			if set {
				writeError(w, http.StatusBadRequest, "ValidationException",
					"Malformed input request: extraneous key ["+key+"] is not permitted, please reformat your input and try again.")
				return
			}
		}
	}
	if req.InputText == "" {
		writeError(w, http.StatusBadRequest, "ValidationException", "Malformed input request: #: required key [inputText] not found, please reformat your input and try again.")
		return
	}
	dims := TitanDefaultDimensions
	if req.Dimensions != nil {
		dims = *req.Dimensions
		if dims != 256 && dims != 512 && dims != 1024 {
			writeError(w, http.StatusBadRequest, "ValidationException", "Malformed input request: #/dimensions: must be one of 256, 512, 1024, please reformat your input and try again.")
			return
		}
	}
	normalize := req.Normalize == nil || *req.Normalize
	writeJSON(w, map[string]any{
		"embedding":           Vector(req.InputText, dims, normalize),
		"inputTextTokenCount": len(strings.Fields(req.InputText)),
	})
}

func (s *Server) cohere(w http.ResponseWriter, body []byte) {
	var req cohereRequest
	if err := decodeStrict(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "ValidationException", err.Error())
		return
	}
	switch {
	case len(req.Texts) == 0 || len(req.Texts) > 96:
		writeError(w, http.StatusBadRequest, "ValidationException", "Malformed input request: #/texts: expected between 1 and 96 items, please reformat your input and try again.")
		return
	case req.InputType != "search_document" && req.InputType != "search_query" && req.InputType != "classification" && req.InputType != "clustering":
		writeError(w, http.StatusBadRequest, "ValidationException", "Malformed input request: #/input_type: must be one of search_document, search_query, classification, clustering, please reformat your input and try again.")
		return
	}
	vecs := make([][]float64, len(req.Texts))
	for i, t := range req.Texts {
		vecs[i] = Vector(t, CohereDimensions, false)
	}
	writeJSON(w, map[string]any{
		"id":            "fake-cohere-embed",
		"embeddings":    vecs,
		"texts":         req.Texts,
		"response_type": "embeddings_floats",
	})
}

// Vector is the fake's deterministic embedding of text: dims values derived
// from SHA-256 of the text, unit length when normalize.
func Vector(text string, dims int, normalize bool) []float64 {
	v := make([]float64, dims)
	var sum float64
	seed := sha256.Sum256([]byte(text))
	for i := 0; i < dims; i += 8 {
		block := sha256.Sum256(append(seed[:], byte(i), byte(i>>8)))
		for j := 0; j < 8 && i+j < dims; j++ {
			u := binary.BigEndian.Uint32(block[4*j:])
			x := float64(u)/float64(math.MaxUint32)*2 - 1
			// Round so that JSON round trips are exact and short.
			x = math.Round(x*1e6) / 1e6
			v[i+j] = x
			sum += x * x
		}
	}
	if normalize && sum > 0 {
		n := math.Sqrt(sum)
		for i := range v {
			v[i] = math.Round(v[i]/n*1e6) / 1e6
		}
	}
	return v
}
