package schema

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Strings: finding their end eight or 32 bytes at a time, and unquoting
// escaped ones as encoding/json does.

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

// SkipPlain returns the index of the first byte from i that a JSON string
// scanner must look at (a quote, a backslash, a control character or a
// non-ASCII byte; see plain8), or one within 8 bytes of the end of b: 32,
// then 8 bytes at a time, then straight to the flagged byte. The router's
// body scan uses it too. The lowest
// flagged byte of a word is always one that needs a look: a sum carries only
// out of a non-ASCII byte, which is flagged itself.
func SkipPlain(b []byte, i int) int {
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
		i = SkipPlain(b, i)
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
