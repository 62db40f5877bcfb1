package bedrock

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// initialPayload is the initial capacity of the reused payload buffer; it
// grows to the largest payload seen (events are usually a few hundred bytes).
const initialPayload = 2 << 10

// Limits of one event-stream message, as the AWS event stream specification
// sets them (16 MiB per message, 128 KiB of headers). The SDK decoder checks
// neither: it would buffer whatever length a prelude announces (up to 4 GiB,
// or a wrapped-around length when the headers length exceeds the total).
const (
	maxFrameBytes   = 16 << 20
	maxHeadersBytes = 128 << 10
	// frameOverhead is the prelude (total and headers lengths), its CRC and the message CRC.
	frameOverhead = 16
)

// frameReader reads whole event-stream messages after checking their
// announced lengths, so that a hostile or broken upstream cannot make the
// gateway allocate more than maxFrameBytes per message.
type frameReader struct {
	src io.Reader
	buf []byte
	rd  bytes.Reader
}

// next returns a reader over the next complete message, io.EOF at a clean
// end of stream, or an error for a truncated or oversized message.
func (f *frameReader) next() (*bytes.Reader, error) {
	var prelude [8]byte
	if _, err := io.ReadFull(f.src, prelude[:]); err != nil {
		return nil, err // io.EOF at a message boundary, io.ErrUnexpectedEOF inside one
	}
	total := binary.BigEndian.Uint32(prelude[0:4])
	headers := binary.BigEndian.Uint32(prelude[4:8])
	if total < frameOverhead || total > maxFrameBytes || headers > maxHeadersBytes || headers > total-frameOverhead {
		return nil, fmt.Errorf("event stream message length %d (headers %d) is out of bounds", total, headers)
	}
	if cap(f.buf) < int(total) {
		f.buf = make([]byte, total)
	}
	f.buf = f.buf[:total]
	copy(f.buf, prelude[:])
	if _, err := io.ReadFull(f.src, f.buf[len(prelude):]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	f.rd.Reset(f.buf)
	return &f.rd, nil
}

// streamState turns ConverseStream events into OpenAI chunks, one by one.
type streamState struct {
	t       *chatTranslator
	id      string
	created int64
	emit    func([]byte) error

	started bool
	tools   map[int]int // contentBlockIndex -> OpenAI tool call index
	nTools  int
	// noArgs holds the OpenAI indexes of open tool calls that have had no
	// argument fragment yet: they get "{}" when their block (or the message)
	// stops, so that every call's arguments are valid JSON.
	noArgs    map[int]bool
	stopped   bool
	usage     schema.Usage
	usageSent bool
}

// Stream implements [providers.Translator.Stream]. It decodes the AWS event
// stream frame by frame and emits chunks as events arrive: a role chunk, text
// and tool-call deltas, a finish chunk at messageStop, and a usage-only chunk
// (empty choices) last. An exception event ends it with a *schema.Error.
func (t *chatTranslator) Stream(src io.Reader, emit func(chunk []byte) error) (schema.Usage, error) {
	st := &streamState{t: t, id: t.newID(), created: t.now().Unix(), emit: emit, tools: map[int]int{},
		noArgs: map[int]bool{}}
	dec := eventstream.NewDecoder()
	buf := make([]byte, 0, initialPayload)
	frames := &frameReader{src: src}
	for {
		frame, err := frames.next()
		if errors.Is(err, io.EOF) {
			break
		}
		var msg eventstream.Message
		if err == nil {
			msg, err = dec.Decode(frame, buf[:0])
			if cap(msg.Payload) > cap(buf) {
				buf = msg.Payload[:0] // keep the grown buffer for the next frames
			}
		}
		if err != nil {
			return st.usage, &schema.Error{Status: http.StatusBadGateway, Type: schema.ErrServer,
				Message: fmt.Sprintf("bedrock: decode stream: %v", err)}
		}
		if err := st.handle(msg); err != nil {
			return st.usage, err
		}
	}
	if !st.stopped {
		return st.usage, schema.Errorf(http.StatusBadGateway, schema.ErrServer, "bedrock stream ended before messageStop")
	}
	if !st.usageSent {
		if err := st.sendUsage(); err != nil {
			return st.usage, err
		}
	}
	return st.usage, nil
}

func headerString(msg eventstream.Message, name string) string {
	if v := msg.Headers.Get(name); v != nil {
		if s, ok := v.Get().(string); ok {
			return s
		}
	}
	return ""
}

func (st *streamState) handle(msg eventstream.Message) error {
	switch headerString(msg, ":message-type") {
	case "exception":
		return exceptionError(headerString(msg, ":exception-type"), msg.Payload)
	case "error":
		text := headerString(msg, ":error-message")
		if text == "" {
			text = "bedrock stream error " + headerString(msg, ":error-code")
		}
		return &schema.Error{Status: http.StatusBadGateway, Type: schema.ErrServer, Message: text,
			Code: headerString(msg, ":error-code")}
	case "event", "":
	default:
		return nil
	}
	bad := func(err error) error {
		return &schema.Error{Status: http.StatusBadGateway, Type: schema.ErrServer,
			Message: fmt.Sprintf("bedrock: decode %s event: %v", headerString(msg, ":event-type"), err)}
	}
	switch headerString(msg, ":event-type") {
	case "messageStart":
		return st.start()
	case "contentBlockStart":
		var ev contentBlockStartEvent
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			return bad(err)
		}
		if ev.Start.ToolUse == nil {
			return nil
		}
		return st.toolStart(ev.ContentBlockIndex, ev.Start.ToolUse.ToolUseID, ev.Start.ToolUse.Name)
	case "contentBlockDelta":
		var ev contentBlockDeltaEvent
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			return bad(err)
		}
		switch {
		case ev.Delta.Text != nil:
			return st.send(schema.Delta{Content: ev.Delta.Text}, nil)
		case ev.Delta.ToolUse != nil:
			idx, ok := st.tools[ev.ContentBlockIndex]
			if !ok { // a delta with no start: open the call with a generated id
				if err := st.toolStart(ev.ContentBlockIndex, st.id+fmt.Sprintf("_tool%d", st.nTools), ""); err != nil {
					return err
				}
				idx = st.tools[ev.ContentBlockIndex]
			}
			if ev.Delta.ToolUse.Input == "" {
				return nil
			}
			delete(st.noArgs, idx)
			return st.send(schema.Delta{ToolCalls: []schema.ToolCall{{Index: &idx,
				Function: schema.FunctionCall{Arguments: ev.Delta.ToolUse.Input}}}}, nil)
		}
		return nil // reasoningContent and other deltas are not translated
	case "messageStop":
		var ev messageStopEvent
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			return bad(err)
		}
		if st.stopped {
			return nil
		}
		if err := st.closeArgs(-1); err != nil {
			return err
		}
		st.stopped = true
		finish := mapStopReason(ev.StopReason, st.nTools > 0)
		return st.send(schema.Delta{}, &finish)
	case "metadata":
		var ev metadataEvent
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			return bad(err)
		}
		if ev.Usage != nil {
			st.usage = convertUsage(*ev.Usage)
		}
		if st.stopped && !st.usageSent {
			return st.sendUsage()
		}
	case "contentBlockStop":
		var ev contentBlockStopEvent
		if err := json.Unmarshal(msg.Payload, &ev); err != nil {
			return bad(err)
		}
		if idx, ok := st.tools[ev.ContentBlockIndex]; ok {
			return st.closeArgs(idx)
		}
	}
	return nil // unknown events carry nothing to translate
}

