package e2e

import (
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAPIKeyFileRotation checks that replacing an apiKeyFile reloads the
// gateway and that the next upstream call carries the new key.
func TestAPIKeyFileRotation(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,` +
			`"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
	}))
	defer up.Close()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	writeFile(t, keyFile, "key-one\n")
	g := startGateway(t, fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes: [{name: llm, rules: [{backendRefs: [{name: up}]}]}]
backends: [{name: up, ai: {provider: openai-compatible, baseURL: "%s", auth: {apiKeyFile: %s}}}]
`, up.URL, keyFile))
	chat := func() {
		t.Helper()
		resp, _ := do(t, newRequest(t, "POST", g.URL("/v1/chat/completions"),
			strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		return seen[len(seen)-1]
	}
	chat()
	if got := last(); got != "Bearer key-one" {
		t.Fatalf("upstream saw %q", got)
	}
	before := g.metric(`switchyard_config_reloads_total{result="ok"}`)
	writeFile(t, keyFile+".new", "key-two\n")
	if err := os.Rename(keyFile+".new", keyFile); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { return g.metric(`switchyard_config_reloads_total{result="ok"}`) > before })
	chat()
	if got := last(); got != "Bearer key-two" {
		t.Fatalf("after rotating the key file the upstream saw %q", got)
	}
	if strings.Contains(g.Logs(), "key-two") || strings.Contains(g.Logs(), "key-one") {
		t.Fatal("the logs contain the key")
	}
}
