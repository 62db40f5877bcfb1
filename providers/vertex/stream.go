package vertex

import (
	"encoding/json"
	"errors"
	"io"
	"sort"

	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/providers/sse"
)

// streamState is the translation state of one stream.
type streamState struct {
	t       *translator
	emit    func([]byte) error
	id      string
	model   string
	created int64
	started bool
	cands   map[int]*candState
	blocked bool
	usage   schema.Usage
}

// candState tracks one candidate (one OpenAI choice).
type candState struct {
	calls  int    // tool calls emitted
	finish string // Gemini finishReason, once seen
}

// Stream implements [providers.Translator.Stream]. Each SSE event is a whole
// GenerateContentResponse: text parts become content deltas, a functionCall
// part (which arrives whole) becomes a tool_calls delta opening the call and a
// second one carrying its complete arguments. After the upstream ends come a
// finish chunk per choice (tool_calls when calls were made) and the usage chunk.
func (t *translator) Stream(src io.Reader, emit func([]byte) error) (schema.Usage, error) {
	s := &streamState{t: t, emit: emit, created: t.now().Unix(), model: t.model, cands: map[int]*candState{}}
	r := sse.NewReader(src)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s.usage, schema.Errorf(502, schema.ErrServer, "%s: read stream: %v", t.flavor, err)
		}
		if len(ev.Data) == 0 || string(ev.Data) == "[DONE]" {
			continue
		}
		var gr generateResponse
		if err := json.Unmarshal(ev.Data, &gr); err != nil {
			return s.usage, schema.Errorf(502, schema.ErrServer, "%s: decode stream event: %v", t.flavor, err)
		}
		if gr.Error != nil {
			return s.usage, t.googleErr(0, gr.Error)
		}
		if err := s.event(&gr); err != nil {
			return s.usage, err
		}
	}
	return s.usage, s.finish()
}

// event translates one GenerateContentResponse.
func (s *streamState) event(gr *generateResponse) error {
	if s.id == "" {
		s.id = completionID(gr.ResponseID)
	}
	if gr.ModelVersion != "" {
		s.model = gr.ModelVersion
	}
	if gr.UsageMetadata != nil {
		s.usage = convertUsage(gr.UsageMetadata)
	}
	if gr.PromptFeedback != nil && gr.PromptFeedback.BlockReason != "" {
		s.blocked = true
	}
	if !s.started {
		s.started = true
		if err := s.send(schema.ChunkChoice{Delta: schema.Delta{Role: schema.RoleAssistant}}); err != nil {
			return err
		}
	}
	for _, c := range gr.Candidates {
		cs := s.cands[c.Index]
		if cs == nil {
			cs = &candState{}
			s.cands[c.Index] = cs
			if c.Index != 0 { // choice 0 got the role chunk above
				if err := s.send(schema.ChunkChoice{Index: c.Index, Delta: schema.Delta{Role: schema.RoleAssistant}}); err != nil {
					return err
				}
			}
		}
		for _, p := range c.Content.Parts {
			if err := s.part(c.Index, cs, p); err != nil {
				return err
			}
		}
		if c.FinishReason != "" {
			cs.finish = c.FinishReason
		}
	}
	return nil
}

// part emits the deltas of one part.
func (s *streamState) part(index int, cs *candState, p part) error {
	switch {
	case p.Thought:
		return nil
	case p.FunctionCall != nil:
		i := cs.calls
		cs.calls++
		open := schema.ToolCall{Index: &i, ID: toolCallID(i, p.FunctionCall.Name, p.ThoughtSignature), Type: "function",
			Function: schema.FunctionCall{Name: p.FunctionCall.Name, Arguments: ""}}
		if err := s.send(schema.ChunkChoice{Index: index, Delta: schema.Delta{ToolCalls: []schema.ToolCall{open}}}); err != nil {
			return err
		}
		args := schema.ToolCall{Index: &i, Function: schema.FunctionCall{Arguments: argsJSON(p.FunctionCall.Args)}}
		return s.send(schema.ChunkChoice{Index: index, Delta: schema.Delta{ToolCalls: []schema.ToolCall{args}}})
	case p.Text != "":
		text := p.Text
		return s.send(schema.ChunkChoice{Index: index, Delta: schema.Delta{Content: &text}})
	}
	return nil
}

// finish emits the finish chunks and the usage chunk once the upstream ended.
func (s *streamState) finish() error {
	if !s.started {
		return schema.Errorf(502, schema.ErrServer, "%s: stream ended without a response", s.t.flavor)
	}
	if len(s.cands) == 0 {
		reason := schema.FinishStop
		if s.blocked {
			reason = schema.FinishContentFilter
		}
		if err := s.send(schema.ChunkChoice{Delta: schema.Delta{}, FinishReason: &reason}); err != nil {
			return err
		}
		return s.sendUsage()
	}
	indexes := make([]int, 0, len(s.cands))
	for i := range s.cands {
		indexes = append(indexes, i)
	}
	sort.Ints(indexes)
	for _, i := range indexes {
		if s.cands[i].finish == "" {
			return schema.Errorf(502, schema.ErrServer, "%s: stream ended before the model finished", s.t.flavor)
		}
	}
	for _, i := range indexes {
		cs := s.cands[i]
		reason := mapFinish(cs.finish, cs.calls > 0)
		if err := s.send(schema.ChunkChoice{Index: i, Delta: schema.Delta{}, FinishReason: &reason}); err != nil {
			return err
		}
	}
	return s.sendUsage()
}

// send emits one chunk with one choice.
func (s *streamState) send(c schema.ChunkChoice) error {
	return s.write(schema.ChatChunk{ID: s.id, Object: "chat.completion.chunk", Created: s.created, Model: s.model,
		Choices: []schema.ChunkChoice{c}})
}

// sendUsage emits the usage-only chunk (empty choices), always last.
func (s *streamState) sendUsage() error {
	u := s.usage
	return s.write(schema.ChatChunk{ID: s.id, Object: "chat.completion.chunk", Created: s.created, Model: s.model,
		Choices: []schema.ChunkChoice{}, Usage: &u})
}

func (s *streamState) write(c schema.ChatChunk) error {
	b, err := json.Marshal(c)
	if err != nil {
		return schema.Errorf(500, schema.ErrServer, "%s: encode chunk: %v", s.t.flavor, err)
	}
	return s.emit(b)
}
