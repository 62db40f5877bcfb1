package route

import "errors"

// Errors returned by [NormalizePath]. Their text is safe to show to clients.
var (
	ErrPathNotAbsolute  = errors.New(`path must start with "/"`)
	ErrPathEncodedSlash = errors.New(`encoded "/" (%2F) is not allowed`)
	ErrPathBackslash    = errors.New(`"\" (or %5C) is not allowed`)
	ErrPathControl      = errors.New("NUL or control character is not allowed")
	ErrPathBadEscape    = errors.New("malformed percent-encoding")
	ErrPathAboveRoot    = errors.New(`".." climbs above the root`)
)

const upperHex = "0123456789ABCDEF"

// NormalizePath turns a raw request-target path into the canonical path used
// for matching and forwarding, or returns one of the ErrPath* errors (answer 400).
//
// The canonical form: percent-encoded unreserved characters (ALPHA DIGIT - . _ ~)
// are decoded, other escapes are kept with upper-case hex, raw bytes >= 0x80 are
// percent-encoded, "//" collapses to "/", "." and ".." segments are resolved (a
// trailing slash is kept). Encoded "/" or "\", raw "\", NUL and control bytes
// (raw or encoded), a malformed escape, ".." above the root and a path not
// starting with "/" are errors. A "?" or "#" ends the path (the query is not part of it).
func NormalizePath(raw []byte) ([]byte, error) {
	return AppendNormalizedPath(make([]byte, 0, len(raw)+8), raw)
}

// AppendNormalizedPath appends the canonical form of raw (see [NormalizePath]) to
// dst and returns the extended slice; it allocates only when dst is too small.
func AppendNormalizedPath(dst, raw []byte) ([]byte, error) {
	if len(raw) == 0 || raw[0] != '/' {
		return dst, ErrPathNotAbsolute
	}
	start := len(dst)
	// Pass 1: decode and validate bytes into dst[start:].
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '?' || c == '#':
			i = len(raw)
			continue
		case c == '%':
			if i+2 >= len(raw) {
				return dst[:start], ErrPathBadEscape
			}
			hi, ok1 := unhex(raw[i+1])
			lo, ok2 := unhex(raw[i+2])
			if !ok1 || !ok2 {
				return dst[:start], ErrPathBadEscape
			}
			d := hi<<4 | lo
			i += 2
			switch {
			case d == '/':
				return dst[:start], ErrPathEncodedSlash
			case d == '\\':
				return dst[:start], ErrPathBackslash
			case d < 0x20 || d == 0x7f:
				return dst[:start], ErrPathControl
			case unreserved(d):
				dst = append(dst, d)
			default:
				dst = append(dst, '%', upperHex[d>>4], upperHex[d&15])
			}
		case c == '\\':
			return dst[:start], ErrPathBackslash
		case c < 0x20 || c == 0x7f:
			return dst[:start], ErrPathControl
		case c >= 0x80:
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	// Pass 2: resolve segments in place. w never overtakes r.
	buf := dst[start:]
	w := 0 // output length within buf; output always starts with "/"
	r := 0
	trailing := false
	for r < len(buf) {
		// buf[r] == '/' here; the segment is buf[r+1:end].
		end := r + 1
		for end < len(buf) && buf[end] != '/' {
			end++
		}
		seg := buf[r+1 : end]
		r = end
		switch {
		case len(seg) == 0:
			trailing = true // "//" collapses; a final "/" keeps a trailing slash
		case len(seg) == 1 && seg[0] == '.':
			trailing = true
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			if w == 0 {
				return dst[:start], ErrPathAboveRoot
			}
			for w > 0 && buf[w-1] != '/' {
				w--
			}
			w-- // drop the "/" before the popped segment
			trailing = true
		default:
			buf[w] = '/'
			w++
			w += copy(buf[w:], seg)
			trailing = false
		}
	}
	if w == 0 || trailing {
		buf[w] = '/'
		w++
	}
	return dst[:start+w], nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}
