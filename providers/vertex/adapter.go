// Package vertex translates OpenAI chat requests to Google's Gemini
// generateContent API, served two ways: Vertex AI (provider "vertex",
// publishers/google models, GCP bearer credentials) and the Gemini API
// (provider "gemini", an API key in x-goog-api-key). Both speak the same
// GenerateContentRequest/Response JSON and stream it as SSE with alt=sse.
// Claude models on Vertex are served by the anthropic package, not here.
package vertex

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Default endpoints.
const (
	// GeminiBaseURL is the Gemini API's endpoint.
	GeminiBaseURL = "https://generativelanguage.googleapis.com"
	// DefaultRegion is the Vertex location used when a backend names none.
	DefaultRegion = "us-central1"
)

type flavor int

const (
	flavorVertex flavor = iota
	flavorGemini
)

func (f flavor) String() string {
	if f == flavorGemini {
		return "gemini"
	}
	return "vertex"
}

// Adapter makes translators for Vertex AI Gemini models or for the Gemini API.
// It is stateless and safe for concurrent use.
type Adapter struct {
	flavor flavor
	// now stamps responses that carry no createTime (tests fix it).
	now func() time.Time
}

var (
	_ providers.Adapter  = (*Adapter)(nil)
	_ providers.Compiler = (*Adapter)(nil)
)

// NewAdapter returns the adapter for provider "vertex" (Gemini models on
// Vertex AI). Requests go to
// {base}/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent
// with base https://{region}-aiplatform.googleapis.com (https://aiplatform.googleapis.com
// for region "global") unless the backend sets baseURL. Sign with auth.GCPSigner.
func NewAdapter() *Adapter { return &Adapter{flavor: flavorVertex, now: time.Now} }

// NewGeminiAdapter returns the adapter for provider "gemini" (the Gemini API):
// {base}/v1beta/models/{model}:generateContent with base
// https://generativelanguage.googleapis.com unless the backend sets baseURL.
// Sign with auth.NewKeySigner("x-goog-api-key", "", key).
func NewGeminiAdapter() *Adapter { return &Adapter{flavor: flavorGemini, now: time.Now} }

// NewTranslator implements [providers.Adapter.NewTranslator].
func (a *Adapter) NewTranslator(op schema.Operation, b *config.AIBackend) (providers.Translator, error) {
	if op != schema.OpChat {
		return nil, schema.Errorf(400, schema.ErrInvalidRequest,
			"%s: the %s operation is not supported by this provider", a.flavor, op)
	}
	if b == nil {
		return nil, schema.Errorf(500, schema.ErrServer, "%s: no backend configuration", a.flavor)
	}
	if a.flavor == flavorVertex && b.Project == "" {
		return nil, schema.Errorf(500, schema.ErrServer, "vertex: backend has no project")
	}
	now := a.now
	if now == nil {
		now = time.Now
	}
	return &translator{flavor: a.flavor, prefix: modelsURL(a.flavor, b), now: now}, nil
}

// Compile implements [providers.Compiler]: the backend's models URL is
// worked out once per snapshot.
func (a *Adapter) Compile(b *config.AIBackend) (providers.Adapter, error) {
	if a.flavor == flavorVertex && b.Project == "" {
		return nil, schema.Errorf(500, schema.ErrServer, "vertex: backend has no project")
	}
	return &compiled{a: a, prefix: modelsURL(a.flavor, b)}, nil
}

// compiled is the Adapter of one backend, its models URL known.
type compiled struct {
	a      *Adapter
	prefix string
}

// NewTranslator implements [providers.Adapter.NewTranslator].
func (c *compiled) NewTranslator(op schema.Operation, _ *config.AIBackend) (providers.Translator, error) {
	if op != schema.OpChat {
		return nil, schema.Errorf(400, schema.ErrInvalidRequest,
			"%s: the %s operation is not supported by this provider", c.a.flavor, op)
	}
	now := c.a.now
	if now == nil {
		now = time.Now
	}
	return &translator{flavor: c.a.flavor, prefix: c.prefix, now: now}, nil
}

// modelsURL is the URL a model name is appended to:
// {base}/v1/projects/{project}/locations/{region}/publishers/google/models/
// on Vertex, {base}/v1beta/models/ on the Gemini API.
func modelsURL(f flavor, b *config.AIBackend) string {
	base := strings.TrimRight(b.BaseURL, "/")
	if f == flavorGemini {
		if base == "" {
			base = GeminiBaseURL
		}
		return base + "/v1beta/models/"
	}
	region := b.Region
	if region == "" {
		region = DefaultRegion
	}
	if base == "" {
		base = VertexBaseURL(region)
	}
	return base + "/v1/projects/" + url.PathEscape(b.Project) + "/locations/" + url.PathEscape(region) +
		"/publishers/google/models/"
}

// translator serves one upstream attempt.
type translator struct {
	flavor flavor
	// prefix is the backend's models URL (modelsURL).
	prefix string
	now    func() time.Time
	// set by Request
	model  string
	stream bool
}

var _ providers.Translator = (*translator)(nil)

// endpoint returns the generateContent (or streamGenerateContent) URL for model.
func (t *translator) endpoint(model string, stream bool) string {
	method := ":generateContent"
	if stream {
		method = ":streamGenerateContent?alt=sse"
	}
	if t.flavor == flavorGemini {
		model = strings.TrimPrefix(model, "models/")
	} else {
		model = strings.TrimPrefix(model, "publishers/google/models/")
	}
	return t.prefix + url.PathEscape(model) + method
}

// VertexBaseURL returns Vertex AI's default endpoint for a location:
// https://{region}-aiplatform.googleapis.com, or https://aiplatform.googleapis.com
// for "global".
func VertexBaseURL(region string) string {
	if region == "" || region == "global" {
		return "https://aiplatform.googleapis.com"
	}
	return "https://" + region + "-aiplatform.googleapis.com"
}

// completionID returns the OpenAI id for a Gemini responseId (random when absent).
func completionID(responseID string) string {
	if responseID != "" {
		return "chatcmpl-" + responseID
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "chatcmpl-" + hex.EncodeToString(b[:])
}
