package load

import (
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
