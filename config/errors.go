package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem at a place in a configuration file. Its string form is
// "gateway.yaml:14: routes[0].rules[1].backendRefs[0]: unknown backend \"default/missing\"".
type Error struct {
	// File is the configuration file's name as given to Load or LoadBytes.
	File string `json:"file,omitempty"`
	// Line is the 1-based source line, 0 when unknown (a Config built in code).
	Line int `json:"line,omitempty"`
	// Path is the field path, e.g. routes[0].rules[1].backendRefs[0]; empty for file-level problems.
	Path string `json:"path,omitempty"`
	// Msg says what is wrong.
	Msg string `json:"msg"`
}

var _ error = (*Error)(nil)

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is a list of problems. It implements error, one problem per line.
type Errors []*Error

var _ error = Errors(nil)

// Error implements error.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, x := range e {
		lines[i] = x.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors orders problems by line, keeping the order of problems on one line.
func sortErrors(errs Errors) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
}

// reporter collects problems and places them in the source through a position map.
type reporter struct {
	file string
	pos  *positions // nil when the Config was built in code
	errs Errors
}

// add records a problem at path.
func (r *reporter) add(path, format string, args ...any) {
	r.errs = append(r.errs, r.make(path, format, args...))
}

// make builds a problem at path without recording it.
func (r *reporter) make(path, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{File: r.file, Line: r.pos.lineOf(path), Path: path, Msg: r.pos.scrub(msg)}
}
