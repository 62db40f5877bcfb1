package schema

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// loadBody is the load test's chat body (loadtest/load.ChatBody): messages
// first, stream last, a user message padded to about size bytes.
func loadBody(size int) []byte {
	head := `{"messages":[{"role":"system","content":"You are a load test."},{"role":"user","content":"`
	tail := `"}],"model":"gpt-4o-mini","max_tokens":64,"stream":false}`
	pad := max(size-len(head)-len(tail), 0)
	return []byte(head + strings.Repeat("lorem ipsum dolor sit amet ", pad/27+1)[:pad] + tail)
}

// conversation is a multi-turn chat of about size bytes whose turns hold
// escaped newlines and quotes, as agents send them.
func conversation(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"model":"gpt-4o","temperature":0.2,"messages":[{"role":"system","content":"You are a coding agent.\nFollow the rules."}`)
	for i := 0; b.Len() < size; i++ {
		role := "user"
		if i%2 == 1 {
			role = "assistant"
		}
		b.WriteString(`,{"role":"` + role + `","content":"Turn ` + strconv.Itoa(i) +
			`: here is the file:\n\n    func main() {\n        fmt.Println(\"hello, world\")\n    }\n\nPlease review it."}`)
	}
	b.WriteString(`],"user":"agent-7","metadata":{"session":"abc"}}`)
	return []byte(b.String())
}

// benchBodies are the request bodies of the decoding benchmarks.
func benchBodies(b *testing.B) []struct {
	name string
	raw  []byte
} {
	tools, err := os.ReadFile("testdata/chat/tools_stream.json")
	if err != nil {
		b.Fatal(err)
	}
	return []struct {
		name string
		raw  []byte
	}{
		{"load-1k", loadBody(1 << 10)},
		{"tools", tools},
		{"conversation-32k", conversation(32 << 10)},
		{"load-256k", loadBody(256 << 10)},
	}
}

// BenchmarkParseChatRequest measures decoding a chat request for a
// translator, the front end's one decode per translated request.
func BenchmarkParseChatRequest(b *testing.B) {
	for _, c := range benchBodies(b) {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseChatRequest(c.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
