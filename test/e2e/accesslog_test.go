package e2e

import (
	"bufio"
	"encoding/json"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAccessLogTimesWholeStream checks that the access-log line of a streamed
// response is written when the stream ends, with the stream's whole duration.
func TestAccessLogTimesWholeStream(t *testing.T) {
	g := startGateway(t, `
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes: [{name: llm, rules: [{backendRefs: [{name: sim}]}]}]
backends:
  - name: sim
    ai: {provider: sim, models: [slow], sim: {outputTokens: 10, interTokenLatency: 40ms}}
`)
	req := newRequest(t, "POST", g.URL("/v1/chat/completions"),
		strings.NewReader(`{"model":"slow","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("X-Request-Id", "stream-timing-1")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if took < 350*time.Millisecond {
		t.Fatalf("the stream took %v: the simulator's latency was not applied", took)
	}
	var line map[string]any
	testutil.Eventually(t, 5*time.Second, func() bool {
		sc := bufio.NewScanner(strings.NewReader(g.Logs()))
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "access" && m["request_id"] == "stream-timing-1" {
				line = m
				return true
			}
		}
		return false
	})
	us, _ := line["duration_us"].(float64)
	if us < 350_000 {
		t.Fatalf("access log duration_us = %v for a stream that took %v", us, took)
	}
	if line["backend"] != "default/sim" || line["status"] != float64(200) {
		t.Fatalf("access log line = %v", line)
	}
}

// TestSIGTERMDrainsStream checks that a stream in flight when SIGTERM arrives
// runs to its end before the process exits.
func TestSIGTERMDrainsStream(t *testing.T) {
	g := startGateway(t, `
server: {drainTimeout: 10s}
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes: [{name: llm, rules: [{backendRefs: [{name: sim}]}]}]
backends:
  - name: sim
    ai: {provider: sim, models: [slow], sim: {outputTokens: 12, interTokenLatency: 50ms}}
`)
	resp, err := http.Post(g.URL("/v1/chat/completions"), "application/json",
		strings.NewReader(`{"model":"slow","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("stream cut by shutdown: %v", err)
	}
	if !strings.HasSuffix(strings.TrimSpace(string(body)), "data: [DONE]") {
		t.Fatalf("stream did not finish: %q", tail(string(body), 3))
	}
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not exit after the stream ended")
	}
	if code := g.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
