package sim

import (
	"encoding/binary"
	"hash/fnv"
	"math/rand/v2"
	"strings"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// words are the lorem vocabulary. Each word, with and without a leading
// space and capitalized, is a single token in both o200k_base and cl100k_base
// (TestWordsAreSingleTokens), so generated text has exactly as many tokens as
// pieces and usage counts agree with the tokenizer.
var words = [...]string{
	"the", "model", "gateway", "request", "token", "stream", "time", "data", "system", "value",
	"first", "next", "last", "small", "large", "fast", "slow", "simple", "good", "new",
	"old", "each", "every", "many", "some", "more", "less", "over", "under", "after",
	"before", "with", "from", "into", "about", "through", "between", "and", "or", "but",
	"so", "then", "when", "where", "while", "because", "if", "not", "always", "never",
	"runs", "is", "are", "writes", "counts", "was", "moves", "has", "makes", "can",
	"server", "client", "route", "answer", "message", "line", "word", "number", "list", "part",
	"world", "light", "water", "river", "stone", "tree", "city", "road", "house", "door",
}

// sentenceEnd is the piece that ends a sentence (a single token).
const sentenceEnd = "."

// seedOf derives a deterministic seed from the conversation: the roles, text,
// names and tool calls of the messages, mixed with the request's seed if set.
func seedOf(msgs []schema.Message, seed *int64) uint64 {
	h := fnv.New64a()
	for i := range msgs {
		m := &msgs[i]
		h.Write([]byte(m.Role))
		h.Write([]byte{0})
		h.Write([]byte(m.Content.PlainText()))
		h.Write([]byte{0})
		h.Write([]byte(m.Name))
		for _, tc := range m.ToolCalls {
			h.Write([]byte(tc.Function.Name))
			h.Write([]byte(tc.Function.Arguments))
		}
		h.Write([]byte{1})
	}
	return mixSeed(h.Sum64(), seed)
}

// seedOfText derives a seed from a prompt text (completions, embeddings).
func seedOfText(s string, seed *int64) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return mixSeed(h.Sum64(), seed)
}

func mixSeed(v uint64, seed *int64) uint64 {
	if seed == nil {
		return v
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(*seed))
	h := fnv.New64a()
	h.Write(b[:])
	return v ^ h.Sum64()
}

// lorem returns n deterministic text pieces, one token each, for seed and
// choice index: sentences of 6 to 14 words, capitalized, ending with ".".
func lorem(seed uint64, choice, n int) []string {
	r := rand.New(rand.NewPCG(seed, uint64(choice)))
	out := make([]string, 0, n)
	left := 0 // words left in the sentence
	for len(out) < n {
		if left == 0 {
			left = 6 + r.IntN(9)
			w := words[r.IntN(len(words))]
			if len(out) > 0 {
				w = " " + capitalize(w)
			} else {
				w = capitalize(w)
			}
			out = append(out, w)
			left--
			continue
		}
		out = append(out, " "+words[r.IntN(len(words))])
		left--
		if left == 0 && len(out) < n {
			out = append(out, sentenceEnd)
		}
	}
	return out
}

func capitalize(w string) string {
	if w == "" {
		return w
	}
	return strings.ToUpper(w[:1]) + w[1:]
}

// lastUserText returns the text of the last user message ("" if none).
func lastUserText(msgs []schema.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == schema.RoleUser {
			return msgs[i].Content.PlainText()
		}
	}
	return ""
}
