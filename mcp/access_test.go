package mcp

import (
	"testing"

	"github.com/switchyard-ai/switchyard/config"
)

// TestToolAccess runs callers through tool access rules.
func TestToolAccess(t *testing.T) {
	a, err := newAccess([]config.ToolAccessRule{
		{Tools: []string{"deploy"}, Action: "deny", Claims: map[string][]string{"role": {"intern"}}},
		{Tools: []string{"/^admin_.*/"}, Action: "allow", Teams: []string{"ops"}},
		{Tools: []string{"/^admin_.*/"}, Action: "deny"},
		{Action: "deny", Consumers: []string{"banned"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	intern := &Caller{Consumer: "ann", Claims: map[string]any{"role": []any{"dev", "intern"}}}
	ops := &Caller{Consumer: "bob", Team: "ops"}
	tests := []struct {
		tool   string
		caller *Caller
		want   bool
	}{
		{"deploy", intern, false},
		{"deploy", ops, true},
		{"deploy", &Caller{Claims: map[string]any{"role": "intern"}}, false},
		{"admin_reset", ops, true},
		{"admin_reset", intern, false},
		{"admin_reset", &Caller{}, false},
		{"echo", &Caller{}, true},
		{"echo", &Caller{Consumer: "banned"}, false},
	}
	for _, tc := range tests {
		if got := a.allowed(tc.tool, tc.caller); got != tc.want {
			t.Errorf("allowed(%s, %+v) = %v, want %v", tc.tool, tc.caller, got, tc.want)
		}
	}
}

// TestNameFilter checks include and exclude lists, exact and regex.
func TestNameFilter(t *testing.T) {
	f, err := newNameFilter(&config.ToolFilter{Include: []string{"a"}, IncludeRegex: []string{"get_.*"}, Exclude: []string{"get_secret"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"a": true, "get_x": true, "get_secret": false, "b": false, "xget_x": false} {
		if got := f.keep(name); got != want {
			t.Errorf("keep(%s) = %v, want %v", name, got, want)
		}
	}
}

// TestSplitCommand splits command lines like a shell would, without one.
func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"server --stdio", []string{"server", "--stdio"}, false},
		{`node "my server.js"  -v`, []string{"node", "my server.js", "-v"}, false},
		{`a 'b "c"' d\ e`, []string{"a", `b "c"`, "d e"}, false},
		{`a ""`, []string{"a", ""}, false},
		{`a "b`, nil, true},
	}
	for _, tc := range tests {
		got, err := splitCommand(tc.in)
		if (err != nil) != tc.err || len(got) != len(tc.want) {
			t.Errorf("splitCommand(%q) = %q, %v", tc.in, got, err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("splitCommand(%q) = %q, want %q", tc.in, got, tc.want)
			}
		}
	}
}

// TestToolAccessAliases refuses a tool by any of its names when the rules
// deny one of them: the prefixed form does not slip past a rule on the name.
func TestToolAccessAliases(t *testing.T) {
	a, err := newAccess([]config.ToolAccessRule{{Tools: []string{"deploy"}, Action: "deny", Teams: []string{"interns"}}})
	if err != nil {
		t.Fatal(err)
	}
	intern, ops := &Caller{Team: "interns"}, &Caller{Team: "ops"}
	for _, exposed := range []string{"deploy", "gh_deploy"} {
		if a.permitted(intern, "gh", "deploy", exposed) {
			t.Errorf("intern may call deploy as %s", exposed)
		}
		if !a.permitted(ops, "gh", "deploy", exposed) {
			t.Errorf("ops may not call deploy as %s", exposed)
		}
	}
}
