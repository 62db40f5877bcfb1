package harness

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/loadtest/load"
)

// Unavailable says why a scenario cannot run on this machine ("" when it
// can): the Redis metering scenarios need redis-server on the PATH.
func (sc Scenario) Unavailable() string {
	if sc.Gateway.Metering == "redis" {
		if _, err := exec.LookPath("redis-server"); err != nil {
			return "redis-server is not installed (the harness starts its own on a free loopback port)"
		}
	}
	return ""
}

// Skipped lists the scenarios of scenarios that cannot run here, with why,
// for the report.
func Skipped(scenarios []Scenario) []string {
	var out []string
	for _, sc := range scenarios {
		if why := sc.Unavailable(); why != "" {
			out = append(out, sc.Name+": "+why)
		}
	}
	return out
}

// startRedis starts a redis-server for one repetition on a free loopback
// port, without persistence, pinned with the generator and the fake upstream
// (it stands for a server of its own: its CPU is not the gateway's).
func startRedis(ctx context.Context, o Options, l *launcher, sc Scenario, s *servers) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	if s.redis, err = l.start(ctx, "redis", o.ClientCPUs, nil, false, "redis-server", "--port", strconv.Itoa(port),
		"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"); err != nil {
		return err
	}
	s.ports.Redis = port
	return waitRedis(ctx, "127.0.0.1:"+strconv.Itoa(port), 10*time.Second)
}

// waitRedis sends PING until the server answers PONG.
func waitRedis(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, err = c.Write([]byte("PING\r\n"))
			var line string
			if err == nil {
				line, err = bufio.NewReader(c).ReadString('\n')
			}
			c.Close()
			if err == nil && strings.HasPrefix(line, "+PONG") {
				return nil
			}
			if err == nil {
				err = fmt.Errorf("answered %q", strings.TrimSpace(line))
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("harness: redis-server at %s not ready after %s: %w", addr, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Records compares what a metered gateway served with the usage records it
// wrote, over a whole load run (warm-up included).
type Records struct {
	// Served counts the 2xx responses the load generator received;
	// Answered every response.
	Served   int64 `json:"served"`
	Answered int64 `json:"answered"`
	// Written is the requests of the usage store's total row (admin
	// GET /usage without groupBy) once it stopped changing.
	Written int64 `json:"written"`
	// RecorderWritten and RecorderDropped are the usage recorder's
	// counters (switchyard_usage_records_written_total, _dropped_total).
	RecorderWritten int64 `json:"recorder_written"`
	RecorderDropped int64 `json:"recorder_dropped"`
	// Settled is how long after the load the count took to settle.
	Settled time.Duration `json:"settled_ns"`
}

// OK reports whether every request served has exactly one usage record and
// every answer was a 2xx.
func (r Records) OK() bool {
	return r.Written == r.Served && r.Answered == r.Served && r.RecorderDropped == 0
}

// recordsSettle is how long the usage total must stay unchanged to count as
// flushed (the recorder writes every second).
const recordsSettle = 2500 * time.Millisecond

// countRecords waits until the gateway's usage total has stopped changing
// (the recorder flushes every FlushInterval, 1 s) and returns it beside
// what the load generator was served.
func countRecords(ctx context.Context, admin string, res *load.Result) (*Records, error) {
	r := &Records{Served: res.ServedAll, Answered: res.AnsweredAll}
	c := &http.Client{Timeout: 5 * time.Second}
	start := time.Now()
	last, since := int64(-1), time.Now()
	for {
		n, err := usageTotal(ctx, c, admin)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		if n != last {
			last, since = n, now
		}
		// Equal and one more flush later still equal, or unchanged for
		// recordsSettle: done.
		if (n == r.Served && now.Sub(since) >= 1200*time.Millisecond) || now.Sub(since) >= recordsSettle {
			r.Written, r.Settled = n, since.Sub(start)
			break
		}
		if now.Sub(start) > 30*time.Second {
			return nil, fmt.Errorf("usage total still changing after 30s (now %d, served %d)", n, r.Served)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	m, err := metricValues(ctx, c, admin, "switchyard_usage_records_written_total", "switchyard_usage_records_dropped_total")
	if err != nil {
		return nil, err
	}
	r.RecorderWritten, r.RecorderDropped = int64(m[0]), int64(m[1])
	return r, nil
}

// usageTotal returns the requests of admin GET /usage's total row.
func usageTotal(ctx context.Context, c *http.Client, admin string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/usage", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /usage: %s", resp.Status)
	}
	var body struct {
		Usage []struct {
			Requests int64 `json:"requests"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, fmt.Errorf("GET /usage: %w", err)
	}
	var n int64
	for _, u := range body.Usage {
		n += u.Requests
	}
	return n, nil
}

// metricValues reads unlabelled samples from the admin /metrics.
func metricValues(ctx context.Context, c *http.Client, admin string, names ...string) ([]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+admin+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := make([]float64, len(names))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		for i, n := range names {
			if name == n {
				out[i], _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
			}
		}
	}
	return out, sc.Err()
}
