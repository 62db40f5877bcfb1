// Package sim is Switchyard's built-in simulated model: an OpenAI-compatible
// model that answers in-process with deterministic text, a configurable time to
// first token, inter-token latency and output length, real token counts in its
// usage (providers/tokens), streaming, tool calls, completions, embeddings and
// vLLM-style Prometheus metrics. The router serves it as a [providers.Direct]
// adapter (provider "sim"); [NewServer] serves it standalone over HTTP.
package sim

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/providers/tokens"
)

// Defaults and bounds.
const (
	// DefaultOutputTokens is the completion length when SimConfig.OutputTokens is 0.
	DefaultOutputTokens = 16
	// DefaultDimensions is the embedding length when the request has no dimensions.
	DefaultDimensions = 8
	// MaxDimensions bounds a requested embedding length.
	MaxDimensions = 4096
	// MaxEmbeddingInputs bounds the inputs of one embeddings request, as
	// OpenAI does: with MaxDimensions each, more would let one small body
	// make the answer huge.
	MaxEmbeddingInputs = 2048
	// MaxChoices bounds n, as OpenAI does.
	MaxChoices = 128
	// MaxOutputTokens bounds the completion length of one choice.
	MaxOutputTokens = 1 << 16
)

// Modes of SimConfig.Mode.
const (
	ModeLorem = "lorem"
	ModeEcho  = "echo"
)

// Adapter is the simulated model. It is safe for concurrent use; it keeps the
// live state behind its metrics (requests running and waiting per model name,
// simulated KV-cache tokens, token totals), so build one per process and share
// it across snapshots.
type Adapter struct {
	counter    *tokens.Counter
	models     models
	kvCapacity int
}

var _ providers.Direct = (*Adapter)(nil)

// Option configures an Adapter.
type Option func(*Adapter)

// WithKVCacheTokens sets the simulated KV-cache capacity per model name
// (default DefaultKVCacheTokens); values below 1 are ignored.
func WithKVCacheTokens(n int) Option {
	return func(a *Adapter) {
		if n > 0 {
			a.kvCapacity = n
		}
	}
}

// NewAdapter returns a simulated model counting tokens with c (a new Counter
// if c is nil).
func NewAdapter(c *tokens.Counter, opts ...Option) *Adapter {
	if c == nil {
		c = tokens.New()
	}
	a := &Adapter{counter: c, kvCapacity: DefaultKVCacheTokens}
	for _, o := range opts {
		o(a)
	}
	return a
}

// settings is a SimConfig with defaults applied.
type settings struct {
	ttft, itl    time.Duration
	outputTokens int
	mode         string
	maxRunning   int
}

func settingsOf(c *config.SimConfig) settings {
	s := settings{outputTokens: DefaultOutputTokens, mode: ModeLorem}
	if c == nil {
		return s
	}
	s.ttft, s.itl, s.maxRunning = c.TimeToFirstToken.D(), c.InterTokenLatency.D(), c.MaxRunning
	if c.OutputTokens > 0 {
		s.outputTokens = min(c.OutputTokens, MaxOutputTokens)
	}
	if strings.EqualFold(c.Mode, ModeEcho) {
		s.mode = ModeEcho
	}
	return s
}

// Do implements [providers.Direct.Do]. Chat and completions stream through
// emit when the request asks for a stream and emit is not nil; embeddings never
// stream. Errors are *schema.Error, except an error returned by emit, which is
// returned wrapped.
func (a *Adapter) Do(ctx context.Context, op schema.Operation, b *config.AIBackend, raw []byte,
	req *schema.ChatRequest, emit func(chunk []byte) error) ([]byte, schema.Usage, error) {
	var sc *config.SimConfig
	if b != nil {
		sc = b.Sim
	}
	s := settingsOf(sc)
	switch op {
	case schema.OpChat:
		if req == nil {
			r, err := schema.ParseChatRequest(raw)
			if err != nil {
				return nil, schema.Usage{}, err
			}
			req = r
		}
		return a.chat(ctx, s, req, emit)
	case schema.OpCompletion:
		return a.completion(ctx, s, raw, emit)
	case schema.OpEmbeddings:
		return a.embeddings(ctx, s, raw)
	}
	return nil, schema.Usage{}, schema.Errorf(400, schema.ErrInvalidRequest, "sim: operation %s is not supported", op)
}

