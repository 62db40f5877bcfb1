package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// chat serves a chat completion, streamed through emit when req.Stream.
func (a *Adapter) chat(ctx context.Context, s settings, req *schema.ChatRequest,
	emit func([]byte) error) ([]byte, schema.Usage, error) {
	n, maxTokens, err := checkCounts(req.N, req.MaxOutputTokens())
	if err != nil {
		return nil, schema.Usage{}, err
	}
	seed := seedOf(req.Messages, req.Seed)
	outs := make([]output, n)
	tool := toolToCall(req)
	var echo []string
	if tool == nil && s.mode == ModeEcho {
		echo = a.counter.Split(req.Model, lastUserText(req.Messages))
	}
	for i := range outs {
		switch {
		case tool != nil:
			outs[i] = a.toolOutput(req.Model, tool, seed)
		case s.mode == ModeEcho:
			outs[i] = a.textOutput(req.Model, echo, maxTokens, false)
		default:
			outs[i] = a.textOutput(req.Model, lorem(seed, i, limit(s.outputTokens, maxTokens)), maxTokens, true)
		}
	}
	u := schema.Usage{PromptTokens: a.counter.CountChat(req)}
	for _, o := range outs {
		u.CompletionTokens += o.tokens
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	id, created := newID("chatcmpl-sim-"), time.Now().Unix()
	if req.Stream && emit != nil {
		st := &chatStream{id: id, created: created, model: req.Model, outs: outs, emit: emit}
		if err := st.start(); err != nil {
			return nil, u, err
		}
		if err := a.run(ctx, s, req.Model, u.PromptTokens, outs, st.piece); err != nil {
			return nil, u, err
		}
		includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		return nil, u, st.finish(includeUsage, u)
	}
	if err := a.run(ctx, s, req.Model, u.PromptTokens, outs, func(int, int) error { return nil }); err != nil {
		return nil, u, err
	}
	resp := schema.ChatResponse{ID: id, Object: "chat.completion", Created: created, Model: req.Model,
		Choices: make([]schema.Choice, n), Usage: &u, SystemFingerprint: "fp_sim"}
	for i, o := range outs {
		msg := schema.Message{Role: schema.RoleAssistant}
		if o.tool != nil {
			msg.Content = schema.Content{IsNull: true}
			msg.ToolCalls = []schema.ToolCall{*o.tool}
		} else {
			msg.Content = schema.TextContent(joinPieces(o.pieces))
		}
		resp.Choices[i] = schema.Choice{Index: i, Message: msg, FinishReason: o.finish}
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return nil, u, schema.Errorf(500, schema.ErrServer, "sim: encode response: %v", err)
	}
	return body, u, nil
}

// checkCounts validates n and the max output tokens, returning n (default 1).
func checkCounts(np *int, maxTokens int) (n, maxOut int, err error) {
	n = 1
	if np != nil {
		n = *np
	}
	if n < 1 || n > MaxChoices {
		return 0, 0, badRequest("n", "n must be between 1 and %d", MaxChoices)
	}
	if maxTokens < 0 {
		return 0, 0, badRequest("max_tokens", "max_tokens must not be negative")
	}
	return n, maxTokens, nil
}

// limit returns how many lorem pieces to make: the configured length, or one
// more than maxTokens when that is smaller (so the cut is seen).
func limit(outputTokens, maxTokens int) int {
	if maxTokens > 0 && maxTokens < outputTokens {
		return maxTokens + 1
	}
	return outputTokens
}

func joinPieces(p []string) string {
	n := 0
	for _, s := range p {
		n += len(s)
	}
	b := make([]byte, 0, n)
	for _, s := range p {
		b = append(b, s...)
	}
	return string(b)
}

// chatStream writes the chunks of one streamed chat completion.
type chatStream struct {
	id      string
	created int64
	model   string
	outs    []output
	emit    func([]byte) error
}

func (st *chatStream) send(choices []schema.ChunkChoice, u *schema.Usage) error {
	b, err := json.Marshal(schema.ChatChunk{ID: st.id, Object: "chat.completion.chunk", Created: st.created,
		Model: st.model, Choices: choices, Usage: u})
	if err != nil {
		return schema.Errorf(500, schema.ErrServer, "sim: encode chunk: %v", err)
	}
	if err := st.emit(b); err != nil {
		return fmt.Errorf("sim: emit chunk: %w", err)
	}
	return nil
}

// start sends each choice's role chunk.
func (st *chatStream) start() error {
	empty := ""
	for i, o := range st.outs {
		d := schema.Delta{Role: schema.RoleAssistant}
		if o.tool == nil {
			d.Content = &empty
		}
		if err := st.send([]schema.ChunkChoice{{Index: i, Delta: d}}, nil); err != nil {
			return err
		}
	}
	return nil
}

// piece sends the step'th piece of a choice: content, or a tool call delta
// (the first with id, type and name, the next with arguments only).
func (st *chatStream) piece(choice, step int) error {
	o := &st.outs[choice]
	p := o.pieces[step]
	var d schema.Delta
	if o.tool == nil {
		d.Content = &p
	} else {
		zero := 0
		tc := schema.ToolCall{Index: &zero, Function: schema.FunctionCall{Arguments: p}}
		if step == 0 {
			tc.ID, tc.Type, tc.Function.Name = o.tool.ID, o.tool.Type, o.tool.Function.Name
		}
		d.ToolCalls = []schema.ToolCall{tc}
	}
	return st.send([]schema.ChunkChoice{{Index: choice, Delta: d}}, nil)
}

// finish sends each choice's finish chunk, then the usage chunk if asked.
func (st *chatStream) finish(includeUsage bool, u schema.Usage) error {
	for i := range st.outs {
		fr := st.outs[i].finish
		if err := st.send([]schema.ChunkChoice{{Index: i, FinishReason: &fr}}, nil); err != nil {
			return err
		}
	}
	if includeUsage {
		return st.send([]schema.ChunkChoice{}, &u)
	}
	return nil
}
