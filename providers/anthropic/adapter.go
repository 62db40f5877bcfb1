// Package anthropic translates OpenAI chat completions to and from the
// Anthropic Messages API, both on Anthropic's own endpoint (provider
// "anthropic", POST /v1/messages) and for Claude models on Google Vertex AI
// (provider "vertex" with a claude model, :rawPredict / :streamRawPredict).
//
// Authentication is not done here: the router signs the upstream request with
// auth.NewKeySigner("x-api-key", "", key) for Anthropic and with the GCP bearer
// signer for Vertex.
package anthropic

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Defaults of the Anthropic Messages API.
const (
	// DefaultBaseURL is Anthropic's API endpoint.
	DefaultBaseURL = "https://api.anthropic.com"
	// DefaultVersion is the anthropic-version header sent when the backend sets no apiVersion.
	DefaultVersion = "2023-06-01"
	// VertexVersion is the anthropic_version body field sent to Vertex AI when the backend sets no apiVersion.
	VertexVersion = "vertex-2023-10-16"
	// DefaultVertexRegion is the Vertex location used when the backend sets no region.
	DefaultVertexRegion = "global"
	// DefaultMaxTokens is sent as max_tokens (required by Anthropic) when the client gives none.
	DefaultMaxTokens = 4096
)

// Adapter makes translators for the Anthropic Messages API, either on
// Anthropic's endpoint or on Vertex AI. It is stateless and safe for
// concurrent use.
type Adapter struct {
	vertex bool
}

var (
	_ providers.Adapter  = (*Adapter)(nil)
	_ providers.Compiler = (*Adapter)(nil)
)

// NewAdapter returns the adapter for provider "anthropic" (api.anthropic.com).
func NewAdapter() *Adapter { return &Adapter{} }

// NewVertexAdapter returns the adapter for Claude models on Vertex AI
// (provider "vertex" with a claude model).
func NewVertexAdapter() *Adapter { return &Adapter{vertex: true} }

// NewTranslator implements [providers.Adapter.NewTranslator]. Only chat
// completions are offered; other operations get a 400 *schema.Error.
func (a *Adapter) NewTranslator(op schema.Operation, b *config.AIBackend) (providers.Translator, error) {
	if op != schema.OpChat {
		return nil, schema.Errorf(400, schema.ErrInvalidRequest,
			"%s: the %s operation is not supported by Anthropic models, use chat completions", a.name(), op)
	}
	if b == nil {
		return nil, schema.Errorf(500, schema.ErrServer, "%s: backend is not configured", a.name())
	}
	if a.vertex && b.Project == "" {
		return nil, schema.Errorf(500, schema.ErrServer, "%s: backend has no project", a.name())
	}
	return &translator{vertex: a.vertex, backend: b, url: a.baseOf(b), created: time.Now().Unix()}, nil
}

// Compile implements [providers.Compiler]: the backend's URL (or, on Vertex,
// the URL its model names are appended to) is worked out once per snapshot.
func (a *Adapter) Compile(b *config.AIBackend) (providers.Adapter, error) {
	if a.vertex && b.Project == "" {
		return nil, schema.Errorf(500, schema.ErrServer, "%s: backend has no project", a.name())
	}
	return &compiled{a: a, b: b, url: a.baseOf(b)}, nil
}

// compiled is the Adapter of one backend, its URL known.
type compiled struct {
	a   *Adapter
	b   *config.AIBackend
	url string
}

// NewTranslator implements [providers.Adapter.NewTranslator].
func (c *compiled) NewTranslator(op schema.Operation, _ *config.AIBackend) (providers.Translator, error) {
	if op != schema.OpChat {
		return nil, schema.Errorf(400, schema.ErrInvalidRequest,
			"%s: the %s operation is not supported by Anthropic models, use chat completions", c.a.name(), op)
	}
	return &translator{vertex: c.a.vertex, backend: c.b, url: c.url, created: time.Now().Unix()}, nil
}

// baseOf is the Messages API URL of b, or on Vertex the URL a model name is
// appended to: {base}/v1/projects/{project}/locations/{region}/publishers/anthropic/models/.
func (a *Adapter) baseOf(b *config.AIBackend) string {
	if !a.vertex {
		return baseURL(b.BaseURL, DefaultBaseURL) + "/v1/messages"
	}
	region := b.Region
	if region == "" {
		region = DefaultVertexRegion
	}
	def := "https://" + region + "-aiplatform.googleapis.com"
	if region == "global" {
		def = "https://aiplatform.googleapis.com"
	}
	return baseURL(b.BaseURL, def) + "/v1/projects/" + url.PathEscape(b.Project) +
		"/locations/" + url.PathEscape(region) + "/publishers/anthropic/models/"
}

func (a *Adapter) name() string {
	if a.vertex {
		return "vertex-anthropic"
	}
	return "anthropic"
}

// translator serves one upstream attempt.
type translator struct {
	vertex  bool
	backend *config.AIBackend
	// url is the backend's compiled URL (see Adapter.baseOf).
	url     string
	created int64

	// set by Request
	model    string // upstream model id, for responses that do not name one
	jsonTool string // name of the forced tool that emulates response_format, if any
}

var _ providers.Translator = (*translator)(nil)

// name is the prefix of error messages.
func (t *translator) name() string {
	if t.vertex {
		return "vertex-anthropic"
	}
	return "anthropic"
}

// Request implements [providers.Translator.Request].
func (t *translator) Request(raw []byte, req *schema.ChatRequest) (*schema.Upstream, error) {
	if req == nil {
		var err error
		if req, err = schema.ParseChatRequest(raw); err != nil {
			return nil, err
		}
	}
	model := req.Model
	if t.backend.Model != "" && model == "" {
		model = t.backend.Model
	}
	if model == "" {
		return nil, &schema.Error{Status: 400, Type: schema.ErrInvalidRequest, Param: "model",
			Message: "you must provide a model parameter"}
	}
	t.model = model
	body, err := t.buildRequest(req)
	if err != nil {
		return nil, err
	}
	u := &schema.Upstream{Method: "POST", ContentType: "application/json", Stream: req.Stream}
	if t.vertex {
		body.AnthropicVersion = t.backend.APIVersion
		if body.AnthropicVersion == "" {
			body.AnthropicVersion = VertexVersion
		}
		u.URL = t.vertexURL(model, req.Stream)
	} else {
		body.Model = model
		version := t.backend.APIVersion
		if version == "" {
			version = DefaultVersion
		}
		u.URL = t.url
		u.SetHeader("anthropic-version", version)
	}
	if u.Body, err = marshal(body); err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", t.name(), err)
	}
	return u, nil
}

// vertexURL is the rawPredict or streamRawPredict URL of model.
func (t *translator) vertexURL(model string, stream bool) string {
	method := ":rawPredict"
	if stream {
		method = ":streamRawPredict"
	}
	return t.url + url.PathEscape(model) + method
}

// baseURL returns override (without trailing slashes) or def.
func baseURL(override, def string) string {
	if override = strings.TrimRight(strings.TrimSpace(override), "/"); override != "" {
		return override
	}
	return def
}
