package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

func TestDeadBackendIsEjected(t *testing.T) {
	a, b, c := newEcho(t, "a"), newEcho(t, "b"), newEcho(t, "c")
	g := startGateway(t, fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: app
    rules: [{backendRefs: [{name: app}], retry: {attempts: 2, backoff: 10ms}}]
backends:
  - name: app
    static:
      endpoints: [%s, %s, %s]
      healthCheck: {path: /healthz, interval: 100ms, timeout: 100ms, unhealthyThreshold: 2, healthyThreshold: 1}
      outlierDetection: {consecutive5xx: 2, baseEjectionTime: 30s, maxEjectionPercent: 50}
`, a.endpointYAML(1), b.endpointYAML(1), c.endpointYAML(1)))

	for i := 0; i < 6; i++ {
		if resp, _ := do(t, newRequest(t, "GET", g.URL("/x"), nil)); resp.StatusCode != 200 {
			t.Fatalf("warm-up status %d", resp.StatusCode)
		}
	}
	b.Close() // the backend dies
	time.Sleep(400 * time.Millisecond)
	got := map[string]int{}
	for i := 0; i < 60; i++ {
		resp, echo := do(t, newRequest(t, "GET", g.URL("/x"), nil))
		if resp.StatusCode != 200 || echo == nil {
			t.Fatalf("request %d after the backend died: status %d", i, resp.StatusCode)
		}
		got[echo.Upstream]++
	}
	if got["b"] != 0 || got["a"] == 0 || got["c"] == 0 {
		t.Fatalf("distribution after death = %v", got)
	}
}

func TestRetrySucceedsOnSecondEndpoint(t *testing.T) {
	var failing atomic.Int64
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failing.Add(1)
		w.WriteHeader(503)
	}))
	defer bad.Close()
	good := newEcho(t, "good")
	badHost := bad.Listener.Addr().String()
	var bh string
	var bp int
	fmt.Sscanf(badHost, "127.0.0.1:%d", &bp)
	bh = "127.0.0.1"
	g := startGateway(t, fmt.Sprintf(`
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: app
    rules: [{backendRefs: [{name: app}], retry: {attempts: 1, backoff: 5ms, codes: [503]}}]
backends:
  - name: app
    static:
      endpoints: [{host: %s, port: %d}, %s]
      loadBalancer: {type: RoundRobin}
`, bh, bp, good.endpointYAML(1)))
	for i := 0; i < 10; i++ {
		resp, echo := do(t, newRequest(t, "POST", g.URL("/x"), nil))
		if resp.StatusCode != 200 || echo == nil || echo.Upstream != "good" {
			t.Fatalf("request %d: status %d echo %+v", i, resp.StatusCode, echo)
		}
	}
	if failing.Load() == 0 {
		t.Fatal("the failing endpoint was never tried: the retry was not exercised")
	}
}

const reloadConfig = `
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: app
    rules: [{backendRefs: [{name: %s}]}]
backends:
  - name: one
    static: {endpoints: [%s]}
  - name: two
    static: {endpoints: [%s]}
`

func TestHotReloadUnderLoadLosesNothing(t *testing.T) {
	one, two := newEcho(t, "one"), newEcho(t, "two")
	cfg := func(target string) string {
		return fmt.Sprintf(reloadConfig, target, one.endpointYAML(1), two.endpointYAML(1))
	}
	g := startGateway(t, cfg("one"))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	var seenTwo atomic.Bool
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(g.URL("/x"))
				if err != nil {
					failed.Add(1)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				if string(b) != "" && resp.Header.Get("X-Upstream") == "two" {
					seenTwo.Store(true)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	g.rewrite(cfg("two")) // returns once the reload is counted
	testutil.Eventually(t, 5*time.Second, seenTwo.Load, "the reload to backend two to take effect")
	g.rewrite("listeners: [oops") // a broken file keeps the running snapshot
	time.Sleep(300 * time.Millisecond)
	g.rewrite(cfg("one"))
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during reloads", failed.Load(), failed.Load()+ok.Load())
	}
	if g.metric(`switchyard_config_reloads_total{result="error"}`) < 1 {
		t.Fatal("the broken reload was not counted")
	}
}

func TestSIGTERMDrainsInFlight(t *testing.T) {
	arrived := make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		time.Sleep(800 * time.Millisecond)
		_, _ = w.Write([]byte("finished"))
	}))
	defer slow.Close()
	var port int
	fmt.Sscanf(slow.Listener.Addr().String(), "127.0.0.1:%d", &port)
	g := startGateway(t, fmt.Sprintf(`
server: {drainTimeout: 5s}
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes: [{name: app, rules: [{backendRefs: [{name: slow}]}]}]
backends: [{name: slow, static: {endpoints: [{host: 127.0.0.1, port: %d}]}}]
`, port))
	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(g.URL("/x"))
		if err != nil {
			res <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{body: string(b)}
	}()
	select { // the request in flight at the backend
	case <-arrived:
	case r := <-res:
		t.Fatalf("the request ended before it reached the backend: %q %v", r.body, r.err)
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the backend")
	}
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request during drain: %q %v", r.body, r.err)
	}
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not exit after draining")
	}
	if g.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("exit code %d", g.cmd.ProcessState.ExitCode())
	}
	if _, err := http.Get(g.URL("/x")); err == nil {
		t.Fatal("gateway still accepts after shutdown")
	}
}
