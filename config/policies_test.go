package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestPolicyAttachment: a policies block on a route, a rule or a backend; for
// each policy the most specific attachment wins, and a rule whose backends
// attach different policies is refused with its file and line.
func TestPolicyAttachment(t *testing.T) {
	const base = `
listeners: [{name: web, port: 8080}]
routes:
  - name: r
    %s
    rules:
      - backendRefs: [{name: a}%s]
        %s
backends:
  - name: a
    static: {endpoints: [{host: 127.0.0.1, port: 1}]}
    %s
  - name: b
    static: {endpoints: [{host: 127.0.0.1, port: 2}]}
    %s
`
	cors := func(origin string) string {
		return `policies: {cors: {allowOrigins: ["` + origin + `"]}}`
	}
	tests := []struct {
		name                          string
		route, extraRef, rule, ba, bb string
		wantOrigin                    string
		wantErr                       string
	}{
		{name: "route only", route: cors("https://route"), wantOrigin: "https://route"},
		{name: "rule beats route", route: cors("https://route"), rule: cors("https://rule"), wantOrigin: "https://rule"},
		{name: "backend beats rule", route: cors("https://route"), rule: cors("https://rule"), ba: cors("https://backend"),
			wantOrigin: "https://backend"},
		{name: "backends that agree", extraRef: ", {name: b}", ba: cors("https://same"), bb: cors("https://same"),
			wantOrigin: "https://same"},
		{name: "backends that disagree", extraRef: ", {name: b}", ba: cors("https://one"), bb: cors("https://two"),
			wantErr: `test.yaml:7: routes[0].rules[0].backendRefs[1]: backends "default/a" and "default/b" attach different policies`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(fmt.Sprintf(base, tt.route, tt.extraRef, tt.rule, tt.ba, tt.bb))
			snap, err := LoadBytes("test.yaml", src, func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" {
				if len(snap.Problems) == 0 || !strings.Contains(snap.Problems[0].Error(), tt.wantErr) {
					t.Fatalf("problems = %v, want %s", snap.Problems, tt.wantErr)
				}
				return
			}
			if len(snap.Problems) > 0 {
				t.Fatalf("problems: %v", snap.Problems)
			}
			rt := snap.Routes[0].Route
			var bs []*Backend
			for _, ref := range rt.Rules[0].BackendRefs {
				bs = append(bs, snap.Backends[ref.Name])
			}
			got := EffectivePolicies(rt, &rt.Rules[0], bs)
			if got.CORS == nil || got.CORS.AllowOrigins[0] != tt.wantOrigin {
				t.Fatalf("effective CORS = %+v, want origin %s", got.CORS, tt.wantOrigin)
			}
		})
	}
}
