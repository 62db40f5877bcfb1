package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/switchyard-ai/switchyard/config"
)

// TestCommandLine checks exit codes and messages of command lines that end
// before anything is served: help, stray arguments, bad flags, unreadable files.
func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(good, []byte(`listeners: [{name: web, port: 8080}]
routes: [{name: api, rules: [{backendRefs: [{name: sim}]}]}]
backends: [{name: sim, ai: {provider: sim}}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SWITCHYARD_ADMIN", "127.0.0.1:15999")
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    string // in stdout
		wantErr    string // in stderr
		notWantErr string // not in stderr
	}{
		{name: "run help", args: []string{"run", "-h"}, code: 0, wantErr: "Usage of run", notWantErr: "help requested"},
		{name: "run help shows SWITCHYARD_ADMIN default", args: []string{"run", "-h"}, code: 0, wantErr: `(default "127.0.0.1:15999")`},
		{name: "validate help", args: []string{"validate", "--help"}, code: 0, wantErr: "Usage of validate"},
		{name: "sim help", args: []string{"sim", "-h"}, code: 0, wantErr: "-mode", notWantErr: "help requested"},
		{name: "run file without -c", args: []string{"run", "gateway.yaml"}, code: 2,
			wantErr: `switchyard run: unexpected argument "gateway.yaml" (to use a configuration file, write -c gateway.yaml)`},
		{name: "run extra argument after -c", args: []string{"run", "-c", good, "extra"}, code: 2,
			wantErr: `switchyard run: unexpected argument "extra"` + "\n", notWantErr: "write -c"},
		{name: "run unknown flag", args: []string{"run", "--bogus"}, code: 2, wantErr: "flag provided but not defined: -bogus"},
		{name: "run bad log level", args: []string{"run", "--log-level", "loud"}, code: 1,
			wantErr: `switchyard: --log-level "loud": use debug, info, warn or error`},
		{name: "run missing file", args: []string{"run", "-c", filepath.Join(dir, "nope.yaml")}, code: 1,
			wantErr: "nope.yaml: cannot read the configuration file: no such file or directory"},
		{name: "sim stray argument", args: []string{"sim", "8000"}, code: 2, wantErr: `switchyard sim: unexpected argument "8000"`},
		{name: "validate with -c", args: []string{"validate", "-c", good}, code: 0, wantOut: "valid (1 listeners"},
		{name: "validate positional file", args: []string{"validate", good}, code: 0, wantOut: "valid (1 listeners"},
		{name: "validate two files", args: []string{"validate", "-c", good, good}, code: 2, wantErr: "unexpected argument"},
		{name: "validate nothing", args: []string{"validate"}, code: 2, wantErr: "-c FILE is required"},
		{name: "version", args: []string{"version"}, code: 0, wantOut: "switchyard "},
		{name: "unknown command", args: []string{"serve"}, code: 2, wantErr: `unknown command "serve"`},
		{name: "translate nothing", args: []string{"translate"}, code: 2, wantErr: "-f DIR is required"},
		{name: "translate example", args: []string{"translate", "-f", "../../examples/kubernetes"}, code: 0,
			wantOut: "gateway: my-gateway", notWantErr: "switchyard:"},
		{name: "translate with status", args: []string{"translate", "-f", "../../examples/kubernetes", "--status"}, code: 0,
			wantOut: "reason: Programmed"},
		{name: "translate missing directory", args: []string{"translate", "-f", filepath.Join(dir, "nope")}, code: 1,
			wantErr: "no such file or directory"},
		{name: "translate stray argument", args: []string{"translate", "-f", dir, "extra"}, code: 2, wantErr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := dispatch(context.Background(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantOut)
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
			if tt.notWantErr != "" && strings.Contains(stderr.String(), tt.notWantErr) {
				t.Errorf("stderr = %q, must not contain %q", stderr.String(), tt.notWantErr)
			}
		})
	}
}

func TestDescribeModels(t *testing.T) {
	tests := []struct {
		name string
		ai   config.AIBackend
		want string
	}{
		{name: "catch-all", ai: config.AIBackend{}, want: "any (passed through)"},
		{name: "catch-all with fixed model", ai: config.AIBackend{Model: "gpt-4o"}, want: "any (as gpt-4o)"},
		{name: "listed, sorted", ai: config.AIBackend{Models: []string{"b", "a"}}, want: "a,b"},
		{name: "alias also listed is said once", ai: config.AIBackend{Models: []string{"claude-sonnet"},
			Aliases: map[string]string{"claude-sonnet": "claude-sonnet-4-5"}}, want: "claude-sonnet (as claude-sonnet-4-5)"},
		{name: "alias and listed", ai: config.AIBackend{Models: []string{"gpt-4o-mini"},
			Aliases: map[string]string{"fast": "gpt-4o-mini"}}, want: "fast (as gpt-4o-mini),gpt-4o-mini"},
		{name: "listed with fixed model", ai: config.AIBackend{Model: "m", Models: []string{"x"}}, want: "x (as m)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeModels(&tt.ai); got != tt.want {
				t.Errorf("describeModels = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKeyWarnings(t *testing.T) {
	tests := []struct {
		name string
		ai   string // the YAML flow mapping of the backend's ai block
		env  map[string]string
		want string // "" for no warning
	}{
		{name: "openai key from unset env", ai: `{provider: openai, auth: {apiKey: "${OPENAI_API_KEY}"}}`,
			want: `gw.yaml:3: backends[0].ai.auth.apiKey: warning: backend "default/b" has no API key, so provider openai will refuse its requests (401)`},
		{name: "openai key set", ai: `{provider: openai, auth: {apiKey: "${OPENAI_API_KEY}"}}`, env: map[string]string{"OPENAI_API_KEY": "sk-x"}},
		{name: "anthropic no auth at all", ai: `{provider: anthropic}`, want: `gw.yaml:3: backends[0].ai.auth.apiKey: warning: backend "default/b" has no API key, so provider anthropic`},
		{name: "gemini", ai: `{provider: gemini, auth: {apiKey: ""}}`, want: "provider gemini will refuse"},
		{name: "azure", ai: `{provider: azure, baseURL: "https://x.openai.azure.com"}`, want: "provider azure will refuse"},
		{name: "key file", ai: `{provider: openai, auth: {apiKeyFile: /run/key}}`},
		{name: "passthrough", ai: `{provider: openai, auth: {passthrough: true}}`},
		{name: "local server needs none", ai: `{provider: openai-compatible, baseURL: "http://127.0.0.1:11434"}`},
		{name: "sim", ai: `{provider: sim}`},
		{name: "bedrock uses aws", ai: `{provider: bedrock, region: us-east-1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := "listeners: [{name: web, port: 8080}]\nbackends:\n  - {name: b, ai: " + tt.ai + "}\n"
			lookup := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			snap, err := config.LoadBytes("gw.yaml", []byte(y), lookup)
			if err != nil {
				t.Fatal(err)
			}
			got := keyWarnings(snap)
			if tt.want == "" {
				if len(got) > 0 {
					t.Fatalf("unexpected warning: %v", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0].Error(), tt.want) {
				t.Fatalf("warnings = %v, want one containing %q", got, tt.want)
			}
		})
	}
}

func TestCredentialProblemsInLineOrder(t *testing.T) {
	dir := t.TempDir()
	y := `listeners: [{name: web, port: 8080}]
backends:
  - name: z-first-in-file
    ai: {provider: openai, auth: {apiKeyFile: missing-1.key}}
  - name: a-second-in-file
    ai: {provider: openai, auth: {apiKeyFile: missing-2.key}}
`
	path := filepath.Join(dir, "gw.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	snap, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got := credentialProblems(snap)
	if len(got) != 2 || got[0].Line != 4 || got[1].Line != 6 {
		t.Fatalf("problems = %v, want lines 4 then 6", got)
	}
}

func TestAdminError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "no error", err: nil},
		{name: "port taken", err: syscall.EADDRINUSE, want: "--admin ADDR or SWITCHYARD_ADMIN=ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := adminError(tt.err)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("adminError(nil) = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, tt.err) {
				t.Fatalf("adminError = %v, want it to wrap %v and say %q", err, tt.err, tt.want)
			}
		})
	}
}
