package schema

import "encoding/json"

// The fields of the chat request, one bit each, to refuse a repeated key
// (encoding/json merges repeated objects into one value: the decoder leaves
// that to it).
const (
	fModel uint32 = 1 << iota
	fMessages
	fStream
	fStreamOptions
	fMaxTokens
	fMaxCompletionTokens
	fTemperature
	fTopP
	fN
	fStop
	fSeed
	fUser
	fPresencePenalty
	fFrequencyPenalty
	fTools
	fToolChoice
	fParallelToolCalls
	fResponseFormat
	fReasoningEffort
)

// chatFields are ChatRequest's JSON names, for the case-folding check.
var chatFields = []string{"model", "messages", "stream", "stream_options", "max_tokens",
	"max_completion_tokens", "temperature", "top_p", "n", "stop", "seed", "user", "presence_penalty",
	"frequency_penalty", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort"}

// seen marks field f as read, and reports false when it was already.
func seen(mask *uint32, f uint32) bool {
	if *mask&f != 0 {
		return false
	}
	*mask |= f
	return true
}

// decodeChatRequest decodes raw into r in one pass, as json.Unmarshal into a
// ChatRequest would; ok is false when it could not (see decoder).
func decodeChatRequest(raw []byte, r *ChatRequest) (ok bool) {
	d := newDecoder(raw)
	var mask uint32
	var extra map[string]json.RawMessage
	ok = d.object(func(key string) bool {
		switch key {
		case "model":
			return seen(&mask, fModel) && d.stringInto(&r.Model)
		case "messages":
			return seen(&mask, fMessages) && d.messages(&r.Messages)
		case "stream":
			return seen(&mask, fStream) && d.boolInto(&r.Stream)
		case "stream_options":
			return seen(&mask, fStreamOptions) && d.streamOptions(&r.StreamOptions)
		case "max_tokens":
			return seen(&mask, fMaxTokens) && d.intPtr(&r.MaxTokens)
		case "max_completion_tokens":
			return seen(&mask, fMaxCompletionTokens) && d.intPtr(&r.MaxCompletionTokens)
		case "temperature":
			return seen(&mask, fTemperature) && d.floatPtr(&r.Temperature)
		case "top_p":
			return seen(&mask, fTopP) && d.floatPtr(&r.TopP)
		case "n":
			return seen(&mask, fN) && d.intPtr(&r.N)
		case "stop":
			return seen(&mask, fStop) && d.stop(&r.Stop)
		case "seed":
			if !seen(&mask, fSeed) {
				return false
			}
			if d.null() {
				r.Seed = nil
				return true
			}
			n, ok := d.integer()
			r.Seed = &n
			return ok
		case "user":
			return seen(&mask, fUser) && d.stringInto(&r.User)
		case "presence_penalty":
			return seen(&mask, fPresencePenalty) && d.floatPtr(&r.PresencePenalty)
		case "frequency_penalty":
			return seen(&mask, fFrequencyPenalty) && d.floatPtr(&r.FrequencyPenalty)
		case "tools":
			return seen(&mask, fTools) && d.tools(&r.Tools)
		case "tool_choice":
			return seen(&mask, fToolChoice) && d.toolChoice(&r.ToolChoice)
		case "parallel_tool_calls":
			if !seen(&mask, fParallelToolCalls) {
				return false
			}
			if d.null() {
				r.ParallelToolCalls = nil
				return true
			}
			v, ok := d.boolean()
			r.ParallelToolCalls = &v
			return ok
		case "response_format":
			return seen(&mask, fResponseFormat) && d.responseFormat(&r.ResponseFormat)
		case "reasoning_effort":
			return seen(&mask, fReasoningEffort) && d.stringInto(&r.ReasoningEffort)
		}
		if folds(key, chatFields...) {
			return false
		}
		if _, dup := extra[key]; dup {
			return false
		}
		v, ok := d.raw()
		if extra == nil {
			extra = make(map[string]json.RawMessage)
		}
		extra[key] = v
		return ok
	})
	if !ok {
		return false
	}
	d.ws()
	if d.i != len(raw) {
		return false
	}
	r.Extra = extra
	return true
}

// stringInto reads a string or null (which leaves *dst as it is).
func (d *decoder) stringInto(dst *string) bool {
	switch d.peek() {
	case '"':
		s, ok := d.str()
		*dst = s
		return ok
	case 'n':
		return d.null()
	}
	return false
}

// boolInto reads a boolean or null (which leaves *dst as it is).
func (d *decoder) boolInto(dst *bool) bool {
	if d.null() {
		return true
	}
	v, ok := d.boolean()
	*dst = v
	return ok
}

// intPtr reads an integer or null (nil).
func (d *decoder) intPtr(dst **int) bool {
	if d.null() {
		*dst = nil
		return true
	}
	n, ok := d.integer()
	v := int(n)
	*dst = &v
	return ok
}

// floatPtr reads a number or null (nil).
func (d *decoder) floatPtr(dst **float64) bool {
	if d.null() {
		*dst = nil
		return true
	}
	f, ok := d.float()
	*dst = &f
	return ok
}

// stop reads a string, an array of strings (null elements are ""), or null.
func (d *decoder) stop(dst *Stop) bool {
	switch d.peek() {
	case 'n':
		*dst = nil
		return d.null()
	case '"':
		s, ok := d.str()
		*dst = Stop{s}
		return ok
	}
	v := Stop{}
	ok := d.array(func() bool {
		var s string
		if !d.stringInto(&s) {
			return false
		}
		v = append(v, s)
		return true
	})
	*dst = v
	return ok
}

// streamOptions reads stream_options or null (nil).
func (d *decoder) streamOptions(dst **StreamOptions) bool {
	if d.null() {
		*dst = nil
		return true
	}
	so := &StreamOptions{}
	*dst = so
	var mask uint32
	return d.object(func(key string) bool {
		if key == "include_usage" {
			return seen(&mask, 1) && d.boolInto(&so.IncludeUsage)
		}
		return !folds(key, "include_usage") && d.skip()
	})
}

// responseFormat reads response_format or null (nil).
func (d *decoder) responseFormat(dst **ResponseFormat) bool {
	if d.null() {
		*dst = nil
		return true
	}
	rf := &ResponseFormat{}
	*dst = rf
	var mask uint32
	return d.object(func(key string) bool {
		switch key {
		case "type":
			return seen(&mask, 1) && d.stringInto(&rf.Type)
		case "json_schema":
			if !seen(&mask, 2) {
				return false
			}
			v, ok := d.raw()
			rf.JSONSchema = v
			return ok
		}
		return !folds(key, "type", "json_schema") && d.skip()
	})
}

// toolChoice reads "none" | "auto" | "required", a named function, or null
// (nil), as ToolChoice.UnmarshalJSON.
func (d *decoder) toolChoice(dst **ToolChoice) bool {
	switch d.peek() {
	case 'n':
		*dst = nil
		return d.null()
	case '"':
		s, ok := d.str()
		switch s {
		case ToolChoiceNone, ToolChoiceAuto, ToolChoiceRequired:
			*dst = &ToolChoice{Mode: s}
			return ok
		}
		return false
	}
	var typ, name string
	var mask uint32
	ok := d.object(func(key string) bool {
		switch key {
		case "type":
			return seen(&mask, 1) && d.stringInto(&typ)
		case "function":
			if !seen(&mask, 2) {
				return false
			}
			if d.null() {
				return true
			}
			var fmask uint32
			return d.object(func(key string) bool {
				if key == "name" {
					return seen(&fmask, 1) && d.stringInto(&name)
				}
				return !folds(key, "name") && d.skip()
			})
		}
		return !folds(key, "type", "function") && d.skip()
	})
	if !ok || name == "" {
		return false
	}
	*dst = &ToolChoice{Mode: "function", Function: name}
	return true
}
