package config

import (
	"strings"
	"testing"
)

// TestMCPAndA2AErrors checks the problems of mcp and a2a backends name
// their file:line and field.
func TestMCPAndA2AErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "mcp targets",
			yaml: okListener + "backends:\n  - name: t\n    mcp:\n      prefixMode: sometimes\n      sessionKey: short\n      targets:\n" +
				"        - {name: a, url: 'ftp://x'}\n        - {name: a, stdio: {command: ' '}}\n        - {name: 'b c', url: 'http://x', openapi: {spec: s}}\n" +
				"        - {name: d, url: 'http://x', auth: {forward: passthrough, token: t}}\n",
			want: []string{
				`t.yaml:6: backends[0].mcp.prefixMode: unknown prefixMode "sometimes" (use always, conditional or never)`,
				`t.yaml:7: backends[0].mcp.sessionKey: sessionKey must be at least 16 characters`,
				`t.yaml:9: backends[0].mcp.targets[0].url: url must be an http(s) URL, not "ftp://x"`,
				`t.yaml:10: backends[0].mcp.targets[1].name: duplicate target name "a" (also targets[0])`,
				`t.yaml:10: backends[0].mcp.targets[1].stdio.command: stdio target needs a command`,
				`t.yaml:11: backends[0].mcp.targets[2].name: target name "b c" must be 1-64 letters, digits, '-' or '_'`,
				`t.yaml:11: backends[0].mcp.targets[2]: target must set exactly one of url, stdio or openapi`,
				`t.yaml:12: backends[0].mcp.targets[3].auth: set at most one of forward: passthrough, apiKey and token`,
			},
		},
		{
			name: "mcp access rules",
			yaml: okListener + "backends:\n  - name: t\n    mcp:\n      targets: [{name: a, url: 'http://x'}]\n      toolAccess:\n" +
				"        - {tools: ['/[/'], action: allow}\n        - {action: maybe}\n",
			want: []string{
				"t.yaml:8: backends[0].mcp.toolAccess[0].tools[0]: invalid regular expression: error parsing regexp: missing closing ]: `[`",
				`t.yaml:9: backends[0].mcp.toolAccess[1].action: action must be allow or deny, not "maybe"`,
			},
		},
		{
			name: "a2a",
			yaml: okListener + "backends:\n  - name: agent\n    a2a: {url: 'agent.local', signing: resign}\n  - name: both\n    a2a: {url: 'http://x'}\n    static: {endpoints: [{host: h, port: 1}]}\n",
			want: []string{
				`t.yaml:5: backends[0].a2a.url: url must be an http(s) URL, not "agent.local"`,
				`t.yaml:5: backends[0].a2a.keyFile: signing: resign needs keyFile or keyPEM`,
				`t.yaml:6: backends[1]: backend must set exactly one of static, ai, inferencePool, mcp or a2a, not several`,
			},
		},
		{
			name: "inline document and key",
			yaml: okListener + "backends:\n  - name: t\n    mcp:\n      targets:\n" +
				"        - {name: a, openapi: {spec: s.yaml, document: 'openapi: 3.0.0'}}\n        - {name: b, openapi: {}}\n" +
				"  - name: agent\n    a2a: {url: 'http://x', signing: resign, keyPEM: 'not a key'}\n" +
				"  - name: keep\n    a2a: {url: 'http://x', keyPEM: 'k'}\n",
			want: []string{
				`t.yaml:7: backends[0].mcp.targets[0].openapi.spec: openapi target needs exactly one of spec (a file or an http(s) URL) and document`,
				`t.yaml:8: backends[0].mcp.targets[1].openapi.spec: openapi target needs exactly one of spec (a file or an http(s) URL) and document`,
				`t.yaml:10: backends[1].a2a.keyPEM: not a signing key: holds no PEM block`,
				`t.yaml:12: backends[2].a2a.keyFile: keyFile and keyPEM are only used with signing: resign`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadBytes("t.yaml", []byte(tt.yaml), envOf(nil))
			if err == nil {
				t.Fatal("loaded without error")
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}
