// Package bedrock translates OpenAI chat completions and embeddings to Amazon
// Bedrock: chat to the Converse and ConverseStream APIs (event-stream frames
// translated back to OpenAI chunks as they arrive), embeddings to InvokeModel
// for Amazon Titan (one input per request) and Cohere (batched). Requests are
// signed by auth.AWSSigner (SigV4, service "bedrock") over the final body.
package bedrock

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Adapter makes Bedrock translators. It is stateless and safe for concurrent use.
type Adapter struct{}

var (
	_ providers.Adapter  = (*Adapter)(nil)
	_ providers.Compiler = (*Adapter)(nil)
)

// The translators NewTranslator makes.
var (
	_ providers.Translator = (*chatTranslator)(nil)
	_ providers.Translator = (*embedTranslator)(nil)
)

// New returns a Bedrock adapter.
func New() *Adapter { return &Adapter{} }

// NewTranslator implements [providers.Adapter.NewTranslator]. It serves
// schema.OpChat and schema.OpEmbeddings; other operations get a 400.
func (a *Adapter) NewTranslator(op schema.Operation, b *config.AIBackend) (providers.Translator, error) {
	endpoint, err := Endpoint(b)
	if err != nil {
		return nil, err
	}
	return newTranslator(op, endpoint)
}

// Compile implements [providers.Compiler]: the backend's runtime endpoint is
// worked out once per snapshot.
func (a *Adapter) Compile(b *config.AIBackend) (providers.Adapter, error) {
	endpoint, err := Endpoint(b)
	if err != nil {
		return nil, err
	}
	return compiled(endpoint), nil
}

// compiled is the Adapter of one backend, its endpoint known.
type compiled string

// NewTranslator implements [providers.Adapter.NewTranslator].
func (c compiled) NewTranslator(op schema.Operation, _ *config.AIBackend) (providers.Translator, error) {
	return newTranslator(op, string(c))
}

func newTranslator(op schema.Operation, endpoint string) (providers.Translator, error) {
	switch op {
	case schema.OpChat:
		return &chatTranslator{endpoint: endpoint, newID: newChatID, now: time.Now}, nil
	case schema.OpEmbeddings:
		return &embedTranslator{endpoint: endpoint}, nil
	}
	return nil, schema.Errorf(http.StatusBadRequest, schema.ErrInvalidRequest,
		"the bedrock provider does not serve the %s operation", op)
}

// Endpoint returns the Bedrock runtime base URL of b: b.BaseURL without a
// trailing slash, else https://bedrock-runtime.{region}.amazonaws.com.
func Endpoint(b *config.AIBackend) (string, error) {
	if b == nil {
		return "", schema.Errorf(http.StatusInternalServerError, schema.ErrServer, "bedrock: no backend configuration")
	}
	if b.BaseURL != "" {
		return withoutDefaultPort(strings.TrimRight(b.BaseURL, "/")), nil
	}
	if b.Region == "" {
		return "", schema.Errorf(http.StatusInternalServerError, schema.ErrServer,
			"bedrock backend has neither region nor baseURL")
	}
	return "https://bedrock-runtime." + b.Region + ".amazonaws.com", nil
}

// withoutDefaultPort drops an explicit :443 from an https URL (and :80 from an
// http one): SigV4 signs the host without a default port, so the Host header
// sent must not carry one either.
func withoutDefaultPort(u string) string {
	for _, p := range [...]struct{ scheme, port string }{{"https://", ":443"}, {"http://", ":80"}} {
		if !strings.HasPrefix(u, p.scheme) {
			continue
		}
		rest := u[len(p.scheme):]
		host, path := rest, ""
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			host, path = rest[:i], rest[i:]
		}
		if strings.HasSuffix(host, p.port) {
			return p.scheme + strings.TrimSuffix(host, p.port) + path
		}
	}
	return u
}

// ModelURL returns {endpoint}/model/{modelId}/{action} with the model id
// escaped as the AWS SDK escapes path labels (every byte but A-Z a-z 0-9 - _ . ~,
// so ':' is %3A and '/' in ARNs is %2F).
func ModelURL(endpoint, modelID, action string) string {
	return endpoint + "/model/" + escapeLabel(modelID) + "/" + action
}

func escapeLabel(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// newChatID returns a random OpenAI-style completion id (Bedrock has none in the body).
func newChatID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "chatcmpl-" + hex.EncodeToString(b[:])
}
