package ai

import (
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// scan is the one pass inspect makes over a request body: it checks JSON
// syntax, UTF-8 inside strings (outside them only ASCII is valid JSON) and
// the nesting depth, checks the top-level keys against the operation's known
// keys (keys.go: the first case variant or repeat of a known key is recorded,
// for inspect to refuse), and records the top-level members the front end
// reads and the shape of the messages array (the first role of each message,
// as gjson's Get).
//
// It is stricter than gjson, never more lenient: a body it rejects is
// checked again by the slower validators, which pick the error message.
type scan struct {
	b     []byte
	i     int
	depth int
	max   int

	keys *keySet // the operation's known top-level keys
	kc   keyCheck

	model, stream, input, options span // options: stream_options
	maxTokens, maxCompletion      span
	msgs                          msgShape
}

// span is a top-level member's raw value; ok is false when it is absent.
type span struct {
	raw []byte
	ok  bool
}

// msgShape is what checkMessages needs of a messages value.
type msgShape struct {
	present bool
	null    bool
	array   bool
	n       int // elements before the first bad one (all of them if bad < 0)
	bad     int // -1, badNotObject, badRole or badKey: why element n is wrong
	keys    keyCheck
}

const (
	badNone      = -1
	badNotObject = 1
	badRole      = 2
	badKey       = 3 // a key that folds onto a message's known key, or a repeat (keys says which)
)

// scanBody runs the pass; ok is false for any body that is not a valid,
// object-rooted JSON document within the depth limit.
func scanBody(b []byte, keys *keySet, maxDepth int) (s scan, ok bool) {
	s.b, s.keys, s.max = b, keys, maxDepth // s is zero: a named result
	s.ws()
	if s.i >= len(b) || b[s.i] != '{' {
		return s, false
	}
	if !s.object(true) {
		return s, false
	}
	s.ws()
	return s, s.i == len(b)
}

func (s *scan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value at s.i (whitespace already skipped).
func (s *scan) value() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(false)
	case c == '[':
		return s.array(nil)
	case c == '"':
		_, ok := s.str()
		return ok
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	default:
		return s.number()
	}
}

func (s *scan) lit(w string) bool {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return false
	}
	s.i += len(w)
	return true
}

func (s *scan) enter() bool {
	s.depth++
	return s.depth <= s.max
}

// object scans an object; top records the front end's members.
func (s *scan) object(top bool) bool {
	return s.members(func(key []byte, esc bool) bool {
		if !top {
			return s.value()
		}
		start := s.i
		var k string
		if esc {
			k = gjson.Parse(bstr(key)).Str
		} else {
			k = bstr(key[1 : len(key)-1])
		}
		i, exact := s.keys.lookup(k)
		if i < 0 || !s.kc.see(i, exact, k) {
			return s.value() // not read, or refused: the value is only scanned
		}
		var dst *span
		switch s.keys.roles[i] {
		case roleModel:
			dst = &s.model
		case roleStream:
			dst = &s.stream
		case roleInput:
			dst = &s.input
		case roleOptions:
			dst = &s.options
		case roleMaxTokens:
			dst = &s.maxTokens
		case roleMaxCompletion:
			dst = &s.maxCompletion
		case roleMessages:
			s.msgs = msgShape{present: true, bad: badNone}
			switch {
			case s.i < len(s.b) && s.b[s.i] == '[':
				s.msgs.array = true
				return s.array(&s.msgs)
			case s.lit("null"):
				s.msgs.null = true
				return true
			}
			return s.value()
		}
		if !s.value() {
			return false
		}
		if dst != nil {
			*dst = span{raw: s.b[start:s.i], ok: true}
		}
		return true
	})
}

// members scans {"k": v, ...}; each(key, escaped) scans the value at s.i and
// reports whether it was valid.
func (s *scan) members(each func(key []byte, esc bool) bool) bool {
	if !s.enter() {
		return false
	}
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		ks := s.i
		esc, ok := s.str()
		if !ok {
			return false
		}
		key := s.b[ks:s.i]
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.ws()
		if !each(key, esc) {
			return false
		}
		if end, ok := s.sep('}'); !ok || end {
			return ok
		}
	}
}

// sep reads what follows a member or an element: ',' (ok, more to come,
// spaces skipped) or close (ok and end: the container is done).
func (s *scan) sep(close byte) (end, ok bool) {
	s.ws()
	if s.i >= len(s.b) {
		return false, false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		s.ws()
		return false, true
	case close:
		s.i++
		s.depth--
		return true, true
	}
	return false, false
}

// array scans an array; shape, when set, records the messages checks.
func (s *scan) array(shape *msgShape) bool {
	if !s.enter() {
		return false
	}
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		if shape == nil || shape.bad != badNone {
			if !s.value() {
				return false
			}
		} else if !s.message(shape) {
			return false
		}
		if end, ok := s.sep(']'); !ok || end {
			return ok
		}
	}
}

// message scans one element of messages, checking it is an object whose
// keys are spelled as a message's known keys, each once (see messageKeys),
// and whose role is a non-empty string.
func (s *scan) message(shape *msgShape) bool {
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		shape.bad = badNotObject
		return s.value()
	}
	var kc keyCheck
	good := false
	ok := s.members(func(key []byte, esc bool) bool {
		var k string
		if esc {
			k = gjson.Parse(bstr(key)).Str
		} else {
			k = bstr(key[1 : len(key)-1])
		}
		i, exact := messageKeys.lookup(k)
		if i < 0 || !kc.see(i, exact, k) || messageKeys.names[i] != "role" {
			return s.value()
		}
		start := s.i
		if !s.value() {
			return false
		}
		good = s.b[start] == '"' && s.i-start > 2
		return true
	})
	switch {
	case kc.bad != 0:
		shape.bad, shape.keys = badKey, kc
	case !good:
		shape.bad = badRole
	default:
		shape.n++
	}
	return ok
}

// str scans a string at s.i (an opening quote); esc reports an escape in it.
func (s *scan) str() (esc, ok bool) {
	b := s.b
	i := s.i + 1
	for {
		i = schema.SkipPlain(b, i)
		if i >= len(b) {
			return esc, false
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return esc, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return esc, false
				}
				i += 6
			default:
				return esc, false
			}
		case c < 0x20:
			return esc, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return esc, false
			}
			i += n
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number scans -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scan) number() bool {
	b, i := s.b, s.i
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
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	s.i = i
	return true
}
