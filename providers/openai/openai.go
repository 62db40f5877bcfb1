// Package openai is the adapter for OpenAI's API and the APIs shaped like it:
// Azure OpenAI and OpenAI-compatible local servers (vLLM, llama.cpp, Ollama).
// The hot path forwards the client's body as is: only the stream_options of a
// streamed chat may be added, with sjson, so that usage can be metered.
package openai

import (
	"net/url"
	"strings"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// DefaultBaseURL is OpenAI's endpoint, used when an openai backend sets no baseURL.
const DefaultBaseURL = "https://api.openai.com"

// DefaultAzureAPIVersion is the api-version used when an azure backend sets none.
const DefaultAzureAPIVersion = "2024-10-21"

// Adapter makes translators for OpenAI-shaped upstreams. It is stateless and
// safe for concurrent use; the zero value is ready.
type Adapter struct{}

var (
	_ providers.Adapter  = (*Adapter)(nil)
	_ providers.Compiler = (*Adapter)(nil)
	_ providers.RawBody  = (*Adapter)(nil)
)

// New returns an Adapter.
func New() *Adapter { return &Adapter{} }

// RawBody implements [providers.RawBody]: OpenAI-shaped upstreams take the
// client's body as it is.
func (a *Adapter) RawBody() bool { return true }

// NewTranslator implements [providers.Adapter.NewTranslator].
func (a *Adapter) NewTranslator(op schema.Operation, b *config.AIBackend) (providers.Translator, error) {
	if b == nil {
		return nil, schema.Errorf(500, schema.ErrServer, "openai: no backend configuration")
	}
	switch op {
	case schema.OpChat, schema.OpCompletion, schema.OpEmbeddings:
	default:
		return nil, schema.Errorf(400, schema.ErrInvalidRequest, "operation %s is not supported", op)
	}
	return &Translator{op: op, backend: b}, nil
}

// Compile implements [providers.Compiler]: the backend's upstream URL for
// each operation is built once per snapshot, unless it depends on the
// request's model (an Azure backend with no fixed deployment).
func (a *Adapter) Compile(b *config.AIBackend) (providers.Adapter, error) {
	c := &compiled{b: b}
	for _, op := range []schema.Operation{schema.OpChat, schema.OpCompletion, schema.OpEmbeddings} {
		if b.Provider == config.ProviderAzure && b.Model == "" {
			break // the deployment is the request's model
		}
		t := Translator{op: op, backend: b}
		u, err := t.url(nil)
		if err != nil {
			return nil, err
		}
		c.urls[op] = u
	}
	return c, nil
}

// compiled is an Adapter for one backend with its URLs precomputed.
type compiled struct {
	b    *config.AIBackend
	urls [schema.OpEmbeddings + 1]string
}

var (
	_ providers.Adapter = (*compiled)(nil)
	_ providers.RawBody = (*compiled)(nil)
)

// RawBody implements [providers.RawBody].
func (c *compiled) RawBody() bool { return true }

// NewTranslator implements [providers.Adapter.NewTranslator]; b must be the
// backend the adapter was compiled for.
func (c *compiled) NewTranslator(op schema.Operation, b *config.AIBackend) (providers.Translator, error) {
	switch op {
	case schema.OpChat, schema.OpCompletion, schema.OpEmbeddings:
	default:
		return nil, schema.Errorf(400, schema.ErrInvalidRequest, "operation %s is not supported", op)
	}
	return &Translator{op: op, backend: c.b, fixedURL: c.urls[op]}, nil
}

// Translator serves one upstream attempt against an OpenAI-shaped API.
type Translator struct {
	op      schema.Operation
	backend *config.AIBackend
	// fixedURL is the upstream URL when the backend's compile built it.
	fixedURL string
	// stripUsage is set when the gateway added stream_options.include_usage:
	// the usage-only chunk is then read but not emitted.
	stripUsage bool
	// up and hdr back the Upstream that Request returns: one allocation per
	// attempt for the translator, its upstream request and the signer's header.
	up  schema.Upstream
	hdr [2]schema.Header
	// known is set by Known: stream and options (the raw stream_options,
	// nil when absent) need no lookup in the body.
	known   bool
	stream  bool
	options []byte
}

// Known tells the translator what the caller already read of the body it
// will pass to Request: whether it streams and its raw top-level
// stream_options value (nil: absent). Request then does not walk the body
// again (gjson looking for a key that is absent reads all of it: about 50 µs
// for a 256 KB prompt).
func (t *Translator) Known(stream bool, streamOptions []byte) {
	t.known, t.stream, t.options = true, stream, streamOptions
}

var (
	_ providers.Translator   = (*Translator)(nil)
	_ providers.KnownRequest = (*Translator)(nil)
	_ providers.ChunkReader  = (*Translator)(nil)
)

// Request implements [providers.Translator.Request]. raw is forwarded as is,
// except that a streamed chat without stream_options.include_usage gets it.
func (t *Translator) Request(raw []byte, req *schema.ChatRequest) (*schema.Upstream, error) {
	if raw == nil && req != nil {
		b, err := req.MarshalJSON()
		if err != nil {
			return nil, schema.Errorf(400, schema.ErrInvalidRequest, "openai: encode request: %v", err)
		}
		raw = b
	}
	stream, opts, hasOpts := t.stream, gjson.Result{}, t.options != nil
	if t.known {
		if hasOpts {
			opts = gjson.ParseBytes(t.options)
		}
	} else {
		stream = gjson.Get(bstr(raw), "stream").Bool()
	}
	body := raw
	t.stripUsage = false
	if stream && t.op == schema.OpChat {
		if !t.known {
			opts = gjson.Get(bstr(raw), "stream_options")
			hasOpts = opts.Exists()
		}
		if !opts.Get("include_usage").Bool() {
			b, err := includeUsage(raw, hasOpts)
			if err != nil {
				return nil, schema.Errorf(400, schema.ErrInvalidRequest, "openai: set stream_options: %v", err)
			}
			body, t.stripUsage = b, true
		}
	}
	u := t.fixedURL
	if u == "" {
		var err error
		if u, err = t.url(raw); err != nil {
			return nil, err
		}
	}
	t.up = schema.Upstream{Method: "POST", URL: u, Header: t.hdr[:0], ContentType: "application/json", Body: body, Stream: stream}
	t.known, t.options = false, nil // a view of the client's body, which a stream outlives
	return &t.up, nil
}

// includeUsage returns a copy of the JSON object raw with
// stream_options.include_usage set to true. Without a stream_options member
// it appends one before the closing brace (the bytes sjson would produce,
// without parsing the path); otherwise sjson sets the member.
func includeUsage(raw []byte, hasOptions bool) ([]byte, error) {
	end := len(raw) - 1
	for end >= 0 && isSpace(raw[end]) {
		end--
	}
	if hasOptions || end < 1 || raw[end] != '}' {
		return sjson.SetBytes(raw, "stream_options.include_usage", true)
	}
	prev := end - 1
	for prev >= 0 && isSpace(raw[prev]) {
		prev--
	}
	const member = `"stream_options":{"include_usage":true}`
	out := make([]byte, 0, len(raw)+len(member)+1)
	out = append(out, raw[:end]...)
	if raw[prev] != '{' {
		out = append(out, ',')
	}
	out = append(out, member...)
	return append(out, raw[end:]...), nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// bstr views b as a string without copying, for lookups whose results do not
// outlive b (gjson.GetBytes copies every result).
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// url returns the upstream URL for the translator's operation.
func (t *Translator) url(raw []byte) (string, error) {
	b := t.backend
	base := strings.TrimRight(b.BaseURL, "/")
	if b.Provider == config.ProviderAzure {
		if base == "" {
			return "", schema.Errorf(500, schema.ErrServer, "azure backend has no baseURL")
		}
		model := b.Model
		if model == "" {
			model = gjson.GetBytes(raw, "model").String()
		}
		ver := b.APIVersion
		if ver == "" {
			ver = DefaultAzureAPIVersion
		}
		return base + "/openai/deployments/" + url.PathEscape(model) + "/" + opPath(t.op) +
			"?api-version=" + url.QueryEscape(ver), nil
	}
	if base == "" {
		if b.Provider != config.ProviderOpenAI && b.Provider != "" {
			return "", schema.Errorf(500, schema.ErrServer, "%s backend has no baseURL", b.Provider)
		}
		base = DefaultBaseURL
	}
	base = strings.TrimSuffix(base, "/v1")
	return base + "/v1/" + opPath(t.op), nil
}

func opPath(op schema.Operation) string {
	switch op {
	case schema.OpCompletion:
		return "completions"
	case schema.OpEmbeddings:
		return "embeddings"
	}
	return "chat/completions"
}