// output is what one choice generates: content pieces (one token each, or a
// few for a multi-byte character), or a tool call whose arguments are streamed
// in pieces.
type output struct {
	pieces []string
	tool   *schema.ToolCall
	finish string
	tokens int // completion tokens of the choice
}

// run admits a request (waiting while MaxRunning requests run), then produces
// the outputs' pieces in steps: the first after TimeToFirstToken, each next
// after InterTokenLatency, calling piece for every choice that has one at that
// step. It tracks the metrics, and returns a *schema.Error when ctx ends.
func (a *Adapter) run(ctx context.Context, s settings, modelName string, promptTokens int, outs []output,
	piece func(choice, step int) error) error {
	m := a.models.get(modelName)
	if err := m.acquire(ctx, s.maxRunning); err != nil {
		return ctxError(err)
	}
	defer m.release(s.maxRunning)
	kv := promptTokens
	m.addKV(kv)
	defer func() { m.addKV(-kv) }()
	m.addTokens(promptTokens, 0)

	steps, total := 0, 0
	for _, o := range outs {
		steps = max(steps, len(o.pieces))
		total += o.tokens
	}
	emitted := 0
	var t *time.Timer
	for step := 0; step < max(steps, 1); step++ {
		d := s.itl
		if step == 0 {
			d = s.ttft
		}
		if err := sleep(ctx, &t, d); err != nil {
			return err
		}
		n := 0
		for i := range outs {
			if step < len(outs[i].pieces) {
				if err := piece(i, step); err != nil {
					return err
				}
				n++
			}
		}
		emitted += n
		kv += n
		m.addKV(n)
		m.addTokens(0, n)
	}
	if total > emitted { // tool calls count more tokens than pieces
		m.addTokens(0, total-emitted)
	}
	return nil
}

// sleep waits d (reusing *t), or until ctx ends.
func sleep(ctx context.Context, t **time.Timer, d time.Duration) error {
	if d <= 0 {
		if err := ctx.Err(); err != nil {
			return ctxError(err)
		}
		return nil
	}
	if *t == nil {
		*t = time.NewTimer(d)
	} else {
		(*t).Reset(d)
	}
	select {
	case <-(*t).C:
		return nil
	case <-ctx.Done():
		(*t).Stop()
		return ctxError(ctx.Err())
	}
}

// ctxError maps a context error to an OpenAI-shaped error.
func ctxError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return schema.Errorf(504, schema.ErrTimeout, "sim: request timed out")
	}
	return schema.Errorf(499, schema.ErrInvalidRequest, "sim: request canceled")
}

// newID returns a unique response id with prefix.
func newID(prefix string) string {
	return prefix + strings.ToLower(rand.Text())
}

// textOutput makes a content output of the given pieces, cut to maxTokens
// (0: no limit); tokens counts the result's tokens when the pieces are not one
// token each.
func (a *Adapter) textOutput(model string, pieces []string, maxTokens int, onePerToken bool) output {
	o := output{pieces: pieces, finish: schema.FinishStop}
	if maxTokens > 0 && len(pieces) > maxTokens {
		o.pieces, o.finish = pieces[:maxTokens], schema.FinishLength
	}
	if onePerToken {
		o.tokens = len(o.pieces)
	} else {
		o.tokens = a.counter.Count(model, strings.Join(o.pieces, ""))
	}
	return o
}

// badRequest returns a 400 error naming param.
func badRequest(param, format string, args ...any) error {
	e := schema.Errorf(400, schema.ErrInvalidRequest, format, args...)
	e.Param = param
	return e
}
