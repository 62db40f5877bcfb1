package openai

import (
	"bytes"

	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/providers/schema"
)

// responseUsage returns the usage of an answer, as
// UsageOf(gjson.Get(body, "usage")) does, without walking the members before
// it: OpenAI puts usage at the end of its answers (before
// system_fingerprint), behind the choices, so a lookup from the front pays
// for the whole message. A usage object of plain integers is then read in
// one pass (usageFast) rather than through gjson's ForEach and Get.
//
// The fast path takes the only `"usage"` key and checks that it is the root
// object's: in valid JSON an unescaped `"usage"` followed by a colon is an
// object key, and scanning on from it (strings and nesting tracked), its
// object closes at the body's last byte only when that object is the root.
// Anything else (a second `"usage"`, the key in a nested object, escapes that a key
// may hide behind, input that does not scan) is answered by gjson.
func responseUsage(body []byte) schema.Usage {
	j, ok := usageStart(body)
	switch {
	case !ok:
		return UsageOf(gjson.Get(bstr(body), "usage"))
	case j < 0:
		return schema.Usage{}
	}
	u, end, fast := usageFast(body[j:])
	if !fast {
		end = skipValue(body[j:], 0)
	}
	if end < 0 || !closesRoot(body, j+end) {
		return UsageOf(gjson.Get(bstr(body), "usage"))
	}
	if fast {
		return u
	}
	return UsageOf(gjson.Parse(bstr(body[j : j+end])))
}

// usageStart is responseUsage's lookup: the index of the value of the only
// "usage" key (-1: there is none); ok is false when it cannot tell. Whether
// that key is the root object's is for closesRoot to say.
func usageStart(body []byte) (j int, ok bool) {
	i, n := findUsageKey(body)
	switch {
	case n == 0:
		// No key, unless it is written with escapes ("\u0075sage").
		return -1, !bytes.Contains(body, []byte(`\u`))
	case n > 1 || escaped(body, i):
		// gjson takes the first of duplicate keys: leave it the choice.
		return -1, false
	}
	j = skipSpace(body, i+len(keyUsage))
	if j == len(body) || body[j] != ':' {
		return -1, false
	}
	j = skipSpace(body, j+1)
	if j == len(body) {
		return -1, false
	}
	return j, true
}

