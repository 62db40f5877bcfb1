package ai

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// TestCaseFoldedKeysRefused checks that a top-level key that encoding/json
// would decode into a known field, but that is not spelled exactly like it
// (other case, escapes decoding to another case, Unicode folding), and a
// known key named twice, are refused by both inspect paths; keys that only
// look alike, or sit below the top level, are accepted.
func TestCaseFoldedKeysRefused(t *testing.T) {
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name  string
		op    schema.Operation
		body  string
		param string // "" when the body is accepted
	}{
		{name: "plain", op: schema.OpChat, body: `{"model":"a",` + msgs + `}`},
		{name: "Stream after stream", op: schema.OpChat, body: `{"model":"a","stream":false,"Stream":true,` + msgs + `}`, param: "stream"},
		{name: "Stream alone", op: schema.OpChat, body: `{"model":"a","Stream":true,` + msgs + `}`, param: "stream"},
		{name: "Messages", op: schema.OpChat, body: `{"model":"a",` + msgs + `,"Messages":[{"role":"system","content":"x"}]}`, param: "messages"},
		{name: "MODEL", op: schema.OpChat, body: `{"MODEL":"b","model":"a",` + msgs + `}`, param: "model"},
		{name: "escaped Str\\u0065am", op: schema.OpChat, body: `{"model":"a","Str\u0065am":true,` + msgs + `}`, param: "stream"},
		{name: "escaped stream is stream", op: schema.OpChat, body: `{"model":"a","str\u0065am":true,` + msgs + `}`},
		{name: "escaped stream twice", op: schema.OpChat, body: `{"model":"a","stream":false,"str\u0065am":true,` + msgs + `}`, param: "stream"},
		{name: "long s", op: schema.OpChat, body: `{"model":"a","ſtream":true,` + msgs + `}`, param: "stream"},
		{name: "long s escaped", op: schema.OpChat, body: `{"model":"a","\u017ftream":true,` + msgs + `}`, param: "stream"},
		{name: "Kelvin sign", op: schema.OpChat, body: `{"model":"a",` + msgs + `,"max_toKens":5}`, param: "max_tokens"},
		{name: "Kelvin sign escaped", op: schema.OpChat, body: `{"model":"a",` + msgs + `,"max_completion_to\u212aens":5}`, param: "max_completion_tokens"},
		{name: "Kelvin and long s in options", op: schema.OpChat, body: `{"model":"a",` + msgs + `,"ſtream_options":{}}`, param: "stream_options"},
		{name: "temperature twice", op: schema.OpChat, body: `{"model":"a",` + msgs + `,"temperature":0.1,"temperature":2}`, param: "temperature"},
		{name: "stream_options twice", op: schema.OpChat, body: `{"model":"a","stream":true,"stream_options":{"include_usage":true},` + msgs + `,"stream_options":{}}`, param: "stream_options"},
		{name: "messages twice", op: schema.OpChat, body: `{"model":"a",` + msgs + `,` + msgs + `}`, param: "messages"},
		{name: "Tool_Choice", op: schema.OpChat, body: `{"model":"a",` + msgs + `,"Tool_Choice":"auto"}`, param: "tool_choice"},
		{name: "first refused key is reported", op: schema.OpChat, body: `{"model":"a","Top_P":1,"stream":1,"STREAM":true,` + msgs + `}`, param: "top_p"},
		{name: "nested look-alikes", op: schema.OpChat, body: `{"model":"a","messages":[{"role":"user","content":"hi","Model":"b","Stream":true,"model":"c","model":"d"}],` +
			`"response_format":{"type":"json_object","Type":"text"},"metadata":{"Stream":true,"stream":false,"stream":true}}`},
		{name: "message Role after role", op: schema.OpChat, body: `{"model":"a","messages":[{"role":"user","Role":"system","content":"hi"}]}`, param: "messages[0].role"},
		{name: "message role twice", op: schema.OpChat, body: `{"model":"a","messages":[{"role":"user","content":"hi","role":"system"}]}`, param: "messages[0].role"},
		{name: "message ROLE alone", op: schema.OpChat, body: `{"model":"a","messages":[{"ROLE":"system","content":"hi"}]}`, param: "messages[0].role"},
		{name: "message Content", op: schema.OpChat, body: `{"model":"a","messages":[{"role":"user","content":"a","Content":"b"}]}`, param: "messages[0].content"},
		{name: "second message Tool_Call_Id", op: schema.OpChat, body: `{"model":"a","messages":[{"role":"user","content":"a"},{"role":"tool","content":"b","Tool_Call_Id":"x"}]}`, param: "messages[1].tool_call_id"},
		{name: "message escaped role is role", op: schema.OpChat, body: `{"model":"a","messages":[{"r\u006fle":"user","content":"hi"}]}`},
		{name: "unknown keys", op: schema.OpChat, body: `{"model":"a",` + msgs + `,"streams":true,"Streamer":1,"my_model":"b","ſ":1,"K":2,"modeł":3,"metadata":{},"metadata":{}}`},
		{name: "dotless i does not fold", op: schema.OpEmbeddings, body: `{"model":"a","input":"x","ınput":"y","İnput":"z"}`},
		{name: "Input is unknown to chat", op: schema.OpChat, body: `{"model":"a",` + msgs + `,"Input":"x","prompt":1,"Prompt":2}`},
		{name: "embeddings Input", op: schema.OpEmbeddings, body: `{"model":"a","input":"x","Input":""}`, param: "input"},
		{name: "embeddings input twice", op: schema.OpEmbeddings, body: `{"model":"a","input":"x","input":["y"]}`, param: "input"},
		{name: "embeddings Dimensions", op: schema.OpEmbeddings, body: `{"model":"a","input":"x","Dimensions":8}`, param: "dimensions"},
		{name: "embeddings messages are unknown", op: schema.OpEmbeddings, body: `{"model":"a","input":"x","Messages":1,"messages":2,"messages":3}`},
		{name: "completions Prompt", op: schema.OpCompletion, body: `{"model":"a","prompt":"x","Prompt":"y"}`, param: "prompt"},
		{name: "completions Stream", op: schema.OpCompletion, body: `{"model":"a","prompt":"x","Stream":true}`, param: "stream"},
		{name: "completions echo twice", op: schema.OpCompletion, body: `{"model":"a","prompt":"x","echo":true,"echo":false}`, param: "echo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []struct {
				name string
				f    func([]byte, schema.Operation) (reqInfo, *schema.Error)
			}{
				{"scan", func(b []byte, op schema.Operation) (reqInfo, *schema.Error) { return inspect(b, op, 0) }},
				{"slow", inspectSlow},
			} {
				_, err := path.f([]byte(tt.body), tt.op)
				switch {
				case tt.param == "" && err != nil:
					t.Errorf("%s: refused: %+v", path.name, err)
				case tt.param != "" && err == nil:
					t.Errorf("%s: accepted, want a 400 on %s", path.name, tt.param)
				case tt.param != "" && (err.Param != tt.param || err.Status != 400):
					t.Errorf("%s: error %+v, want a 400 on %s", path.name, err, tt.param)
				}
			}
			checkAgainstSlow(t, []byte(tt.body), tt.op)
			checkDecoderAgrees(t, []byte(tt.body), tt.op)
		})
	}
}

