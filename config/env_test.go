package config

import (
	"strings"
	"testing"
)

// envOf returns a lookup function over m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestSubstitute(t *testing.T) {
	env := envOf(map[string]string{
		"HOST":  "api.example.com",
		"EMPTY": "",
		"PORT":  "8443",
		"MULTI": "a\nb",
		"INNER": "inner",
	})
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{name: "set", in: "host: ${HOST}", want: "host: api.example.com"},
		{name: "unset gives empty", in: "key: ${NOPE}", want: "key: "},
		{name: "default when unset", in: "url: ${NOPE:-http://x:1}", want: "url: http://x:1"},
		{name: "default when empty", in: "v: ${EMPTY:-fallback}", want: "v: fallback"},
		{name: "set wins over default", in: "p: ${PORT:-80}", want: "p: 8443"},
		{name: "empty default", in: "p: ${NOPE:-}", want: "p: "},
		{name: "set but empty without default", in: "v: [${EMPTY}]", want: "v: []"},
		{name: "dollar dollar", in: "price: $$5 and $${HOST}", want: "price: $5 and ${HOST}"},
		{name: "lone dollar kept", in: "re: ^a$ b$c $", want: "re: ^a$ b$c $"},
		{name: "nested text", in: "url: https://${HOST}:${PORT}/v1?x=${NOPE:-y}", want: "url: https://api.example.com:8443/v1?x=y"},
		{name: "nested default", in: "v: ${NOPE:-${INNER}}", want: "v: inner"},
		{name: "nested default unset", in: "v: ${NOPE:-${ALSO_NOPE:-last}}", want: "v: last"},
		{name: "default with colon and braces text", in: "v: ${NOPE:-a:b-c}", want: "v: a:b-c"},
		{name: "no variables", in: "plain: text\nmore: 1\n", want: "plain: text\nmore: 1\n"},
		{name: "unterminated", in: "a: 1\nv: ${HOST\n", wantErr: `t.yaml:2: unterminated "${HOST": missing "}"`},
		{name: "unterminated crlf", in: "v: ${HOST\r\nb: 2\r\n", wantErr: `t.yaml:1: unterminated "${HOST": missing "}"`},
		{name: "invalid name", in: "v: ${1BAD}", wantErr: `t.yaml:1: invalid variable name "1BAD" in "${1BAD}" (use ${NAME} or ${NAME:-default})`},
		{name: "empty name", in: "v: ${}", wantErr: `t.yaml:1: invalid variable name "" in "${}" (use ${NAME} or ${NAME:-default})`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := substitute("t.yaml", []byte(tt.in), env)
			if tt.wantErr != "" {
				if errs.Error() != tt.wantErr {
					t.Fatalf("error = %q, want %q", errs.Error(), tt.wantErr)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("unexpected error: %v", errs)
			}
			if string(got.data) != tt.want {
				t.Errorf("got %q, want %q", got.data, tt.want)
			}
		})
	}
}

func TestSubstituteKeepsSourceLines(t *testing.T) {
	in := "a: 1\nb: \"${MULTI}\"\nc: ${MULTI}\nd: 4\n"
	got, errs := substitute("t.yaml", []byte(in), envOf(map[string]string{"MULTI": "x\ny\nz"}))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	out := strings.Split(string(got.data), "\n")
	// Output lines: a(1) b(2) y(2) z(2) c(3) y(3) z(3) d(4).
	want := map[string]int{"a: 1": 1, "d: 4": 4, `b: "x`: 2, "c: x": 3}
	for i, l := range out {
		if w, ok := want[l]; ok {
			if g := got.line(i + 1); g != w {
				t.Errorf("output line %d %q maps to source line %d, want %d", i+1, l, g, w)
			}
			delete(want, l)
		}
	}
	if len(want) > 0 {
		t.Errorf("lines not found in output: %v", want)
	}
}

func TestLoadReportsSourceLineAfterMultilineValue(t *testing.T) {
	in := "listeners:\n  - name: \"${MULTI}\"\n    port: 8080\n  - name: b\n    port: 0\n"
	_, err := LoadBytes("t.yaml", []byte(in), envOf(map[string]string{"MULTI": "a\n      b"}))
	want := "t.yaml:5: listeners[1].port: port 0 must be between 1 and 65535"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}