// skipValue returns the end of the value that starts at body[i], or -1 when
// it cannot follow it. Literals and numbers end at the next delimiter.
func skipValue(body []byte, i int) int {
	if i >= len(body) {
		return -1
	}
	switch body[i] {
	case '"':
		return skipString(body, i)
	case '{', '[':
		depth := 0
		for ; i < len(body); i++ {
			switch body[i] {
			case '"':
				if i = skipString(body, i); i < 0 {
					return -1
				}
				i--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	for ; i < len(body); i++ {
		switch c := body[i]; {
		case c == ',' || c == '}' || c == ']' || isSpace(c):
			return i
		}
	}
	return i
}

// skipString returns the end of the string whose opening quote is body[i],
// or -1 when it does not end.
func skipString(body []byte, i int) int {
	// Keys and numbers' neighbours are short: a byte loop beats
	// IndexByte's setup there; long strings (the message) go to IndexByte.
	for i++; i < len(body); i++ {
		switch body[i] {
		case '"':
			return i + 1
		case '\\':
			return skipStringSlow(body, i)
		}
		if i&15 == 15 {
			return skipStringSlow(body, i)
		}
	}
	return -1
}

// skipStringSlow goes on with skipString from body[i], inside the string.
func skipStringSlow(body []byte, i int) int {
	for {
		k := bytes.IndexByte(body[i:], '"')
		if k < 0 {
			return -1
		}
		i += k
		if !escaped(body, i) {
			return i + 1
		}
		i++
	}
}

var usageTailBytes = []byte(`usage"`)

// findUsageKey returns the index of the first `"usage"` in body and how many
// there are (0, 1 or 2 for more). It looks for `usage"`: an 'u' is much rarer
// in JSON than the quote that bytes.Index would try at every key.
func findUsageKey(body []byte) (first, n int) {
	first = -1
	for from := 1; from < len(body); {
		k := bytes.Index(body[from:], usageTailBytes)
		if k < 0 {
			break
		}
		if at := from + k; body[at-1] == '"' {
			if n++; n == 1 {
				first = at - 1
			} else {
				return first, n
			}
		}
		from += k + len(usageTailBytes)
	}
	return first, n
}

// escaped reports whether the quote at body[i] follows an odd number of
// backslashes.
func escaped(body []byte, i int) bool {
	n := 0
	for k := i - 1; k >= 0 && body[k] == '\\'; k-- {
		n++
	}
	return n%2 == 1
}

// closesRoot scans body from i, just after a member of some object, and reports
// whether that object's closing brace is the last non-space byte of body
// (the object is then the root). It gives false for anything it cannot
// follow.
func closesRoot(body []byte, i int) bool {
	depth := 0
	for ; i < len(body); i++ {
		switch body[i] {
		case '"':
			if i = skipString(body, i); i < 0 {
				return false
			}
			i--
		case '{', '[':
			depth++
		case ']':
			if depth--; depth < 0 {
				return false
			}
		case '}':
			if depth--; depth < 0 {
				for i++; i < len(body) && isSpace(body[i]); i++ {
				}
				return i == len(body)
			}
		}
	}
	return false
}

// usageFast reads a usage object as UsageOf does when every member it uses
// is a plain non-negative integer (or, for the details, an object of them)
// and no key has escapes; ok is false otherwise, and UsageOf answers.
func usageFast(b []byte) (u schema.Usage, end int, ok bool) {
	if len(b) == 0 || b[0] != '{' {
		return schema.Usage{}, -1, false // UsageOf gives none; responseUsage finds the end
	}
	end, ok = members(b, func(key, v []byte) bool {
		switch string(key) {
		case "prompt_tokens", "input_tokens":
			return intInto(&u.PromptTokens, v)
		case "completion_tokens", "output_tokens":
			return intInto(&u.CompletionTokens, v)
		case "total_tokens":
			return intInto(&u.TotalTokens, v)
		case "prompt_tokens_details", "input_tokens_details":
			n, found, ok := detail(v, "cached_tokens")
			if found {
				u.PromptTokensDetails = &schema.PromptTokensDetails{CachedTokens: n}
			}
			return ok
		case "completion_tokens_details", "output_tokens_details":
			n, found, ok := detail(v, "reasoning_tokens")
			if found {
				u.CompletionTokensDetails = &schema.CompletionTokensDetails{ReasoningTokens: n}
			}
			return ok
		}
		return true
	})
	if !ok {
		return schema.Usage{}, -1, false
	}
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	return u, end, true
}

// detail reads member name of a details object v (gjson's Get: the first
// one); ok is false when usageFast cannot tell.
func detail(v []byte, name string) (n int, found, ok bool) {
	if v[0] != '{' {
		return 0, false, string(v) == "null" // a null details object has no member
	}
	_, ok = members(v, func(key, val []byte) bool {
		if found || string(key) != name {
			return true
		}
		found = true
		return intInto(&n, val)
	})
	return n, found, ok
}

// members calls f with each member of the object that starts b (b[0] is
// '{') until f returns false, and returns the end of the object. ok is false
// when f did or when the object has a shape it does not read (escaped keys,
// anything that does not scan).
func members(b []byte, f func(key, v []byte) bool) (end int, ok bool) {
	i := skipSpace(b, 1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for i < len(b) {
		if b[i] != '"' {
			return -1, false
		}
		e := skipString(b, i)
		if e < 0 {
			return -1, false
		}
		key := b[i+1 : e-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return -1, false
		}
		i = skipSpace(b, e)
		if i == len(b) || b[i] != ':' {
			return -1, false
		}
		i = skipSpace(b, i+1)
		e = skipValue(b, i)
		if e < 0 || !f(key, b[i:e]) {
			return -1, false
		}
		i = skipSpace(b, e)
		if i == len(b) {
			return -1, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, true
		default:
			return -1, false
		}
	}
	return -1, false
}

// intInto stores the plain non-negative integer v (at most 18 digits) in
// dst; it reports false for anything else.
func intInto(dst *int, v []byte) bool {
	if len(v) == 0 || len(v) > 18 {
		return false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	*dst = n
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}
