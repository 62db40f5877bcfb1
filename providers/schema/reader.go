package schema

import "encoding/json"

// Reader reads one JSON document in a single pass, checking the syntax of
// everything it reads or skips, for translators that decode upstream
// responses without reflection. It is the chat request decoder's reader,
// with the same rule: each method returns false where encoding/json would
// fail or decode differently (a type error, invalid UTF-8, a document
// nested deeper than 128 levels), and the caller then decodes the document
// with encoding/json instead. Strings are substrings of one copy of the
// document. A Reader is used by one goroutine.
type Reader struct{ d *decoder }

// NewReader returns a Reader at the start of b.
func NewReader(b []byte) *Reader { return &Reader{d: newDecoder(b)} }

// Object reads an object (not null), calling member with each key, with the
// Reader at the member's value, which member must read or skip.
func (r *Reader) Object(member func(key string) bool) bool { return r.d.object(member) }

// Array reads an array (not null), calling elem with the Reader at each
// element, which elem must read or skip.
func (r *Reader) Array(elem func() bool) bool { return r.d.array(elem) }

// Null reads a null if one is next, and reports whether it did.
func (r *Reader) Null() bool { return r.d.null() }

// String reads a string into *dst, or a null, which leaves *dst as it is
// (as encoding/json does).
func (r *Reader) String(dst *string) bool { return r.d.stringInto(dst) }

// Int reads an integer into *dst, or a null, which leaves *dst as it is.
func (r *Reader) Int(dst *int) bool {
	if r.d.null() {
		return true
	}
	n, ok := r.d.integer()
	*dst = int(n)
	return ok
}

// Raw reads any value and returns a copy of its bytes, as a
// json.RawMessage field keeps them.
func (r *Reader) Raw() (json.RawMessage, bool) { return r.d.raw() }

// Skip reads any value.
func (r *Reader) Skip() bool { return r.d.skip() }

// End reports whether only whitespace is left.
func (r *Reader) End() bool {
	r.d.ws()
	return r.d.i == len(r.d.b)
}

// Folds reports whether key is not one of names but encoding/json would
// still decode it into a field of that name (it matches names without
// regard to case): a decoder built on Reader should then give up.
func Folds(key string, names ...string) bool { return folds(key, names...) }
