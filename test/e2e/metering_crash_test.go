package e2e

import (
	"syscall"
	"testing"
	"time"
)

// daveKey belongs to dave, who has a daily token budget.
const daveKey = "sk-e2e-dave-0123456789abcdef0"

// crashYAML meters dave on the embedded store, flushing every second.
func crashYAML() string {
	return sharedYAML(`    - name: dave
      keys: [{id: dave, value: `+daveKey+`}]
      budgets: [{tokens: 100000, period: day}]
`, storeYAML("", "", ""))
}

// startOn starts a gateway on cfg with dataDir as its data directory.
func startOn(t *testing.T, cfg, dataDir string) *gateway {
	t.Helper()
	return startAIGateway(t, cfg, "SWITCHYARD_DATA_DIR="+dataDir)
}

// daveRemaining returns what GET /consumers/dave says is left of the budget.
func daveRemaining(t *testing.T, g *gateway) float64 {
	t.Helper()
	var st struct {
		Limits []struct {
			Unit      string
			Limit     float64
			Remaining float64
		}
	}
	getJSON(t, "http://"+g.Admin+"/consumers/dave", &st)
	if len(st.Limits) != 1 || st.Limits[0].Limit != 100000 {
		t.Fatalf("dave's limits: %+v", st.Limits)
	}
	return st.Limits[0].Remaining
}

// sendDave sends n requests as dave, each of about 60 tokens.
func sendDave(t *testing.T, g *gateway, n int) {
	t.Helper()
	for i := range n {
		if r := tryChat(g, daveKey, 50, 10*time.Second); r.Status != 200 {
			t.Fatalf("request %d: %d %v %s", i+1, r.Status, r.Err, r.Body)
		}
	}
}

// stopWith signals the gateway and waits for it to exit.
func stopWith(t *testing.T, g *gateway, sig syscall.Signal) {
	t.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("the gateway did not exit within 20s of %v", sig)
	}
}

func TestMeteringCrashLosesAtMostOneSecond(t *testing.T) {
	const n = 8
	cfg := crashYAML()

	t.Run("SIGKILL after the flush interval", func(t *testing.T) {
		dir := t.TempDir()
		g := startOn(t, cfg, dir)
		sendDave(t, g, n)
		left := daveRemaining(t, g)
		if spent := 100000 - left; spent < n*50 {
			t.Fatalf("spent %v tokens for %d requests of about 60", spent, n)
		}
		// The claim is about time: what is older than the flush interval
		// (1s) is on disk. Wait a little over two intervals, then crash.
		time.Sleep(2500 * time.Millisecond)
		stopWith(t, g, syscall.SIGKILL)

		g2 := startOn(t, cfg, dir)
		if got := daveRemaining(t, g2); got != left {
			t.Fatalf("after the crash dave has %v tokens left, want the %v before it (older than the flush interval)", got, left)
		}
		if got := usageRequests(g2, "dave"); got != n {
			t.Fatalf("usage after the crash: %d requests, want %d", got, n)
		}
		// The restarted gateway keeps charging from there.
		sendDave(t, g2, 1)
		if got := daveRemaining(t, g2); got >= left {
			t.Fatalf("after one more request dave has %v left, not less than %v", got, left)
		}
	})

	t.Run("SIGTERM at once", func(t *testing.T) {
		dir := t.TempDir()
		g := startOn(t, cfg, dir)
		sendDave(t, g, n)
		left := daveRemaining(t, g)
		stopWith(t, g, syscall.SIGTERM)

		g2 := startOn(t, cfg, dir)
		if got := daveRemaining(t, g2); got != left {
			t.Fatalf("after SIGTERM dave has %v tokens left, want the %v before it", got, left)
		}
		if got := usageRequests(g2, "dave"); got != n {
			t.Fatalf("usage after SIGTERM: %d requests, want %d", got, n)
		}
	})
}