// closeArgs sends "{}" as the arguments of the tool call idx (every open
// call when idx < 0) when no argument fragment came for it: a tool called
// without input may stream no fragment, and "" is not valid JSON.
func (st *streamState) closeArgs(idx int) error {
	if len(st.noArgs) == 0 {
		return nil
	}
	for i := 0; i < st.nTools; i++ {
		if (idx >= 0 && i != idx) || !st.noArgs[i] {
			continue
		}
		delete(st.noArgs, i)
		n := i
		if err := st.send(schema.Delta{ToolCalls: []schema.ToolCall{{Index: &n,
			Function: schema.FunctionCall{Arguments: "{}"}}}}, nil); err != nil {
			return err
		}
	}
	return nil
}

func (st *streamState) start() error {
	if st.started {
		return nil
	}
	st.started = true
	empty := ""
	return st.write(schema.ChatChunk{ID: st.id, Object: "chat.completion.chunk", Created: st.created, Model: st.t.model,
		Choices: []schema.ChunkChoice{{Delta: schema.Delta{Role: schema.RoleAssistant, Content: &empty}}}})
}

func (st *streamState) toolStart(block int, id, name string) error {
	if _, open := st.tools[block]; open {
		return nil // a repeated start must not open a second call for the same block
	}
	idx := st.nTools
	st.nTools++
	st.tools[block] = idx
	st.noArgs[idx] = true
	return st.send(schema.Delta{ToolCalls: []schema.ToolCall{{Index: &idx, ID: id, Type: "function",
		Function: schema.FunctionCall{Name: name, Arguments: ""}}}}, nil)
}

// send emits a chunk with one choice, after the role chunk.
func (st *streamState) send(d schema.Delta, finish *string) error {
	if err := st.start(); err != nil {
		return err
	}
	return st.write(schema.ChatChunk{ID: st.id, Object: "chat.completion.chunk", Created: st.created, Model: st.t.model,
		Choices: []schema.ChunkChoice{{Delta: d, FinishReason: finish}}})
}

func (st *streamState) sendUsage() error {
	st.usageSent = true
	u := st.usage
	return st.write(schema.ChatChunk{ID: st.id, Object: "chat.completion.chunk", Created: st.created, Model: st.t.model,
		Choices: []schema.ChunkChoice{}, Usage: &u})
}

func (st *streamState) write(c schema.ChatChunk) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("bedrock: encode chunk: %w", err)
	}
	return st.emit(b)
}
