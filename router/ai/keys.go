package ai

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// The front end reads a few top-level members of a request body (model,
// stream, stream_options, messages, input) by their exact names, but the body
// is decoded for translation by encoding/json (schema.ParseChatRequest and
// the like), which matches a key to a struct field ignoring case (with
// Unicode simple folding: the Kelvin sign K matches k, the long s ſ matches
// s) and lets the last occurrence win. A body could then be checked as one
// request and sent upstream as another ({"stream":false,"Stream":true}).
// So the top-level keys of a body are checked against the keys its
// operation's decoders know: a key that equals a known one when case is
// folded but is not spelled exactly like it, and a known key named twice,
// are refused. Nested keys are not checked.

// keyRole is what the scan does with a known key's value.
type keyRole uint8

// Roles of known keys.
const (
	roleOther         keyRole = iota // checked for case and repetition only
	roleModel                        // the model, read by inspect
	roleStream                       // the stream flag
	roleOptions                      // stream_options, handed to translators
	roleMessages                     // a chat's messages, whose shape is checked
	roleInput                        // an embeddings input
	roleMaxTokens                    // max_tokens, for policies that reserve at admission
	roleMaxCompletion                // max_completion_tokens, which wins over max_tokens
)

// roleOf is the role of each key the front end reads itself.
var roleOf = map[string]keyRole{
	"model": roleModel, "stream": roleStream, "stream_options": roleOptions,
	"messages": roleMessages, "input": roleInput,
	"max_tokens": roleMaxTokens, "max_completion_tokens": roleMaxCompletion,
}

const (
	// maxKeyLen bounds a known key's length (in bytes).
	maxKeyLen = 32
	// maxKeys bounds the known keys of an operation (the scan keeps a bit per key).
	maxKeys = 64
	// maxFoldBytes bounds the bytes of a key that can fold to a known one:
	// a rune folding to an ASCII byte is at most 3 bytes long (K is).
	maxFoldBytes = 3 * maxKeyLen
)

// keySet is the known top-level keys of one operation, built once at init.
// It is read only, and safe for concurrent use.
type keySet struct {
	names []string // as spelled in the json tags, sorted by length
	lower []string // names in ASCII lower case
	// fold has a 0x20 byte where lower has a letter, 0 elsewhere: a key byte
	// c folds to lower's byte l when c|fold == l.
	fold  []string
	roles []keyRole
	// byLen indexes names by length: names[byLen[n]:byLen[n+1]] have n bytes.
	byLen [maxKeyLen + 2]uint8
}

// completionRequest names the members of an OpenAI /v1/completions body, as
// the decoders that read one (the sim adapter; OpenAI-compatible servers
// written in Go) know them. It is only read for its json tags.
type completionRequest struct {
	Model            string          `json:"model"`
	Prompt           json.RawMessage `json:"prompt"`
	BestOf           *int            `json:"best_of"`
	Echo             bool            `json:"echo"`
	FrequencyPenalty *float64        `json:"frequency_penalty"`
	LogitBias        json.RawMessage `json:"logit_bias"`
	Logprobs         *int            `json:"logprobs"`
	MaxTokens        *int            `json:"max_tokens"`
	N                *int            `json:"n"`
	PresencePenalty  *float64        `json:"presence_penalty"`
	Seed             *int64          `json:"seed"`
	Stop             json.RawMessage `json:"stop"`
	Stream           bool            `json:"stream"`
	StreamOptions    json.RawMessage `json:"stream_options"`
	Suffix           string          `json:"suffix"`
	Temperature      *float64        `json:"temperature"`
	TopP             *float64        `json:"top_p"`
	User             string          `json:"user"`
}

// frontKeys are the keys the front end reads for every operation.
var frontKeys = []string{"model", "stream", "stream_options"}

// The known keys of each operation: the JSON names of the type its body is
// decoded into, and the front end's own.
var (
	chatKeys = newKeySet(jsonNames(reflect.TypeFor[schema.ChatRequest]())...)
	// messageKeys are the keys of one chat message: a message is decoded
	// as the body is, so {"role":"user","Role":"system"} would be checked
	// as a user's message and sent as a system one.
	messageKeys    = buildKeySet(jsonNames(reflect.TypeFor[schema.Message]()))
	embeddingKeys  = newKeySet(jsonNames(reflect.TypeFor[schema.EmbeddingRequest]())...)
	completionKeys = newKeySet(jsonNames(reflect.TypeFor[completionRequest]())...)
	otherKeys      = newKeySet()
)

// keysFor returns the known keys of op.
func keysFor(op schema.Operation) *keySet {
	switch op {
	case schema.OpChat:
		return chatKeys
	case schema.OpEmbeddings:
		return embeddingKeys
	case schema.OpCompletion:
		return completionKeys
	}
	return otherKeys
}

// jsonNames returns the member names encoding/json decodes into a struct
// type: json tag names, or field names for untagged exported fields, with
// those of embedded structs without a name.
func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name := tag
		for j := 0; j < len(tag); j++ {
			if tag[j] == ',' {
				name = tag[:j]
				break
			}
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case f.Anonymous && name == "" && ft.Kind() == reflect.Struct:
			out = append(out, jsonNames(ft)...)
			continue
		case !f.IsExported():
			continue
		case name == "":
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}

// newKeySet builds the set of names and frontKeys. It panics on a name that
// is not ASCII or longer than maxKeyLen, or past maxKeys names: the tables
// are built at init, so any test catches it.
func newKeySet(names ...string) *keySet {
	return buildKeySet(append(append([]string(nil), frontKeys...), names...))
}