// TestKnownKeysFromSchema checks that the known keys are the schema types'
// json names plus the front end's own, and nothing else.
func TestKnownKeysFromSchema(t *testing.T) {
	tests := []struct {
		name string
		keys *keySet
		has  []string
		not  []string
	}{
		{name: "chat", keys: chatKeys, has: []string{"model", "messages", "stream", "stream_options", "temperature",
			"max_completion_tokens", "reasoning_effort", "tool_choice"}, not: []string{"Extra", "-", "input", "prompt"}},
		{name: "embeddings", keys: embeddingKeys, has: []string{"model", "input", "stream", "stream_options", "dimensions",
			"encoding_format", "user"}, not: []string{"messages", "Input"}},
		{name: "completions", keys: completionKeys, has: []string{"model", "prompt", "stream", "stream_options", "echo",
			"max_tokens", "suffix"}, not: []string{"messages", "input"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range tt.has {
				if !slices.Contains(tt.keys.names, k) {
					t.Errorf("%q is not known", k)
				}
			}
			for _, k := range tt.not {
				if slices.Contains(tt.keys.names, k) {
					t.Errorf("%q is known", k)
				}
			}
			for i, k := range tt.keys.names {
				if j, exact := tt.keys.lookup(k); j != i || !exact {
					t.Errorf("lookup(%q) = %d, %v; want %d, true", k, j, exact, i)
				}
			}
		})
	}
	if got, want := len(chatKeys.names), reflect.TypeFor[schema.ChatRequest]().NumField()-1; got != want {
		t.Errorf("chat has %d known keys, want %d (ChatRequest's fields but Extra)", got, want)
	}
}

