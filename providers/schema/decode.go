package schema

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
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

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// plain8 is non-zero when one of the eight bytes of w needs a look in a
// string: a quote, a backslash, a control character or a non-ASCII byte.
// The sums cannot carry between bytes below 0x80, and a byte at or above it
// is flagged by w itself.
func plain8(w uint64) uint64 {
	return (w | ^((w ^ lsb*'"') + lsb*0x7f) | ^((w ^ lsb*'\\') + lsb*0x7f) | ^(w + lsb*0x60)) & msb
}

// skipPlain returns the index of the first byte from i that needs a look in
// a string (see plain8), or one within 8 bytes of the end of b. The lowest
// flagged byte of a word is always one that needs a look: a sum carries only
// out of a non-ASCII byte, which is flagged itself.
func skipPlain(b []byte, i int) int {
	for i+32 <= len(b) {
		c := b[i : i+32 : i+32]
		if plain8(binary.LittleEndian.Uint64(c))|plain8(binary.LittleEndian.Uint64(c[8:]))|
			plain8(binary.LittleEndian.Uint64(c[16:]))|plain8(binary.LittleEndian.Uint64(c[24:])) != 0 {
			break
		}
		i += 32
	}
	for i+8 <= len(b) {
		if m := plain8(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	return i
}

// str reads a string (d.i at its opening quote) and returns its value.
func (d *decoder) str() (string, bool) {
	b := d.b
	start := d.i + 1
	i := start
	for {
		i = skipPlain(b, i)
		if i >= len(b) {
			return "", false
		}
		switch c := b[i]; {
		case c == '"':
			d.i = i + 1
			return d.s[start:i], true
		case c == '\\':
			return d.escaped(start, i)
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return "", false // encoding/json would write U+FFFD: let it
			}
			i += n
		}
	}
}

// escaped reads the rest of a string whose first escape is at i, unquoting
// it as encoding/json does (a lone or reversed surrogate becomes U+FFFD).
func (d *decoder) escaped(start, i int) (string, bool) {
	b := d.b
	out := append(d.scratch[:0], b[start:i]...)
	defer func() { d.scratch = out[:0] }()
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			d.i = i + 1
			return string(out), true
		case c == '\\':
			if i+1 >= len(b) {
				return "", false
			}
			switch e := b[i+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r := hex4(b[i+2:])
				if r < 0 {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r2 := hex4u(b[i:]); r2 >= 0 {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
				continue
			default:
				return "", false
			}
			i += 2
		case c < 0x20:
			return "", false
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return "", false
			}
			out = append(out, b[i:i+n]...)
			i += n
		}
	}
	return "", false
}

// hex4 decodes the four hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// hex4u decodes a \uXXXX escape at the start of b, or returns -1.
func hex4u(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	return hex4(b[2:])
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