// buildKeySet builds the set of names alone (see newKeySet).
func buildKeySet(names []string) *keySet {
	k := &keySet{}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		if n == "" || len(n) > maxKeyLen {
			panic("ai: known key " + strconv.Quote(n) + " is empty or longer than " + strconv.Itoa(maxKeyLen) + " bytes")
		}
		for i := 0; i < len(n); i++ {
			if n[i] >= utf8.RuneSelf {
				panic("ai: known key " + strconv.Quote(n) + " is not ASCII")
			}
		}
		k.names = append(k.names, n)
	}
	if len(k.names) > maxKeys {
		panic("ai: more than " + strconv.Itoa(maxKeys) + " known keys")
	}
	// Sort by length (insertion sort: a few dozen names, once).
	for i := 1; i < len(k.names); i++ {
		for j := i; j > 0 && len(k.names[j]) < len(k.names[j-1]); j-- {
			k.names[j], k.names[j-1] = k.names[j-1], k.names[j]
		}
	}
	for _, n := range k.names {
		b, f := []byte(n), make([]byte, len(n))
		for i, c := range b {
			b[i] = lowerASCII(c)
			if 'a' <= b[i] && b[i] <= 'z' {
				f[i] = 0x20
			}
		}
		k.lower = append(k.lower, string(b))
		k.fold = append(k.fold, string(f))
		k.roles = append(k.roles, roleOf[n])
	}
	for n := 0; n <= maxKeyLen+1; n++ {
		i := 0
		for i < len(k.names) && len(k.names[i]) < n {
			i++
		}
		k.byLen[n] = uint8(i)
	}
	return k
}

// lookup finds the known key that key (decoded) matches as encoding/json
// would match it to a field: i is its index (-1: none), exact whether key is
// spelled exactly like it. ASCII keys cost a length check and compares
// with the few known keys of that length (exact, then folded, eight bytes
// at a time); only a key with non-ASCII bytes is folded rune by rune.
func (k *keySet) lookup(key string) (i int, exact bool) {
	if n := len(key); n <= maxKeyLen {
		for j := int(k.byLen[n]); j < int(k.byLen[n+1]); j++ {
			if key == k.names[j] {
				return j, true
			}
		}
	}
	return k.lookupInexact(key), false
}

// lookupInexact is lookup for a key not spelled like any known key.
func (k *keySet) lookupInexact(key string) int {
	if n := len(key); n <= maxKeyLen {
		for j := int(k.byLen[n]); j < int(k.byLen[n+1]); j++ {
			if foldedEqual(key, k.lower[j], k.fold[j]) {
				return j
			}
		}
	}
	if len(key) > maxFoldBytes || !hasNonASCII(key) {
		return -1
	}
	return k.lookupFolded(key)
}

// lookupFolded is lookup for a key with non-ASCII bytes: every rune is
// folded as encoding/json folds names (to the smallest rune of its case
// folding orbit); the key can only match when all of them fold to ASCII.
func (k *keySet) lookupFolded(key string) int {
	var buf [maxKeyLen]byte
	n := 0
	for _, r := range key {
		if r >= utf8.RuneSelf {
			r = foldRune(r)
		}
		if r >= utf8.RuneSelf || n == len(buf) {
			return -1
		}
		buf[n] = byte(r)
		n++
	}
	folded := bstr(buf[:n])
	for j := int(k.byLen[n]); j < int(k.byLen[n+1]); j++ {
		if foldedEqual(folded, k.lower[j], k.fold[j]) {
			return j
		}
	}
	return -1
}

// foldRune returns the smallest rune of r's simple case folding orbit, the
// form in which encoding/json compares a non-ASCII rune of a name.
func foldRune(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}

// foldedEqual reports whether s, with the bytes fold marks folded to lower
// case, equals lower (s, lower and fold have the same length).
func foldedEqual(s, lower, fold string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if le64(s[i:])|le64(fold[i:]) != le64(lower[i:]) {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i]|fold[i] != lower[i] {
			return false
		}
	}
	return true
}

// le64 reads s's first eight bytes as a little-endian word.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// msb has the high bit of each of eight bytes.
const msb = 0x8080808080808080

func hasNonASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if le64(s[i:])&msb != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// keyCheck records the first refused top-level key of a body.
type keyCheck struct {
	seen uint64 // bit i: names[i] was met
	bad  int    // index+1 of the refused key's known key (0: none)
	// variant is the refused key when it was a case variant ("" for a repeat).
	variant string
}

// see records key (decoded), matched to known key i with exact spelling or
// not; ok is false when it is refused, and the value must not be used.
func (c *keyCheck) see(i int, exact bool, key string) (ok bool) {
	bit := uint64(1) << (uint(i) & (maxKeys - 1))
	if !exact || c.seen&bit != 0 {
		c.refuse(i, exact, key)
		return false
	}
	c.seen |= bit
	return true
}

// refuse records key as refused, unless a key was already.
//
//go:noinline
func (c *keyCheck) refuse(i int, exact bool, key string) {
	if c.bad == 0 {
		c.bad = i + 1
		if !exact {
			c.variant = strings.Clone(key) // key may view the body
		}
	}
}

// messageErr is err for a key of messages[n]: its param names the message.
func (c *keyCheck) messageErr(n int) *schema.Error {
	e := c.err(messageKeys)
	if e != nil {
		e.Param = "messages[" + strconv.Itoa(n) + "]." + e.Param
	}
	return e
}

// err is the 400 for the first refused key, or nil.
func (c *keyCheck) err(k *keySet) *schema.Error {
	if c.bad == 0 {
		return nil
	}
	name := k.names[c.bad-1]
	if c.variant == "" {
		return badRequest(name, name+" must appear only once in the request body")
	}
	return badRequest(name, "the request body has a key "+strconv.Quote(c.variant)+" that differs from "+
		strconv.Quote(name)+" only in case: spell it "+strconv.Quote(name)+", once")
}
