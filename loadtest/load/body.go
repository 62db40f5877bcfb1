package load

import (
	"slices"
	"strconv"
	"strings"
)

// ChatBody returns an OpenAI chat completions request for model, streamed or
// not, whose user message is padded so the body is about size bytes (at least
// the bare request when size is small). The members come in the order the
// OpenAI SDKs send them: messages first, stream last (a gateway that looks a
// member up by walking the body pays for the whole prompt).
func ChatBody(model string, stream bool, size int) []byte {
	head := `{"messages":[{"role":"system","content":"You are a load test."},{"role":"user","content":"`
	tail := `"}],"model":` + strconv.Quote(model) + `,"max_tokens":64,"stream":` + strconv.FormatBool(stream) + `}`
	pad := size - len(head) - len(tail)
	msg := "Say hello."
	if pad > len(msg) {
		const word = "lorem ipsum dolor sit amet "
		msg = strings.Repeat(word, pad/len(word)+1)[:pad]
	}
	return []byte(head + msg + tail)
}

// SDKBody returns a chat completions request for model as an OpenAI SDK
// sends `client.chat.completions.create(messages=..., model=...,
// max_tokens=128, stream=...)`: a short conversation, no padding, the members
// in the SDK's order (messages, model, max_tokens, stream).
func SDKBody(model string, stream bool) []byte {
	return []byte(`{"messages":[{"role":"system","content":"You are a helpful assistant."},` +
		`{"role":"user","content":"Explain in one sentence what an AI gateway does."}],` +
		`"model":` + strconv.Quote(model) + `,"max_tokens":128,"stream":` + strconv.FormatBool(stream) + `}`)
}

// SDKHeaders are the request headers an OpenAI SDK (Python, 1.x) sends
// besides Host, Content-Type and Content-Length, in its order.
func SDKHeaders() [][2]string {
	return [][2]string{
		{"Accept", "application/json"},
		{"User-Agent", "OpenAI/Python 1.99.9"},
		{"X-Stainless-Lang", "python"},
		{"X-Stainless-Package-Version", "1.99.9"},
		{"X-Stainless-OS", "Linux"},
		{"X-Stainless-Arch", "x64"},
		{"X-Stainless-Runtime", "CPython"},
		{"X-Stainless-Runtime-Version", "3.12.3"},
		{"Authorization", "Bearer sk-loadtest"},
		{"X-Stainless-Async", "false"},
		{"X-Stainless-Retry-Count", "0"},
		{"X-Stainless-Read-Timeout", "600"},
	}
}

// WithKey returns headers with Authorization set to "Bearer key": the SDK
// headers' own Authorization (sk-loadtest) is replaced in place, or the
// header is appended when there is none.
func WithKey(headers [][2]string, key string) [][2]string {
	out := slices.Clone(headers)
	for i, h := range out {
		if strings.EqualFold(h[0], "Authorization") {
			out[i][1] = "Bearer " + key
			return out
		}
	}
	return append(out, [2]string{"Authorization", "Bearer " + key})
}

// Request shapes of loadgen's -shape flag.
const (
	// ShapePadded is ChatBody padded to -body-size bytes, with no headers
	// beyond Content-Type.
	ShapePadded = "padded"
	// ShapeSDK is SDKBody with SDKHeaders.
	ShapeSDK = "sdk"
)
