package e2e

import (
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRemovedListenerCutsStreamsAfterDrain checks that a listener removed by a
// reload does not serve a long stream past the drain timeout.
func TestRemovedListenerCutsStreamsAfterDrain(t *testing.T) {
	cfg := func(port string) string {
		return `
server: {drainTimeout: 500ms}
listeners: [{name: web, address: 127.0.0.1, port: ` + port + `}]
routes: [{name: llm, rules: [{backendRefs: [{name: sim}]}]}]
backends:
  - name: sim
    ai: {provider: sim, models: [long], sim: {outputTokens: 100, interTokenLatency: 50ms}}
`
	}
	g := startGateway(t, cfg("{{PORT}}"))
	resp, err := http.Post(g.URL("/v1/chat/completions"), "application/json",
		strings.NewReader(`{"model":"long","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d, content-type %q: want a running 200 event stream before the reload", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	start := time.Now()
	g.rewrite(cfg(fmt.Sprint(testutil.FreePort(t)))) // the listener moves: the old port is removed
	body, _ := io.ReadAll(resp.Body)
	took := time.Since(start)
	if strings.Contains(string(body), "[DONE]") {
		t.Fatalf("the 5 s stream ran to its end (%v) on a listener removed with a 500 ms drain", took)
	}
	if n := strings.Count(string(body), "data: "); n < 2 {
		t.Fatalf("the stream carried %d events before it was cut: want it served until the drain ran out\n%s", n, body)
	}
	if took < 400*time.Millisecond {
		t.Fatalf("the stream was cut after %v, before the 500 ms drain time ran out", took)
	}
	if took > 4*time.Second {
		t.Fatalf("the stream was cut only after %v", took)
	}
}
