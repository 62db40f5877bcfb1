package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// readyz returns the gateway's /readyz status and body.
func readyz(t *testing.T, g *gateway) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.Admin+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	return resp.StatusCode, drain(resp)
}

// enforcesLimit sends requests to g until one is refused and returns how
// many were admitted; it fails the test on any other answer or after max.
func enforcesLimit(t *testing.T, g *gateway, key string, max int) int {
	t.Helper()
	for n := 0; n <= max; n++ {
		r := tryChat(g, key, 5, 5*time.Second)
		switch {
		case r.Status == 429:
			return n
		case r.Status != 200:
			t.Fatalf("request %d: %d %v %s", n+1, r.Status, r.Err, r.Body)
		case r.Header.Get("x-ratelimit-remaining-requests") == "":
			t.Fatalf("request %d admitted unmetered (no x-ratelimit headers)", n+1)
		}
	}
	t.Fatalf("more than %d requests admitted", max)
	return 0
}

func TestMeteringRedisOutage(t *testing.T) {
	const limit = 5
	for _, mode := range []string{"FailOpen", "FailClose"} {
		t.Run(mode, func(t *testing.T) {
			rd := testutil.StartRedis(t)
			cfg := sharedYAML(`    - name: alice
      keys: [{id: alice, value: `+aliceKey+`}]
      limits: [{requests: 5, per: hour}]
`, storeYAML(rd.Addr(), mode, ""))
			g := startAIGateway(t, cfg, "SWITCHYARD_DATA_DIR="+t.TempDir())
			if n := enforcesLimit(t, g, aliceKey, limit); n != limit {
				t.Fatalf("admitted %d before the outage, want %d", n, limit)
			}

			rd.Kill()
			for i := range 3 {
				r := tryChat(g, aliceKey, 5, 5*time.Second)
				if r.Err != nil {
					t.Fatalf("request %d during the outage: %v after %s", i+1, r.Err, r.Elapsed)
				}
				if r.Elapsed > 2*time.Second {
					t.Fatalf("request %d during the outage took %s", i+1, r.Elapsed)
				}
				if mode == "FailOpen" {
					if r.Status != 200 {
						t.Fatalf("request %d during the outage: %d %s; want 200 (fail open)", i+1, r.Status, r.Body)
					}
					continue
				}
				var e struct {
					Error struct{ Type, Code, Message string }
				}
				if r.Status != 503 || json.Unmarshal([]byte(r.Body), &e) != nil || e.Error.Type != "service_unavailable" || e.Error.Message == "" {
					t.Fatalf("request %d during the outage: %d %s; want a 503 with an OpenAI-style error", i+1, r.Status, r.Body)
				}
			}
			st, body := readyz(t, g)
			t.Logf("/readyz during the outage: %d %q", st, body)
			if !strings.Contains(body, "counters") {
				t.Errorf("/readyz does not mention the counters' store: %q", body)
			}
			if want := map[string]int{"FailOpen": 200, "FailClose": 503}[mode]; st != want {
				t.Errorf("/readyz during the outage: %d, want %d", st, want)
			}

			// Redis is back, empty: the limit starts again from a full bucket.
			rd.Start()
			testutil.Eventually(t, 5*time.Second, func() bool {
				st, body := readyz(t, g)
				return st == 200 && !strings.Contains(body, "counters")
			}, "/readyz to recover")
			if n := enforcesLimit(t, g, aliceKey, limit); n != limit {
				t.Fatalf("admitted %d after Redis came back, want %d", n, limit)
			}
		})
	}
}

// usageRequests returns the requests GET /usage reports for consumer, or -1
// when the usage store does not answer.
func usageRequests(g *gateway, consumer string) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.Admin+"/usage?groupBy=consumer&consumer="+consumer, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	var u struct {
		Usage []struct {
			Group    map[string]string
			Requests int64
		}
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &u) != nil {
		return -1
	}
	var n int64
	for _, row := range u.Usage {
		if row.Group["consumer"] == consumer {
			n += row.Requests
		}
	}
	return n
}

func TestMeteringPostgresOutageLosesNothing(t *testing.T) {
	const before, during = 7, 9
	pg := testutil.StartPostgres(t)
	cfg := sharedYAML(`    - name: alice
      keys: [{id: alice, value: `+aliceKey+`}]
`, storeYAML("", "", pg.URL()))
	g := startAIGateway(t, cfg, "SWITCHYARD_DATA_DIR="+t.TempDir())
	send := func(n int, when string) {
		for i := range n {
			if r := tryChat(g, aliceKey, 5, 10*time.Second); r.Status != 200 {
				t.Fatalf("request %d %s: %d %v %s", i+1, when, r.Status, r.Err, r.Body)
			}
		}
	}
	send(before, "before the outage")
	testutil.Eventually(t, 10*time.Second, func() bool { return usageRequests(g, "alice") == before },
		"the first requests' usage records")

	pg.Stop()
	send(during, "while PostgreSQL is down")
	// The records wait on disk; /readyz says so and stays 200.
	testutil.Eventually(t, 10*time.Second, func() bool {
		_, body := readyz(t, g)
		return strings.Contains(body, "queued on disk")
	}, "/readyz to report the queued records")
	if st, body := readyz(t, g); st != 200 {
		t.Fatalf("/readyz while PostgreSQL is down: %d %s", st, body)
	}

	pg.Start()
	testutil.Eventually(t, 30*time.Second, func() bool { return usageRequests(g, "alice") >= before+during },
		"the queued usage records to reach PostgreSQL")
	// No duplicates either: once the spool is empty the count is exactly before+during.
	testutil.Eventually(t, 10*time.Second, func() bool {
		_, body := readyz(t, g)
		return !strings.Contains(body, "usage:")
	}, "the recorder to report the database back")
	if n := usageRequests(g, "alice"); n != before+during {
		t.Fatalf("usage reports %d requests, want %d", n, before+during)
	}
}
