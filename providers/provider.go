// Package providers defines how the OpenAI front end talks to model providers:
// an Adapter per upstream API makes a Translator per upstream attempt, which
// turns the common schema (OpenAI chat) into the upstream's request and the
// upstream's response or stream back into OpenAI's shape. Translators are bytes
// in, bytes out: they know nothing of fasthttp or the router.
package providers

import (
	"context"
	"io"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// Adapter makes translators for one upstream API. It is built once per snapshot,
// is stateless, and is safe for concurrent use.
type Adapter interface {
	// NewTranslator returns a translator for one attempt of op against b, or an
	// *schema.Error (e.g. 400 for an operation the provider does not offer).
	NewTranslator(op schema.Operation, b *config.AIBackend) (Translator, error)
}

// Translator serves one upstream attempt; it is used by one goroutine and may
// keep state between Request and Response/Stream. A retry makes a new one.
type Translator interface {
	// Request builds the upstream request. raw is the client's body (with the
	// model field already set to the upstream model); req is its decoded form,
	// or nil when the router did not decode it (decode raw if you need it).
	// Request must not mutate raw or req: retries reuse them.
	Request(raw []byte, req *schema.ChatRequest) (*schema.Upstream, error)
	// Response translates a complete (non-streamed) upstream response. For a
	// non-2xx status it returns an *schema.Error mapped to OpenAI's shape.
	Response(status int, body []byte) ([]byte, schema.Usage, error)
	// Stream reads a 2xx upstream stream from src and calls emit once per OpenAI
	// chunk with the chunk's JSON (no "data: " framing, no [DONE]), as each
	// arrives. It returns the usage seen. A mid-stream upstream error is returned
	// as an *schema.Error after the chunks already emitted.
	Stream(src io.Reader, emit func(chunk []byte) error) (schema.Usage, error)
}

// Direct is implemented by adapters that answer in-process with no upstream
// call (the built-in sim). The router calls Do instead of NewTranslator.
type Direct interface {
	// Do serves one request. For a streamed chat (req.Stream) it calls emit once
	// per OpenAI chunk JSON, as Translator.Stream does, and returns a nil body;
	// otherwise it returns the OpenAI response body. Errors are *schema.Error.
	// raw is the client body; req is its decoded form for chat (nil for other ops).
	Do(ctx context.Context, op schema.Operation, b *config.AIBackend, raw []byte, req *schema.ChatRequest,
		emit func(chunk []byte) error) (body []byte, u schema.Usage, err error)
}
