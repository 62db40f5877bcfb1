package vertex

import (
	"strconv"
	"strings"
)

// Gemini function calls carry no id, so OpenAI tool call ids are synthesized
// as call_<index>_<name>, index counting the calls of one response (0-based).
// Thinking models (Gemini 2.5, 3) attach a thoughtSignature to a function call
// that must come back with it in the next turn; it travels inside the id, after
// a '~' (which function names cannot contain), in URL-safe base64 without
// padding: call_0_get_weather~CiQB... The tool result's function name is found
// from the earlier assistant tool_calls by tool_call_id.

// toolCallID returns the OpenAI id of the index-th call to name.
func toolCallID(index int, name, signature string) string {
	id := "call_" + strconv.Itoa(index) + "_" + name
	if signature != "" {
		r := strings.NewReplacer("+", "-", "/", "_", "=", "")
		id += "~" + r.Replace(signature)
	}
	return id
}

// signatureFromID returns the thoughtSignature carried in a tool call id ("" if none),
// in standard base64.
func signatureFromID(id string) string {
	_, sig, ok := strings.Cut(id, "~")
	if !ok || sig == "" {
		return ""
	}
	sig = strings.NewReplacer("-", "+", "_", "/").Replace(sig)
	if n := len(sig) % 4; n != 0 {
		sig += strings.Repeat("=", 4-n)
	}
	return sig
}
