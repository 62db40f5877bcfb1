// Package tokens counts tokens the way OpenAI's tokenizers do, with
// tiktoken-go and the BPE ranks embedded by tiktoken-go-loader: nothing is
// downloaded at run time. Models map to encodings with our own table (the
// library's table lacks gpt-5, o1, o3 and o4); models of other vendors
// (Claude, Gemini, Llama) are approximated with cl100k_base.
package tokens

import (
	"hash/maphash"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// Encoding names.
const (
	O200KBase  = "o200k_base"
	CL100KBase = "cl100k_base"
)

// o200kPrefixes are the model-name prefixes that use o200k_base.
var o200kPrefixes = [...]string{
	"gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "chatgpt-4o",
}

// loaderOnce guards tiktoken.SetBpeLoader, which sets a package variable of the
// library (the only global state involved). It is set once, to the offline
// loader, the first time a Counter is made.
var loaderOnce sync.Once

// Counter counts tokens. Encodings are loaded lazily, once each, on first use;
// a Counter is safe for concurrent use and is meant to be built once and shared.
type Counter struct {
	o200k encoder
	cl100 encoder
	cache countCache
}

// Bounds of the count cache.
const (
	// cacheMinLen is the shortest text whose count is cached. Every text is:
	// tiktoken-go spends about 6 µs on even a one-word text (its regexp2
	// pre-tokenizer), against some 50 ns to hash and look up a short one, and
	// a chat's roles and system prompt repeat on every request.
	cacheMinLen = 1
	// cacheEntries bounds the cached counts (a random one is evicted past it).
	cacheEntries = 8192
)

// countCache remembers the token counts of texts by encoding, length and
// content hash. Chat clients send the whole conversation every turn, so all
// but the newest messages were counted before; tiktoken-go encodes at only
// about 7 MB/s. The hash is maphash with a per-process random seed, so a
// client cannot make two texts collide on purpose.
type countCache struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[countKey]int
}

type countKey struct {
	hash uint64
	len  int
	o200 bool
	// message marks a whole message's raw JSON (countMessageJSON), whose
	// count differs from the same bytes counted as a text.
	message bool
}

func (c *countCache) get(k countKey) (int, bool) {
	c.mu.Lock()
	n, ok := c.m[k]
	c.mu.Unlock()
	return n, ok
}

func (c *countCache) put(k countKey, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[countKey]int)
	}
	if len(c.m) >= cacheEntries {
		for old := range c.m { // map order is random: evict one at random
			delete(c.m, old)
			break
		}
	}
	c.m[k] = n
}

// encoder is one lazily loaded encoding.
type encoder struct {
	name string
	once sync.Once
	tk   *tiktoken.Tiktoken
}

// get loads the encoding on first use; it returns nil if it cannot be loaded
// (the ranks are embedded, so that means a broken build).
func (e *encoder) get() *tiktoken.Tiktoken {
	e.once.Do(func() {
		tk, err := tiktoken.GetEncoding(e.name)
		if err == nil {
			e.tk = tk
		}
	})
	return e.tk
}

// New returns a Counter. The first call installs tiktoken-go-loader's offline
// loader into tiktoken-go with tiktoken.SetBpeLoader (a process-wide setting of
// the library, done once under a sync.Once), so no encoding is ever downloaded.
func New() *Counter {
	loaderOnce.Do(func() { tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader()) })
	return &Counter{o200k: encoder{name: O200KBase}, cl100: encoder{name: CL100KBase}, cache: countCache{seed: maphash.MakeSeed()}}
}

// Preload loads both encodings now (each takes some 100 to 300 ms), so that
// the first requests that count tokens do not wait for them: the gateway
// calls it in the background when metering starts.
func (c *Counter) Preload() {
	c.o200k.get()
	c.cl100.get()
}

// Encoding returns the name of the encoding used for model: o200k_base for the
// gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1, o3, o4 and chatgpt-4o families,
// cl100k_base for everything else (gpt-4, gpt-3.5, embeddings, unknown models).
// A provider prefix such as "openai/" is ignored.
func (c *Counter) Encoding(model string) string {
	return encodingFor(model)
}

func encodingFor(model string) string {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	for _, p := range o200kPrefixes {
		if strings.HasPrefix(m, p) {
			return O200KBase
		}
	}
	return CL100KBase
}

func (c *Counter) encoder(model string) *tiktoken.Tiktoken {
	tk, _ := c.encoderOf(model)
	return tk
}

func (c *Counter) encoderOf(model string) (tk *tiktoken.Tiktoken, o200 bool) {
	if encodingFor(model) == O200KBase {
		return c.o200k.get(), true
	}
	return c.cl100.get(), false
}

// Count returns the number of tokens of text in model's encoding. Special
// tokens such as "<|endoftext|>" are counted as ordinary text. Should the
// encoding fail to load, it estimates one token per 4 bytes. The counts are
// cached (see countCache).
func (c *Counter) Count(model, text string) int {
	if text == "" {
		return 0
	}
	return c.in(model).count(text)
}

// encoding is a model's encoding as Count uses it; a request's texts are
// counted with one, found once.
type encoding struct {
	c    *Counter
	tk   *tiktoken.Tiktoken
	o200 bool
}

func (c *Counter) in(model string) encoding {
	tk, o200 := c.encoderOf(model)
	return encoding{c: c, tk: tk, o200: o200}
}

func (e encoding) count(text string) int {
	if text == "" {
		return 0
	}
	if e.tk == nil {
		return (len(text) + 3) / 4
	}
	c := e.c
	if len(text) < cacheMinLen || c.cache.seed == (maphash.Seed{}) {
		return len(e.tk.EncodeOrdinary(text))
	}
	k := countKey{hash: maphash.String(c.cache.seed, text), len: len(text), o200: e.o200}
	if n, ok := c.cache.get(k); ok {
		return n
	}
	n := len(e.tk.EncodeOrdinary(text))
	c.cache.put(k, n)
	return n
}

// messageKey is the cache key of a message's raw JSON; ok is false when
// counts are not cached (no seed, or the encoding failed to load).
func (e encoding) messageKey(raw string) (k countKey, ok bool) {
	if e.tk == nil || e.c.cache.seed == (maphash.Seed{}) {
		return countKey{}, false
	}
	return countKey{hash: maphash.String(e.c.cache.seed, raw), len: len(raw), o200: e.o200, message: true}, true
}

// Split returns text cut into its tokens' texts, in model's encoding: joined,
// they give text back. A token that ends inside a multi-byte UTF-8 character
// is joined with the following ones, so every piece is valid UTF-8 and the
// result may have fewer pieces than Count reports. Should the encoding fail to
// load, it splits every 4 bytes (at rune boundaries).
func (c *Counter) Split(model, text string) []string {
	if text == "" {
		return nil
	}
	tk := c.encoder(model)
	if tk == nil {
		return splitBytes(text, 4)
	}
	ids := tk.EncodeOrdinary(text)
	out := make([]string, 0, len(ids))
	var pending []byte
	one := make([]int, 1)
	for _, id := range ids {
		one[0] = id
		pending = append(pending, tk.Decode(one)...)
		if utf8.Valid(pending) {
			out = append(out, string(pending))
			pending = pending[:0]
		}
	}
	if len(pending) > 0 {
		out = append(out, string(pending))
	}
	return out
}

// splitBytes cuts s into pieces of about n bytes at rune boundaries.
func splitBytes(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		i := min(n, len(s))
		for i < len(s) && !utf8.RuneStart(s[i]) {
			i++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}
