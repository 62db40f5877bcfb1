package schema

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// decoder is a single-pass JSON reader for the chat request: it checks the
// syntax of everything it reads or skips and decodes the known fields
// without reflection. It is never more lenient than encoding/json: anything
// it does not decode exactly as encoding/json would (a syntax or type error,
// a duplicate or case-folded key, invalid UTF-8, deep nesting) makes it
// give up, and the caller decodes with encoding/json, which names the error.
//
// Strings without escapes are substrings of one copy of the body (s), so a
// decoded request costs one copy of the body however many strings it holds.
type decoder struct {
	b     []byte
	s     string // string(b): unescaped strings are substrings of it
	i     int
	depth int
	// scratch is where escaped strings are unquoted before their copy.
	scratch []byte
}

// maxSkipDepth bounds the nesting of values the decoder skips or keeps raw;
// deeper documents go to encoding/json (whose limit is 10,000), so that the
// decoder's recursion keeps the request's goroutine stack small.
const maxSkipDepth = 128

func newDecoder(b []byte) *decoder { return &decoder{b: b, s: string(b)} }

// ws skips JSON whitespace.
func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte (0 at the end).
func (d *decoder) peek() byte {
	d.ws()
	if d.i >= len(d.b) {
		return 0
	}
	return d.b[d.i]
}

// null consumes a null literal if one is next.
func (d *decoder) null() bool {
	if d.peek() == 'n' && strings.HasPrefix(d.s[d.i:], "null") {
		d.i += 4
		return true
	}
	return false
}

// boolean reads true or false.
func (d *decoder) boolean() (v, ok bool) {
	switch d.peek() {
	case 't':
		if strings.HasPrefix(d.s[d.i:], "true") {
			d.i += 4
			return true, true
		}
	case 'f':
		if strings.HasPrefix(d.s[d.i:], "false") {
			d.i += 5
			return false, true
		}
	}
	return false, false
}

// object reads an object, calling member with each key (unescaped) with d.i
// at its value, which member must consume.
func (d *decoder) object(member func(key string) bool) bool {
	if d.peek() != '{' {
		return false
	}
	d.i++
	if d.depth++; d.depth > maxSkipDepth {
		return false
	}
	if d.peek() == '}' {
		d.i++
		d.depth--
		return true
	}
	for {
		if d.peek() != '"' {
			return false
		}
		key, ok := d.str()
		if !ok || d.peek() != ':' {
			return false
		}
		d.i++
		if !member(key) {
			return false
		}
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			d.depth--
			return true
		default:
			return false
		}
	}
}

// array reads an array, calling elem with d.i at each element, which elem
// must consume. An empty array calls elem no time.
func (d *decoder) array(elem func() bool) bool {
	if d.peek() != '[' {
		return false
	}
	d.i++
	if d.depth++; d.depth > maxSkipDepth {
		return false
	}
	if d.peek() == ']' {
		d.i++
		d.depth--
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			d.depth--
			return true
		default:
			return false
		}
	}
}

// skip reads any value, checking it.
func (d *decoder) skip() bool {
	switch c := d.peek(); {
	case c == '{':
		return d.object(func(string) bool { return d.skip() })
	case c == '[':
		return d.array(d.skip)
	case c == '"':
		_, ok := d.str()
		return ok
	case c == 't' || c == 'f':
		_, ok := d.boolean()
		return ok
	case c == 'n':
		return d.null()
	default:
		_, ok := d.number()
		return ok
	}
}

// raw reads any value and returns a copy of its bytes, as json.RawMessage's
// UnmarshalJSON keeps them.
func (d *decoder) raw() ([]byte, bool) {
	d.ws()
	start := d.i
	if !d.skip() {
		return nil, false
	}
	return []byte(d.s[start:d.i]), true
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and returns it.
func (d *decoder) number() (string, bool) {
	d.ws()
	b, i := d.b, d.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return "", false
	}
	if i < len(b) && b[i] == '.' {
		i++
		n := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == n {
			return "", false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		n := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == n {
			return "", false
		}
	}
	d.i = i
	return d.s[start:i], true
}

// integer reads a number that encoding/json stores in an int (64 bits).
func (d *decoder) integer() (int64, bool) {
	s, ok := d.number()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// float reads a number that encoding/json stores in a float64.
func (d *decoder) float() (float64, bool) {
	s, ok := d.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// folds reports whether key is not one of names but encoding/json would
// still match it to one of them (it matches field names case-insensitively,
// folding some non-ASCII letters too): the decoder then gives up.
func folds(key string, names ...string) bool {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return true
		}
	}
	for _, n := range names {
		if strings.EqualFold(key, n) {
			return true
		}
	}
	return false
}
