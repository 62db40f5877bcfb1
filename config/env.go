package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// substituted is a file after environment substitution.
type substituted struct {
	// data is the text handed to the YAML parser.
	data []byte
	// srcLine maps a 1-based line of data to its 1-based source line (index 0 unused).
	// A variable whose value holds newlines makes several lines of data map to one source line.
	srcLine []int
	// fromEnv marks (by 1-based line of data) the lines a substitution changed:
	// errors about their values do not quote them, since a value may be a secret.
	fromEnv []bool
	// values are the substituted values (of 4 bytes or more): no error
	// message shows them (see scrub).
	values []string
}

// minScrubbed is the shortest substituted value scrub removes from messages:
// shorter ones (ports, flags) would blank out unrelated text.
const minScrubbed = 4

// keep stops scrubbing the substituted values that are part of text (a file
// path field's value).
func (s *substituted) keep(text string) {
	if text == "" {
		return
	}
	s.values = slices.DeleteFunc(s.values, func(v string) bool {
		// The whole path, or whole components of it (${DIR}/ca.pem): not
		// any value that happens to occur inside a path.
		return text == v || strings.HasPrefix(text, v+"/") || strings.HasSuffix(text, "/"+v) ||
			strings.Contains(text, "/"+v+"/")
	})
}

// scrub replaces every substituted value in msg with "…".
func (s *substituted) scrub(msg string) string {
	if s == nil {
		return msg
	}
	// Longest first, so that a value inside a longer one does not leave the
	// longer one's rest behind.
	values := slices.Clone(s.values)
	slices.SortFunc(values, func(a, b string) int {
		if d := len(b) - len(a); d != 0 {
			return d
		}
		return strings.Compare(a, b) // duplicates next to each other, for Compact
	})
	for _, v := range slices.Compact(values) {
		if strings.Contains(msg, v) {
			msg = strings.ReplaceAll(msg, v, "…")
		}
		// A quoted value is escaped in messages built with %q.
		if q := strconv.Quote(v); len(q) != len(v)+2 && strings.Contains(msg, q[1:len(q)-1]) {
			msg = strings.ReplaceAll(msg, q[1:len(q)-1], "…")
		}
	}
	return msg
}

// substitutedLine reports whether line n of the substituted text holds a
// substituted value.
func (s *substituted) substitutedLine(n int) bool {
	return n > 0 && n < len(s.fromEnv) && s.fromEnv[n]
}

// line returns the source line of line n of the substituted text.
func (s *substituted) line(n int) int {
	if n <= 0 {
		return 0
	}
	if n < len(s.srcLine) {
		return s.srcLine[n]
	}
	if len(s.srcLine) > 1 {
		return s.srcLine[len(s.srcLine)-1]
	}
	return n
}

// substitute replaces ${VAR} and ${VAR:-default} with values from lookup, and $$ with $,
// one source line at a time so that reported lines stay the source lines. A "$" not
// followed by "{" or "$" is kept. ${VAR} with VAR unset gives the empty string;
// ${VAR:-default} gives default when VAR is unset or empty (default may itself hold ${...}).
func substitute(file string, data []byte, lookup func(string) (string, bool)) (*substituted, Errors) {
	var errs Errors
	out := &substituted{srcLine: []int{0}, fromEnv: []bool{false}}
	var b strings.Builder
	lines := strings.SplitAfter(string(data), "\n")
	for i, ln := range lines {
		if ln == "" {
			continue
		}
		res, err := expand(ln, lookup, 0, &out.values)
		if err != nil {
			errs = append(errs, &Error{File: file, Line: i + 1, Msg: err.Error()})
			res = ln
		}
		b.WriteString(res)
		changed := res != ln
		for n := strings.Count(res, "\n"); n > 0; n-- {
			out.srcLine = append(out.srcLine, i+1)
			out.fromEnv = append(out.fromEnv, changed)
		}
		if !strings.HasSuffix(res, "\n") {
			out.srcLine = append(out.srcLine, i+1)
			out.fromEnv = append(out.fromEnv, changed)
		}
	}
	out.data = []byte(b.String())
	return out, errs
}

// maxExpandDepth bounds nesting of ${A:-${B:-...}} defaults.
const maxExpandDepth = 8

// expand substitutes one piece of text.
func expand(s string, lookup func(string) (string, bool), depth int, values *[]string) (string, error) {
	if depth > maxExpandDepth {
		return "", fmt.Errorf("environment substitution nested deeper than %d levels", maxExpandDepth)
	}
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := closingBrace(s, i+2)
			if end < 0 {
				return "", fmt.Errorf("unterminated %q: missing \"}\"", strings.TrimRight(s[i:min(len(s), i+20)], "\r\n"))
			}
			val, err := expandVar(s[i+2:end], lookup, depth, values)
			if err != nil {
				return "", err
			}
			b.WriteString(val)
			i = end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// closingBrace returns the index of the "}" closing a "${" whose body starts at from, or -1.
func closingBrace(s string, from int) int {
	depth := 0
	for j := from; j < len(s); j++ {
		switch {
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '$':
			j++
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '{':
			depth++
			j++
		case s[j] == '}':
			if depth == 0 {
				return j
			}
			depth--
		case s[j] == '\n':
			return -1
		}
	}
	return -1
}

// expandVar resolves the body of ${...}: NAME or NAME:-default.
func expandVar(body string, lookup func(string) (string, bool), depth int, values *[]string) (string, error) {
	name, def, hasDef := strings.Cut(body, ":-")
	if !validEnvName(name) {
		return "", fmt.Errorf("invalid variable name %q in \"${%s}\" (use ${NAME} or ${NAME:-default})", name, body)
	}
	val, ok := lookup(name)
	if hasDef && (!ok || val == "") {
		return expand(def, lookup, depth+1, values)
	}
	if len(val) >= minScrubbed && values != nil {
		*values = append(*values, val)
	}
	return val, nil
}

// validEnvName reports whether s is a shell-style variable name.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
