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
	// Request builds the upstream request. req is the decoded body, with
	// Model set to the upstream model, or nil when the router did not decode
	// it; raw is the client's body, whose model field is set to the upstream
	// model when req is nil (decode raw then; when req is set, read req
	// only: raw may still name the client's model). Request must not mutate
	// raw or req: retries reuse them, and req is shared between attempts.
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

// Optional capabilities. The router asks for them with a type assertion on
// the interface, never on a concrete provider type.

// Compiler is implemented by adapters that precompute per-backend work
// (URLs, model overrides) when a snapshot is compiled: the router calls
// Compile once per backend per snapshot and makes that backend's
// translators with the Adapter it returns.
type Compiler interface {
	Compile(b *config.AIBackend) (Adapter, error)
}

// RawBody is implemented by adapters whose upstream takes the client's body
// as it is (OpenAI-shaped APIs): the router then never decodes the request
// for them.
type RawBody interface {
	RawBody() bool
}

// KnownRequest is implemented by translators that can skip looking up what
// the front end already read of the body it passes to Request: whether it
// streams, and its raw top-level stream_options value (nil: absent).
type KnownRequest interface {
	Known(stream bool, streamOptions []byte)
}

// ChunkReader is implemented by translators whose upstream stream is already
// OpenAI's: the router reads its chunks on the connection's goroutine, with
// no producer goroutine in between.
type ChunkReader interface {
	Chunks(src io.Reader) Chunks
}

// Chunks reads an OpenAI-shaped stream chunk by chunk.
type Chunks interface {
	// Next returns the next chunk's JSON (valid until the next call), or
	// io.EOF at the stream's normal end ([DONE] or the end of the body).
	Next() ([]byte, error)
	// Usage is the usage seen so far.
	Usage() schema.Usage
}

// Credential says in which header, with which prefix, a provider expects an
// API key; every provider not named takes "Authorization: Bearer KEY".
func Credential(provider string) (header, prefix string) {
	switch provider {
	case config.ProviderAzure:
		return "api-key", ""
	case config.ProviderAnthropic:
		return "x-api-key", ""
	case config.ProviderGemini:
		return "x-goog-api-key", ""
	}
	return "Authorization", "Bearer "
}
