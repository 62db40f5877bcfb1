package e2e

import (
	"fmt"
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestSimStandaloneServer runs `switchyard sim` and checks the OpenAI API and
// the vLLM-style metrics it serves.
func TestSimStandaloneServer(t *testing.T) {
	port := testutil.FreePort(t)
	cmd := exec.Command(binary, "sim", "--port", fmt.Sprint(port), "--model", "tiny", "--output-tokens", "5", "--itl", "1ms")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	testutil.Eventually(t, 10*time.Second, func() bool {
		resp, err := http.Get(base + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	resp, err := http.Post(base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"tiny","messages":[{"role":"user","content":"hello"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"completion_tokens":5`) {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc"} {
		if !strings.Contains(string(metrics), m) {
			t.Fatalf("/metrics lacks %s:\n%s", m, metrics)
		}
	}
}
