// Package e2e runs the real switchyard binary against real servers on loopback.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the switchyard binary built once for the package.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "switchyard-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "switchyard")
	build := exec.Command("go", "build", "-race", "-o", binary, "../../cmd/switchyard")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build switchyard:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback port that was free a moment ago.

// gateway is a running switchyard process.
type gateway struct {
	t      testing.TB
	cmd    *exec.Cmd
	Port   int
	Admin  string
	Config string
	logs   *syncBuffer
	done   chan struct{}
}

// URL returns the data plane URL for path.
func (g *gateway) URL(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", g.Port, path) }

// Addr is the data plane host:port.
func (g *gateway) Addr() string { return fmt.Sprintf("127.0.0.1:%d", g.Port) }

// Logs returns what the process wrote so far.
func (g *gateway) Logs() string { return g.logs.String() }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startGateway writes cfg (with {{PORT}} replaced by a free port) and runs
// `switchyard run -c`, waiting until /readyz answers 200.
func startGateway(t testing.TB, cfg string, env ...string) *gateway {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gateway.yaml")
	// A port found free can be taken by another test before the gateway binds
	// it: try again on new ports when that is why the gateway exited.
	for attempt := 1; ; attempt++ {
		port := testutil.FreePort(t)
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(cfg, "{{PORT}}", fmt.Sprint(port))), 0o600); err != nil {
			t.Fatal(err)
		}
		g, logs := tryRunGateway(t, []string{"run", "-c", path}, env)
		if g != nil {
			g.Port, g.Config = port, path
			return g
		}
		if !strings.Contains(logs, "address already in use") || attempt == 5 {
			t.Fatalf("gateway exited early: %s", logs)
		}
	}
}

// runGateway starts the binary with args plus an --admin flag and waits for readiness.
func runGateway(t testing.TB, args []string, env []string) *gateway {
	t.Helper()
	for attempt := 1; ; attempt++ {
		g, logs := tryRunGateway(t, args, env)
		if g != nil {
			return g
		}
		if !strings.Contains(logs, "address already in use") || attempt == 5 {
			t.Fatalf("gateway exited early: %s", logs)
		}
	}
}

// tryRunGateway starts the binary and waits for readiness. When the process
// exits before it is ready it returns nil and what the process wrote.
func tryRunGateway(t testing.TB, args []string, env []string) (*gateway, string) {
	t.Helper()
	admin := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	g := &gateway{t: t, Admin: admin, logs: &syncBuffer{}, done: make(chan struct{})}
	g.cmd = exec.Command(binary, append(args, "--admin", admin)...)
	g.cmd.Env = append(os.Environ(), env...)
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.cmd.Wait(); close(g.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-g.done:
			return nil, g.Logs()
		default:
		}
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				t.Cleanup(func() {
					_ = g.cmd.Process.Signal(syscall.SIGKILL)
					<-g.done
					if t.Failed() {
						t.Logf("gateway logs:\n%s", tail(g.Logs(), 60))
					}
				})
				return g, ""
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = g.cmd.Process.Signal(syscall.SIGKILL)
	<-g.done
	t.Fatalf("gateway not ready: %s", g.Logs())
	return nil, ""
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// rewrite replaces the config file (a hot reload) and waits for the reload to be counted.
func (g *gateway) rewrite(cfg string) {
	g.t.Helper()
	cfg = strings.ReplaceAll(cfg, "{{PORT}}", fmt.Sprint(g.Port))
	before := g.metric(`switchyard_config_reloads_total{result="ok"}`) + g.metric(`switchyard_config_reloads_total{result="error"}`)
	tmp := g.Config + ".tmp"
	if err := os.WriteFile(tmp, []byte(cfg), 0o600); err != nil {
		g.t.Fatal(err)
	}
	if err := os.Rename(tmp, g.Config); err != nil {
		g.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		after := g.metric(`switchyard_config_reloads_total{result="ok"}`) + g.metric(`switchyard_config_reloads_total{result="error"}`)
		if after > before {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.t.Fatalf("reload not observed; logs:\n%s", tail(g.Logs(), 30))
}

// metric returns the value of one exact Prometheus series (0 if absent).
func (g *gateway) metric(series string) float64 {
	resp, err := http.Get("http://" + g.Admin + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, series+" ") {
			var v float64
			fmt.Sscanf(strings.TrimPrefix(line, series+" "), "%g", &v)
			return v
		}
	}
	return 0
}

// echoUpstream is a named upstream that answers with what it received.
type echoUpstream struct {
	*httptest.Server
	Name string
	mu   sync.Mutex
	hits int
	last *http.Request
	body []byte
}

// echoReply is what an echoUpstream answers.
type echoReply struct {
	Upstream string              `json:"upstream"`
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	Query    string              `json:"query"`
	Host     string              `json:"host"`
	Header   map[string][]string `json:"header"`
	Body     string              `json:"body"`
}

func newEcho(t testing.TB, name string) *echoUpstream {
	e := &echoUpstream{Name: name}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.hits++
		e.last, e.body = r, b
		e.mu.Unlock()
		if r.URL.Path == "/healthz" {
			w.WriteHeader(200)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Upstream", name)
		_ = json.NewEncoder(w).Encode(echoReply{Upstream: name, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
			Host: r.Host, Header: r.Header, Body: string(b)})
	}))
	t.Cleanup(e.Close)
	return e
}

// Hits returns how many requests the upstream has served (health checks included).
func (e *echoUpstream) Hits() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hits
}

// HostPort returns the upstream's host and port.
func (e *echoUpstream) HostPort() (string, int) {
	a := e.Listener.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

// endpointYAML is the YAML flow mapping of an endpoint.
func (e *echoUpstream) endpointYAML(weight int) string {
	h, p := e.HostPort()
	return fmt.Sprintf("{host: %s, port: %d, weight: %d}", h, p, weight)
}

// do sends a request and decodes an echo reply (nil if the body is not one).
func do(t testing.TB, req *http.Request) (*http.Response, *echoReply) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r echoReply
	if json.Unmarshal(b, &r) != nil || r.Upstream == "" {
		resp.Body = io.NopCloser(bytes.NewReader(b))
		return resp, nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, &r
}

func newRequest(t testing.TB, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustAbs(t testing.TB, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