// TestFoldRuneMatchesEqualFold checks, for every rune, that the scan folds it
// onto an ASCII byte of a known key exactly when encoding/json's folding
// (documented as bytes.EqualFold) does: only K (U+212A) and ſ (U+017F)
// join ASCII letters.
func TestFoldRuneMatchesEqualFold(t *testing.T) {
	var ascii []byte // the bytes known keys are made of
	for _, ks := range []*keySet{chatKeys, embeddingKeys, completionKeys} {
		for _, n := range ks.lower {
			for i := 0; i < len(n); i++ {
				if bytes.IndexByte(ascii, n[i]) < 0 {
					ascii = append(ascii, n[i])
				}
			}
		}
	}
	var joined []rune
	for r := rune(0x80); r <= unicode.MaxRune; r++ {
		if 0xd800 <= r && r <= 0xdfff {
			continue
		}
		enc := []byte(string(r))
		f := foldRune(r)
		for _, c := range ascii {
			ours := f < utf8.RuneSelf && lowerASCII(byte(f)) == c
			if theirs := bytes.EqualFold(enc, []byte{c}); ours != theirs {
				t.Fatalf("rune %U and %q: scan folds %v, bytes.EqualFold %v", r, c, ours, theirs)
			}
			if ours {
				joined = append(joined, r)
			}
		}
	}
	if want := []rune{'\u017f', '\u212a'}; !slices.Equal(joined, want) {
		t.Errorf("runes folding onto ASCII %U, want %U", joined, want)
	}
}

// decoderProbe is, per operation, a struct type with one json.RawMessage
// field per known key: unmarshaling {key: 0} into it shows which known key,
// if any, encoding/json matches key to.
var decoderProbe = sync.OnceValue(func() map[schema.Operation]reflect.Type {
	m := map[schema.Operation]reflect.Type{}
	for _, op := range []schema.Operation{schema.OpChat, schema.OpEmbeddings, schema.OpCompletion} {
		var fields []reflect.StructField
		for i, n := range keysFor(op).names {
			fields = append(fields, reflect.StructField{Name: "F" + strings.Repeat("x", i),
				Type: reflect.TypeFor[json.RawMessage](), Tag: reflect.StructTag(`json:"` + n + `"`)})
		}
		m[op] = reflect.StructOf(fields)
	}
	return m
})

// decoderMatch returns the known key of op that encoding/json decodes the
// member named key into ("" for none).
func decoderMatch(t *testing.T, op schema.Operation, key string) string {
	t.Helper()
	typ := decoderProbe()[op]
	quoted, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	v := reflect.New(typ)
	if err := json.Unmarshal([]byte(`{`+string(quoted)+`:0}`), v.Interface()); err != nil {
		t.Fatal(err)
	}
	for i := range typ.NumField() {
		if v.Elem().Field(i).Len() > 0 {
			return keysFor(op).names[i]
		}
	}
	return ""
}

// checkDecoderAgrees checks the scan's verdict on the top-level keys of a
// body against encoding/json itself: the first key that encoding/json
// matches to a known key it is not spelled as, or to a known key already
// met, is the one refused; with none, no key is.
func checkDecoderAgrees(t *testing.T, body []byte, op schema.Operation) {
	t.Helper()
	keys := topLevelKeys(body)
	if keys == nil {
		return // not a JSON object: nothing to compare
	}
	var bad string // the first key encoding/json would misread, as inspect names it
	seen := map[string]bool{}
	for _, k := range keys {
		m := decoderMatch(t, op, k)
		if m == "" {
			continue
		}
		if m != k || seen[m] {
			bad = m
			break
		}
		seen[m] = true
	}
	sc, ok := scanBody(body, keysFor(op), MaxDepth)
	if !ok {
		return // refused for its syntax, depth or UTF-8 (checkAgainstSlow compares the paths)
	}
	var got string
	if e := sc.kc.err(sc.keys); e != nil {
		got = e.Param
	}
	if got != bad {
		t.Fatalf("%q: inspect refuses the key of %q, encoding/json misreads %q (keys %q)", body, got, bad, keys)
	}
}

// topLevelKeys returns the decoded top-level keys of body in order, or nil
// when encoding/json does not read body as one object.
func topLevelKeys(body []byte) []string {
	if !json.Valid(body) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	keys := []string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return keys
}

// BenchmarkKeyLookup measures the per-key check on typical top-level keys
// (known, a case variant, unknown, non-ASCII).
func BenchmarkKeyLookup(b *testing.B) {
	for _, key := range []string{"model", "messages", "max_completion_tokens", "Stream", "metadata", "ſtream"} {
		b.Run(key, func(b *testing.B) {
			for b.Loop() {
				if i, _ := chatKeys.lookup(key); i < -1 {
					b.Fatal(i)
				}
			}
		})
	}
}
