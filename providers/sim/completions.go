package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// completionRequest is the part of a /v1/completions request the sim reads.
type completionRequest struct {
	Model         string                `json:"model"`
	Prompt        json.RawMessage       `json:"prompt"`
	MaxTokens     *int                  `json:"max_tokens"`
	N             *int                  `json:"n"`
	Stream        bool                  `json:"stream"`
	StreamOptions *schema.StreamOptions `json:"stream_options"`
	Seed          *int64                `json:"seed"`
	Echo          bool                  `json:"echo"`
}

// prompt is one prompt: its text, or for a token-array prompt its token count
// and a text standing in for it (the ids) that seeds the output.
type prompt struct {
	text   string
	tokens int // > 0 for token arrays
}

// completionChoice is one choice of a text_completion response or chunk.
type completionChoice struct {
	Text         string  `json:"text"`
	Index        int     `json:"index"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

// completionBody is a text_completion response or chunk.
type completionBody struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *schema.Usage      `json:"usage,omitempty"`
}

// parsePrompts accepts a string, an array of strings, an array of token ids or
// an array of token-id arrays.
func parsePrompts(raw json.RawMessage) ([]prompt, error) {
	raw = bytes.TrimSpace(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []prompt{{text: s}}, nil
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil && len(ss) > 0 {
		out := make([]prompt, len(ss))
		for i, v := range ss {
			out[i] = prompt{text: v}
		}
		return out, nil
	}
	var ids []int
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		return []prompt{idsPrompt(ids)}, nil
	}
	var idss [][]int
	if json.Unmarshal(raw, &idss) == nil && len(idss) > 0 {
		out := make([]prompt, len(idss))
		for i, v := range idss {
			out[i] = idsPrompt(v)
		}
		return out, nil
	}
	return nil, badRequest("prompt", "prompt must be a string, an array of strings or an array of token arrays")
}

func idsPrompt(ids []int) prompt {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return prompt{text: strings.Join(parts, " "), tokens: max(len(ids), 1)}
}

// completion serves a /v1/completions request: len(prompts)*n choices, choice
// prompt*n+j answering prompt number prompt.
func (a *Adapter) completion(ctx context.Context, s settings, raw []byte,
	emit func([]byte) error) ([]byte, schema.Usage, error) {
	var req completionRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, schema.Usage{}, schema.Errorf(400, schema.ErrInvalidRequest, "sim: invalid request body: %v", err)
	}
	if req.Model == "" {
		return nil, schema.Usage{}, badRequest("model", "you must provide a model parameter")
	}
	prompts, err := parsePrompts(req.Prompt)
	if err != nil {
		return nil, schema.Usage{}, err
	}
	maxTokens := 0
	if req.MaxTokens != nil {
		maxTokens = *req.MaxTokens
	}
	n, maxTokens, err := checkCounts(req.N, maxTokens)
	if err != nil {
		return nil, schema.Usage{}, err
	}
	if len(prompts)*n > MaxChoices {
		return nil, schema.Usage{}, badRequest("n", "prompts times n must be at most %d", MaxChoices)
	}
	var u schema.Usage
	outs := make([]output, 0, len(prompts)*n)
	for _, p := range prompts {
		if p.tokens > 0 {
			u.PromptTokens += p.tokens
		} else {
			u.PromptTokens += a.counter.Count(req.Model, p.text)
		}
		seed := seedOfText(p.text, req.Seed)
		var echo []string
		if s.mode == ModeEcho && p.tokens == 0 {
			echo = a.counter.Split(req.Model, p.text)
		}
		for j := range n {
			if s.mode == ModeEcho {
				outs = append(outs, a.textOutput(req.Model, echo, maxTokens, false))
			} else {
				outs = append(outs, a.textOutput(req.Model, lorem(seed, j, limit(s.outputTokens, maxTokens)), maxTokens, true))
			}
		}
	}
	for _, o := range outs {
		u.CompletionTokens += o.tokens
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	body := completionBody{ID: newID("cmpl-sim-"), Object: "text_completion", Created: time.Now().Unix(), Model: req.Model}
	if req.Stream && emit != nil {
		send := func(c []completionChoice, u *schema.Usage) error {
			body.Choices, body.Usage = c, u
			b, err := json.Marshal(body)
			if err != nil {
				return schema.Errorf(500, schema.ErrServer, "sim: encode chunk: %v", err)
			}
			if err := emit(b); err != nil {
				return fmt.Errorf("sim: emit chunk: %w", err)
			}
			return nil
		}
		err := a.run(ctx, s, req.Model, u.PromptTokens, outs, func(i, step int) error {
			return send([]completionChoice{{Text: outs[i].pieces[step], Index: i}}, nil)
		})
		if err != nil {
			return nil, u, err
		}
		for i := range outs {
			if err := send([]completionChoice{{Index: i, FinishReason: &outs[i].finish}}, nil); err != nil {
				return nil, u, err
			}
		}
		if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
			return nil, u, send([]completionChoice{}, &u)
		}
		return nil, u, nil
	}
	if err := a.run(ctx, s, req.Model, u.PromptTokens, outs, func(int, int) error { return nil }); err != nil {
		return nil, u, err
	}
	body.Choices, body.Usage = make([]completionChoice, len(outs)), &u
	for i := range outs {
		text := joinPieces(outs[i].pieces)
		if req.Echo {
			text = prompts[i/n].text + text
		}
		body.Choices[i] = completionChoice{Text: text, Index: i, FinishReason: &outs[i].finish}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, u, schema.Errorf(500, schema.ErrServer, "sim: encode response: %v", err)
	}
	return b, u, nil
}
