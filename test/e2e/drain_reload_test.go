package e2e

import (
	"fmt"
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
	start := time.Now()
	g.rewrite(cfg(fmt.Sprint(freePort(t)))) // the listener moves: the old port is removed
	body, _ := io.ReadAll(resp.Body)
	took := time.Since(start)
	if strings.Contains(string(body), "[DONE]") {
		t.Fatalf("the 5 s stream ran to its end (%v) on a listener removed with a 500 ms drain", took)
	}
	if took > 4*time.Second {
		t.Fatalf("the stream was cut only after %v", took)
	}
}
