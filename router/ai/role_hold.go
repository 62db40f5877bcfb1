package ai

import (
	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// isRoleOnlyChunk reports a chunk that carries nothing but the assistant's
// role: one choice whose delta has a role and no content, tool calls or
// refusal (absent, null or empty), and no finish_reason. Translators emit one
// as soon as the upstream's stream opens (Anthropic's message_start), before
// the model produced anything; relay holds it back so that an error right
// after it (an overloaded_error) still fails over. Called once per stream.
func isRoleOnlyChunk(c []byte) bool {
	r := gjson.GetManyBytes(c, "choices.#", "choices.0.delta", "choices.0.finish_reason", "usage")
	if r[0].Int() != 1 || !r[1].IsObject() || !isEmptyValue(r[2]) || r[3].Exists() {
		return false
	}
	role, other := false, false
	r[1].ForEach(func(k, v gjson.Result) bool {
		if k.Str == "role" {
			role = v.Type == gjson.String
			return true
		}
		other = !isEmptyValue(v)
		return !other
	})
	return role && !other
}

// isEmptyValue reports an absent or null value, an empty string, array or object.
func isEmptyValue(v gjson.Result) bool {
	switch {
	case !v.Exists(), v.Type == gjson.Null:
		return true
	case v.Type == gjson.String:
		return v.Str == ""
	case v.IsArray(), v.IsObject():
		empty := true
		v.ForEach(func(_, _ gjson.Result) bool {
			empty = false
			return false
		})
		return empty
	}
	return false
}

// waitPastRole waits for the producer's first chunk and, when it carries only
// the role, for the next one too (second, hasSecond), so that the stream is
// committed with content (or a tool call, a finish, or the end of a stream
// that had nothing else). ok and stopped are waitFirst's for the first. A
// producer that fails after the role chunk leaves ok false: nothing reached
// the client, and the attempt may fail over.
func (s *exchange) waitPastRole(p *pump) (first []byte, ok bool, second []byte, hasSecond bool, stopped *schema.Error) {
	first, ok, stopped = s.waitFirst(p)
	if stopped != nil || !ok || !isRoleOnlyChunk(first) {
		return first, ok, nil, false, stopped
	}
	second, hasSecond, stopped = s.waitFirst(p)
	if stopped != nil {
		return nil, false, nil, false, stopped
	}
	if !hasSecond && p.err != nil {
		return nil, false, nil, false, nil // failed before anything but the role
	}
	return first, true, second, hasSecond, nil
}
