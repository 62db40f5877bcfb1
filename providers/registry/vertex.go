package registry

import (
	"io"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// vertexDispatch sends Claude models on Vertex to the Anthropic translator
// and every other model to Gemini. A backend with a fixed model is decided
// once, when the snapshot is compiled; otherwise per request.
type vertexDispatch struct {
	gemini, claude providers.Adapter
}

var (
	_ providers.Adapter  = (*vertexDispatch)(nil)
	_ providers.Compiler = (*vertexDispatch)(nil)
)

// isClaude reports whether a Vertex model is one of Anthropic's.
func isClaude(model string) bool {
	m := strings.ToLower(model)
	return strings.HasPrefix(m, "claude") || strings.Contains(m, "anthropic")
}

// Compile implements [providers.Compiler].
func (v *vertexDispatch) Compile(b *config.AIBackend) (providers.Adapter, error) {
	gemini, err := compile(v.gemini, b)
	if err != nil {
		return nil, err
	}
	claude, err := compile(v.claude, b)
	if err != nil {
		return nil, err
	}
	switch {
	case b.Model == "":
		return &vertexDispatch{gemini: gemini, claude: claude}, nil
	case isClaude(b.Model):
		return claude, nil
	}
	return gemini, nil
}

// compile returns a's adapter for backend b, compiled when a can be.
func compile(a providers.Adapter, b *config.AIBackend) (providers.Adapter, error) {
	if c, ok := a.(providers.Compiler); ok {
		return c.Compile(b)
	}
	return a, nil
}

// NewTranslator implements [providers.Adapter.NewTranslator].
func (v *vertexDispatch) NewTranslator(op schema.Operation, b *config.AIBackend) (providers.Translator, error) {
	return &lazyTranslator{v: v, op: op, b: b}, nil
}

// lazyTranslator picks the real translator once the model is known.
type lazyTranslator struct {
	v  *vertexDispatch
	op schema.Operation
	b  *config.AIBackend
	t  providers.Translator
}

var _ providers.Translator = (*lazyTranslator)(nil)

// Request implements [providers.Translator.Request].
func (l *lazyTranslator) Request(raw []byte, req *schema.ChatRequest) (*schema.Upstream, error) {
	var model string
	if req != nil {
		model = req.Model
	} else {
		model = gjson.GetBytes(raw, "model").String()
	}
	a := l.v.gemini
	if isClaude(model) {
		a = l.v.claude
	}
	t, err := a.NewTranslator(l.op, l.b)
	if err != nil {
		return nil, err
	}
	l.t = t
	return t.Request(raw, req)
}

// Response implements [providers.Translator.Response].
func (l *lazyTranslator) Response(status int, body []byte) ([]byte, schema.Usage, error) {
	if l.t == nil {
		return nil, schema.Usage{}, schema.Errorf(500, schema.ErrServer, "vertex: response before request")
	}
	return l.t.Response(status, body)
}

// Stream implements [providers.Translator.Stream].
func (l *lazyTranslator) Stream(src io.Reader, emit func([]byte) error) (schema.Usage, error) {
	if l.t == nil {
		return schema.Usage{}, schema.Errorf(500, schema.ErrServer, "vertex: stream before request")
	}
	return l.t.Stream(src, emit)
}
