package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/providers/sse"
)

// blockKind says how a content block's deltas are translated.
type blockKind int

const (
	blockIgnored blockKind = iota // thinking, redacted_thinking, server tools...
	blockText                     // text deltas -> content
	blockTool                     // input_json_delta -> tool_calls arguments
	blockJSON                     // the response_format tool: input_json_delta -> content
)

// streamState is the state of one streamed response.
type streamState struct {
	t       *translator
	emit    func([]byte) error
	id      string
	model   string
	started bool
	blocks  map[int]blockKind
	toolIdx map[int]int // Anthropic block index -> OpenAI tool_calls index
	tools   int
	// noArgs holds the Anthropic block indexes of tool_use blocks (client
	// tools and the response_format tool) that have had no input fragment
	// yet: a tool called without input may stream none (or only ""), and
	// OpenAI clients need valid JSON, so "{}" is sent when the block stops.
	noArgs  map[int]bool
	stop    string
	stopped bool // a message_delta with stop_reason was seen
	usage   usage
}

// Stream implements [providers.Translator.Stream]. It reads Anthropic SSE
// events and emits OpenAI chunks as they arrive: the role chunk on
// message_start, text and tool-call deltas, the finish chunk and then the
// usage-only chunk on message_stop. Thinking blocks are dropped.
func (t *translator) Stream(src io.Reader, emit func(chunk []byte) error) (schema.Usage, error) {
	s := &streamState{t: t, emit: emit, model: t.model, blocks: map[int]blockKind{}, toolIdx: map[int]int{},
		noArgs: map[int]bool{}}
	r := sse.NewReader(src)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			if s.stopped {
				return s.finish()
			}
			return openAIUsage(s.usage), schema.Errorf(502, schema.ErrServer,
				"%s: upstream stream ended before message_stop", t.name())
		}
		if err != nil {
			return openAIUsage(s.usage), schema.Errorf(502, schema.ErrServer, "%s: read stream: %v", t.name(), err)
		}
		if len(ev.Data) == 0 {
			continue
		}
		var e streamEvent
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return openAIUsage(s.usage), schema.Errorf(502, schema.ErrServer,
				"%s: upstream sent an invalid %q event", t.name(), ev.Name)
		}
		if e.Type == "" {
			e.Type = ev.Name
		}
		done, err := s.handle(&e)
		if err != nil || done {
			return openAIUsage(s.usage), err
		}
	}
}

// handle translates one event; done is true after message_stop.
func (s *streamState) handle(e *streamEvent) (done bool, err error) {
	switch e.Type {
	case "message_start":
		if e.Message != nil {
			s.id = e.Message.ID
			if e.Message.Model != "" {
				s.model = e.Message.Model
			}
			s.usage = e.Message.Usage
		}
		return false, s.start()
	case "content_block_start":
		return false, s.blockStart(e)
	case "content_block_delta":
		return false, s.blockDelta(e)
	case "message_delta":
		if e.Delta != nil && e.Delta.StopReason != "" {
			s.stop, s.stopped = e.Delta.StopReason, true
		}
		if e.Usage != nil {
			s.mergeUsage(*e.Usage)
		}
		return false, nil
	case "content_block_stop":
		return false, s.closeArgs(e.Index)
	case "message_stop":
		_, err := s.finish()
		return true, err
	case "error":
		if e.Error == nil {
			e.Error = &apiError{Type: "api_error", Message: "stream error"}
		}
		return true, s.t.apiErr(500, e.Error)
	}
	return false, nil // ping, unknown events
}

// mergeUsage takes message_delta usage: output tokens are cumulative; input
// and cache counts, when present, replace message_start's.
func (s *streamState) mergeUsage(u usage) {
	s.usage.OutputTokens = u.OutputTokens
	if u.InputTokens > 0 {
		s.usage.InputTokens = u.InputTokens
	}
	if u.CacheReadInputTokens > 0 {
		s.usage.CacheReadInputTokens = u.CacheReadInputTokens
	}
	if u.CacheCreationInputTokens > 0 {
		s.usage.CacheCreationInputTokens = u.CacheCreationInputTokens
	}
}

// start emits the role chunk once.
func (s *streamState) start() error {
	if s.started {
		return nil
	}
	s.started = true
	empty := ""
	return s.send(schema.Delta{Role: schema.RoleAssistant, Content: &empty}, nil)
}

