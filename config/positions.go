package config

import (
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// positions maps field paths such as routes[0].rules[1].backendRefs[0] to source lines,
// and indexes the parsed YAML by line to translate the YAML library's messages.
type positions struct {
	// lines maps a field path to its source line.
	lines map[string]int
	// keys maps (parsed line, key) to the path of the mapping holding that key.
	keys map[lineKey]string
	// values lists the value nodes starting on each parsed line, with their paths.
	values map[int][]valueAt
	// src maps a parsed line to its source line.
	src *substituted
}

type lineKey struct {
	line int
	key  string
}

type valueAt struct {
	path string
	node *yaml.Node
}

// newPositions walks a parsed document.
func newPositions(doc *yaml.Node, src *substituted) *positions {
	p := &positions{
		lines:  map[string]int{},
		keys:   map[lineKey]string{},
		values: map[int][]valueAt{},
		src:    src,
	}
	if doc != nil && doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		p.walk(doc.Content[0], "")
	}
	return p
}

// walk records n, found at path, and its children.
func (p *positions) walk(n *yaml.Node, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		p.values[n.Line] = append(p.values[n.Line], valueAt{path: path, node: n})
		return
	}
	p.values[n.Line] = append(p.values[n.Line], valueAt{path: path, node: n})
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := k.Value
			if path != "" {
				child = path + "." + k.Value
			}
			p.keys[lineKey{k.Line, k.Value}] = path
			if _, seen := p.lines[child]; !seen {
				p.lines[child] = p.src.line(k.Line)
			}
			p.walk(v, child)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			child := path + "[" + strconv.Itoa(i) + "]"
			p.lines[child] = p.src.line(item.Line)
			p.walk(item, child)
		}
	}
}

// lineOf returns the source line of path, or of its nearest parent that has one (0 if none).
func (p *positions) lineOf(path string) int {
	if p == nil {
		return 0
	}
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	return 0
}

// parentPath strips the last ".field" or "[i]" from path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

var (
	reLine      = regexp.MustCompile(`^line (\d+): (.*)$`)
	reUnknown   = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	reCannot    = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into (.+)$")
	reDuplicate = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	reSyntax    = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// translate turns one message of a yaml.TypeError ("line 7: field foo not found in type
// config.Route") into an Error with source line, path and a readable message.
func (p *positions) translate(file, msg string) *Error {
	e := p.translateRaw(file, msg)
	e.Msg = p.scrub(e.Msg)
	return e
}

// scrub removes substituted values from msg (see substituted.scrub).
func (p *positions) scrub(msg string) string {
	if p == nil {
		return msg
	}
	return p.src.scrub(msg)
}

// translateRaw is translate before scrubbing.
func (p *positions) translateRaw(file, msg string) *Error {
	m := reLine.FindStringSubmatch(msg)
	if m == nil {
		return &Error{File: file, Msg: msg}
	}
	line, _ := strconv.Atoi(m[1])
	rest := m[2]
	e := &Error{File: file, Line: p.src.line(line), Msg: rest}
	if u := reUnknown.FindStringSubmatch(rest); u != nil {
		e.Path = p.keys[lineKey{line, u[1]}]
		e.Msg = "unknown field " + strconv.Quote(u[1])
		return e
	}
	if c := reCannot.FindStringSubmatch(rest); c != nil {
		tag, val, into := c[1], c[2], c[3]
		if v, ok := p.valueOn(line, tag, val); ok {
			e.Path = v
		}
		got := describeTag(tag)
		switch {
		case p.src.substitutedLine(line):
			got += " (substituted from the environment; the value is not shown)"
		case val != "":
			got = strconv.Quote(val)
		}
		e.Msg = "expected " + describeType(into) + ", got " + got
		return e
	}
	if d := reDuplicate.FindStringSubmatch(rest); d != nil {
		e.Path = p.keys[lineKey{line, d[1]}]
		first, _ := strconv.Atoi(d[2])
		e.Msg = "duplicate key " + strconv.Quote(d[1]) + " (first at line " + strconv.Itoa(p.src.line(first)) + ")"
		return e
	}
	// Messages from our own unmarshalers (Duration): place them on the scalar they name.
	if v, ok := p.valueOn(line, "", quotedIn(rest)); ok {
		e.Path = v
	}
	if p.src.substitutedLine(line) {
		e.Msg = hideQuoted(e.Msg)
	}
	return e
}

// valueOn finds the path of a value node on a parsed line, matching its tag and (possibly
// truncated) value when given.
func (p *positions) valueOn(line int, tag, val string) (string, bool) {
	val = strings.TrimSuffix(val, "...")
	var found []valueAt
	for _, v := range p.values[line] {
		if tag == "!!seq" && v.node.Kind != yaml.SequenceNode || tag == "!!map" && v.node.Kind != yaml.MappingNode {
			continue
		}
		if tag != "!!seq" && tag != "!!map" && v.node.Kind != yaml.ScalarNode {
			continue
		}
		if val != "" && !strings.HasPrefix(v.node.Value, val) {
			continue
		}
		found = append(found, v)
	}
	if len(found) == 0 {
		return "", false
	}
	return found[len(found)-1].path, true
}

// hideQuoted replaces the double-quoted strings of msg (the offending value,
// in our unmarshalers' messages, quoted with %q) with "…", for a value that
// came from the environment. Unquoted text is kept.
func hideQuoted(msg string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(msg, '"')
		if i < 0 {
			break
		}
		q, err := strconv.QuotedPrefix(msg[i:])
		if err != nil { // an unterminated quote: hide the rest
			b.WriteString(msg[:i])
			b.WriteString(`"…`)
			return b.String()
		}
		b.WriteString(msg[:i])
		b.WriteString(`"…"`)
		msg = msg[i+len(q):]
	}
	b.WriteString(msg)
	return b.String()
}

// quotedIn returns the first double-quoted string in msg, unquoted, or "".
func quotedIn(msg string) string {
	i := strings.IndexByte(msg, '"')
	if i < 0 {
		return ""
	}
	s, err := strconv.QuotedPrefix(msg[i:])
	if err != nil {
		return ""
	}
	u, err := strconv.Unquote(s)
	if err != nil {
		return ""
	}
	return u
}

// describeTag says what kind of YAML value a tag is.
func describeTag(tag string) string {
	switch tag {
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	case "!!null":
		return "null"
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!bool":
		return "a boolean"
	case "!!float":
		return "a number"
	}
	return "a " + strings.TrimPrefix(tag, "!!")
}

// describeType says in words what a Go type expects.
func describeType(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map["):
		return "a mapping"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string" || t == "config.Secret":
		return "a string"
	case strings.HasPrefix(t, "config."):
		return "a mapping (" + strings.TrimPrefix(t, "config.") + ")"
	}
	return t
}

// syntaxError turns a YAML parser error into an Error.
func syntaxError(file string, src *substituted, err error) *Error {
	msg := err.Error()
	if m := reSyntax.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: src.line(line), Msg: src.scrub("invalid YAML: " + m[2])}
	}
	return &Error{File: file, Msg: src.scrub("invalid YAML: " + strings.TrimPrefix(msg, "yaml: "))}
}
