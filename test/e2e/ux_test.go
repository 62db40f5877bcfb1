package e2e

import (
	"context"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUXCommandLine runs command lines a new user types and checks that each
// ends at once with a clear message instead of doing something else.
func TestUXCommandLine(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "gateway.yaml")
	writeFile(t, cfg, `listeners: [{name: web, port: 8080}]
routes: [{name: api, rules: [{backendRefs: [{name: openai}]}]}]
backends: [{name: openai, ai: {provider: openai, auth: {apiKey: "${UX_UNSET_KEY}"}}}]
`)
	tests := []struct {
		name    string
		args    []string
		code    int
		want    string
		notWant string
	}{
		// `run FILE` used to serve the embedded default and ignore the file.
		{name: "run file without -c", args: []string{"run", cfg}, code: 2,
			want: "unexpected argument \"" + cfg + "\" (to use a configuration file, write -c " + cfg + ")", notWant: "listening"},
		{name: "run help", args: []string{"run", "-h"}, code: 0, want: "-admin", notWant: "help requested"},
		{name: "validate warns about an unset key", args: []string{"validate", "-c", cfg}, code: 0,
			want: `gateway.yaml:3: backends[0].ai.auth.apiKey: warning: backend "default/openai" has no API key`},
		{name: "unreadable file", args: []string{"validate", "-c", filepath.Join(dir, "missing.yaml")}, code: 1,
			want: "missing.yaml: cannot read the configuration file: no such file or directory", notWant: "config: read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binary, tt.args...)
			cmd.Env = append(cmd.Environ(), "UX_UNSET_KEY=", "SWITCHYARD_ADMIN=", fmt.Sprintf("PORT=%d", testutil.FreePort(t)))
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != tt.code {
				t.Errorf("exit code = %d, want %d\n%s", code, tt.code, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output:\n%s\nwant it to contain %q", out, tt.want)
			}
			if tt.notWant != "" && strings.Contains(string(out), tt.notWant) {
				t.Errorf("output:\n%s\nmust not contain %q", out, tt.notWant)
			}
		})
	}
}

// TestUXStartupLogSaysWhatIsServed checks that the startup log names the file,
// each listener's URL, each route's backends and each model once.
func TestUXStartupLogSaysWhatIsServed(t *testing.T) {
	g := startGateway(t, `listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: llm
    rules: [{backendRefs: [{name: sim}, {name: claude, priority: 1}]}]
backends:
  - name: sim
    ai: {provider: sim, models: [sim]}
  - name: claude
    ai: {provider: anthropic, baseURL: "http://127.0.0.1:9", models: [claude-sonnet], aliases: {claude-sonnet: claude-sonnet-4-5}, auth: {apiKey: "${UX_UNSET_KEY}"}}
`, "UX_UNSET_KEY=")
	want := []string{
		`"msg":"configuration loaded","file":"` + g.Config + `"`,
		fmt.Sprintf(`"msg":"listener","key":"default/switchyard.web","url":"http://127.0.0.1:%d"`, g.Port),
		`"msg":"route","key":"default/llm","listeners":"default/switchyard.web","backends":"default/sim,default/claude"`,
		`"backend":"default/claude","provider":"anthropic","models":"claude-sonnet (as claude-sonnet-4-5)"`,
		`"msg":"backend has no API key"`,
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		logs := g.Logs()
		missing := ""
		for _, w := range want {
			if !strings.Contains(logs, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("startup log lacks %s:\n%s", missing, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUXAdminAddress checks SWITCHYARD_ADMIN (make run takes no flags) and the
// hint given when the admin port is taken.
func TestUXAdminAddress(t *testing.T) {
	t.Run("from the environment", func(t *testing.T) {
		admin := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, binary, "run")
		cmd.Env = append(cmd.Environ(), "SWITCHYARD_ADMIN="+admin, fmt.Sprintf("PORT=%d", testutil.FreePort(t)))
		logs := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); _ = cmd.Wait() }()
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get("http://" + admin + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("admin server not on SWITCHYARD_ADMIN=%s:\n%s", admin, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("port taken", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, binary, "run", "--admin", l.Addr().String())
		cmd.Env = append(cmd.Environ(), fmt.Sprintf("PORT=%d", testutil.FreePort(t)))
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("exit code = %d, want 1", code)
		}
		if want := "address already in use (choose another admin address with --admin ADDR or SWITCHYARD_ADMIN=ADDR"; !strings.Contains(string(out), want) {
			t.Errorf("output:\n%s\nwant it to contain %q", out, want)
		}
	})
}