func (s *streamState) blockStart(e *streamEvent) error {
	if err := s.start(); err != nil {
		return err
	}
	b := e.ContentBlock
	if b == nil {
		return nil
	}
	if _, seen := s.blocks[e.Index]; seen {
		return nil // a repeated start must not open a second call for the same block
	}
	switch b.Type {
	case "text":
		s.blocks[e.Index] = blockText
		if b.Text != "" {
			return s.text(b.Text)
		}
	case "tool_use":
		s.noArgs[e.Index] = true
		if s.t.jsonTool != "" && b.Name == s.t.jsonTool {
			s.blocks[e.Index] = blockJSON
			return nil
		}
		idx := s.tools
		s.tools++
		s.blocks[e.Index], s.toolIdx[e.Index] = blockTool, idx
		return s.send(schema.Delta{ToolCalls: []schema.ToolCall{{Index: &idx, ID: b.ID, Type: "function",
			Function: schema.FunctionCall{Name: b.Name, Arguments: ""}}}}, nil)
	default:
		s.blocks[e.Index] = blockIgnored
	}
	return nil
}

func (s *streamState) blockDelta(e *streamEvent) error {
	if e.Delta == nil {
		return nil
	}
	switch s.blocks[e.Index] {
	case blockText:
		if e.Delta.Type == "text_delta" && e.Delta.Text != "" {
			return s.text(e.Delta.Text)
		}
	case blockJSON:
		if e.Delta.Type == "input_json_delta" && e.Delta.PartialJSON != "" {
			delete(s.noArgs, e.Index)
			return s.text(e.Delta.PartialJSON)
		}
	case blockTool:
		if e.Delta.Type == "input_json_delta" && e.Delta.PartialJSON != "" {
			delete(s.noArgs, e.Index)
			idx := s.toolIdx[e.Index]
			return s.send(schema.Delta{ToolCalls: []schema.ToolCall{{Index: &idx,
				Function: schema.FunctionCall{Arguments: e.Delta.PartialJSON}}}}, nil)
		}
	}
	return nil
}

// closeArgs completes the input of tool_use block index with "{}" when no
// fragment came for it.
func (s *streamState) closeArgs(index int) error {
	if !s.noArgs[index] {
		return nil
	}
	delete(s.noArgs, index)
	if s.blocks[index] == blockJSON {
		return s.text("{}")
	}
	idx := s.toolIdx[index]
	return s.send(schema.Delta{ToolCalls: []schema.ToolCall{{Index: &idx,
		Function: schema.FunctionCall{Arguments: "{}"}}}}, nil)
}

func (s *streamState) text(txt string) error {
	return s.send(schema.Delta{Content: &txt}, nil)
}

// finish emits the finish chunk and the usage-only chunk.
func (s *streamState) finish() (schema.Usage, error) {
	u := openAIUsage(s.usage)
	if err := s.start(); err != nil {
		return u, err
	}
	if len(s.noArgs) > 0 { // blocks the upstream never stopped, in block order
		open := make([]int, 0, len(s.noArgs))
		for i := range s.noArgs {
			open = append(open, i)
		}
		sort.Ints(open)
		for _, i := range open {
			if err := s.closeArgs(i); err != nil {
				return u, err
			}
		}
	}
	reason := finishReason(s.stop)
	switch {
	case s.tools > 0 && reason == schema.FinishStop:
		reason = schema.FinishToolCalls
	case s.tools == 0 && reason == schema.FinishToolCalls:
		reason = schema.FinishStop // only the response_format tool was called
	}
	if err := s.send(schema.Delta{}, &reason); err != nil {
		return u, err
	}
	return u, s.write(schema.ChatChunk{ID: s.id, Object: "chat.completion.chunk", Created: s.t.created,
		Model: s.model, Choices: []schema.ChunkChoice{}, Usage: &u})
}

// send emits a chunk with one choice.
func (s *streamState) send(d schema.Delta, finish *string) error {
	return s.write(schema.ChatChunk{ID: s.id, Object: "chat.completion.chunk", Created: s.t.created, Model: s.model,
		Choices: []schema.ChunkChoice{{Index: 0, Delta: d, FinishReason: finish}}})
}

func (s *streamState) write(c schema.ChatChunk) error {
	b, err := marshal(c)
	if err != nil {
		return fmt.Errorf("%s: encode chunk: %w", s.t.name(), err)
	}
	if err := s.emit(b); err != nil {
		return fmt.Errorf("%s: emit chunk: %w", s.t.name(), err)
	}
	return nil
}
