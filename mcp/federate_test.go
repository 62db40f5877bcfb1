package mcp

import "testing"

// TestResolve routes called names to targets by the prefix mode.
func TestResolve(t *testing.T) {
	newMember := func(name string, tools ...string) *member {
		m := &member{name: name}
		idx := map[string]bool{}
		for _, tool := range tools {
			idx[tool] = true
		}
		m.names[kindIndex(kindTools)].Store(&idx)
		return m
	}
	a, b := newMember("a", "echo", "b_x", "solo"), newMember("b", "echo", "x")
	s := &session{Targets: map[string][2]string{"a": {}, "b": {}}}
	tests := []struct {
		mode, name   string
		target, tool string
	}{
		{"conditional", "solo", "a", "solo"},
		{"conditional", "a_solo", "a", "solo"},
		{"conditional", "echo", "", ""}, // collides: must be prefixed
		{"conditional", "b_echo", "b", "echo"},
		{"conditional", "b_x", "a", "b_x"}, // a plain name wins over a prefixed reading
		{"conditional", "x", "b", "x"},
		{"always", "solo", "", ""},
		{"always", "a_echo", "a", "echo"},
		{"never", "echo", "a", "echo"},
		{"conditional", "nope", "", ""},
	}
	for _, tc := range tests {
		bk := &Backend{prefix: tc.mode, members: []*member{a, b}}
		m, tool := bk.resolve(s, kindTools, tc.name)
		got := ""
		if m != nil {
			got = m.name
		}
		if got != tc.target || tool != tc.tool {
			t.Errorf("%s: resolve(%s) = %s/%s, want %s/%s", tc.mode, tc.name, got, tool, tc.target, tc.tool)
		}
	}
}
