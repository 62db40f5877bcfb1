package redis

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/store"
	"github.com/switchyard-ai/switchyard/store/storetest"
)

// open returns counters on srv after emptying its database.
func open(t testing.TB, srv *testutil.Redis, timeout time.Duration) *Counters {
	t.Helper()
	c, err := NewCounters(Options{Address: srv.Addr(), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.client.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCounters(t *testing.T) {
	srv := testutil.StartRedis(t)
	storetest.Counters(t, func(t *testing.T) store.Counters { return open(t, srv, time.Second) })
}

func TestUnavailable(t *testing.T) {
	srv := testutil.StartRedis(t)
	const timeout = 200 * time.Millisecond
	c := open(t, srv, timeout)
	ctx := context.Background()
	ctr := &store.Counter{Key: "k", Algorithm: store.Calendar, Limit: 10, Period: store.Day}
	charges := []store.Charge{{Counter: ctr, Amount: 1}}
	now := time.Now()
	if _, err := c.Reserve(ctx, now, charges); err != nil {
		t.Fatal(err)
	}
	if ok, d := c.Healthy(); !ok {
		t.Fatalf("Healthy with Redis up: %s", d)
	}

	srv.Kill()
	for _, call := range []struct {
		name string
		do   func() error
	}{
		{"reserve", func() error { _, err := c.Reserve(ctx, now, charges); return err }},
		{"adjust", func() error { return c.Adjust(ctx, now, charges) }},
		{"peek", func() error { _, err := c.Peek(ctx, now, []*store.Counter{ctr}); return err }},
	} {
		start := time.Now()
		err := call.do()
		if took := time.Since(start); took > timeout+200*time.Millisecond {
			t.Errorf("%s took %s with Redis down, timeout %s", call.name, took, timeout)
		}
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with Redis down: %v, want store.ErrUnavailable", call.name, err)
		}
	}

	if ok, d := c.Healthy(); ok || !strings.Contains(d, "redis unreachable") {
		t.Errorf("Healthy with Redis down: %v %q", ok, d)
	}

	srv.Start() // empty: nothing is persisted
	// Healthy pings while down: it sees Redis back without any call.
	testutil.Eventually(t, 5*time.Second, func() bool { ok, _ := c.Healthy(); return ok }, "Healthy after Redis restarted")
	testutil.Eventually(t, 5*time.Second, func() bool {
		_, err := c.Reserve(ctx, now, charges)
		return err == nil
	}, "Reserve to work again after Redis restarted")
	got, err := c.Peek(ctx, now, []*store.Counter{ctr})
	if err != nil || got[0].Remaining != 9 {
		t.Errorf("after restart: %+v %v, want 9 remaining", got, err)
	}
}

func TestScriptError(t *testing.T) {
	srv := testutil.StartRedis(t)
	c := open(t, srv, time.Second)
	if err := c.client.Set(context.Background(), "sy:c:k", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	ctr := &store.Counter{Key: "k", Algorithm: store.Calendar, Limit: 10, Period: store.Day}
	// A state that does not parse counts as another algorithm's: fresh.
	if _, err := c.Reserve(context.Background(), time.Now(), []store.Charge{{Counter: ctr, Amount: 1}}); err != nil {
		t.Fatal(err)
	}
	if !unavailable(errors.New("dial tcp: connection refused")) || unavailable(goredis.ErrNoScript) {
		t.Error("unavailable misclassifies errors")
	}
}

func TestKeysExpire(t *testing.T) {
	srv := testutil.StartRedis(t)
	c := open(t, srv, time.Second)
	ctx := context.Background()
	now := time.Now()
	b := &store.Counter{Key: "b", Algorithm: store.Bucket, Limit: 10, Window: time.Minute}
	s := &store.Counter{Key: "s", Algorithm: store.Sliding, Limit: 10, Window: time.Hour}
	if _, err := c.Reserve(ctx, now, []store.Charge{{Counter: b, Amount: 5}, {Counter: s, Amount: 5}}); err != nil {
		t.Fatal(err)
	}
	for key, max := range map[string]time.Duration{"sy:c:b": 90 * time.Second, "sy:c:s": time.Hour + 150*time.Second} {
		ttl, err := c.client.PTTL(ctx, key).Result()
		if err != nil || ttl <= 0 || ttl > max {
			t.Errorf("%s: TTL %s %v, want in (0, %s]", key, ttl, err, max)
		}
	}
}

func BenchmarkReserve(b *testing.B) {
	srv := testutil.StartRedis(b)
	c := open(b, srv, time.Second)
	charges := []store.Charge{
		{Counter: &store.Counter{Key: "rpm|consumer=alice", Algorithm: store.Bucket, Limit: 1 << 40, Window: time.Minute}, Amount: 1},
		{Counter: &store.Counter{Key: "budget|team=ml", Algorithm: store.Calendar, Limit: 1 << 50, Period: store.Month}, Amount: 1},
		{Counter: &store.Counter{Key: "tokens|model=gpt", Algorithm: store.Sliding, Limit: 1 << 50, Window: time.Hour}, Amount: 1},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := c.Reserve(ctx, time.Now(), charges)
		if err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}

// TestHungRedis: a server that accepts and never answers costs one Timeout.
func TestHungRedis(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 100)
	defer func() {
		l.Close()
		for len(conns) > 0 {
			(<-conns).Close()
		}
	}()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conns <- conn
		}
	}()
	const timeout = 150 * time.Millisecond
	c, err := NewCounters(Options{Address: l.Addr().String(), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctr := &store.Counter{Key: "k", Algorithm: store.Calendar, Limit: 10, Period: store.Day}
	start := time.Now()
	_, err = c.Reserve(context.Background(), time.Now(), []store.Charge{{Counter: ctr, Amount: 1}})
	if took := time.Since(start); took > timeout+300*time.Millisecond {
		t.Errorf("Reserve took %s against a hung server, timeout %s", took, timeout)
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Reserve against a hung server: %v, want store.ErrUnavailable", err)
	}

	// A caller that gives up gets its own error, not ErrUnavailable.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Reserve(ctx, time.Now(), []store.Charge{{Counter: ctr, Amount: 1}})
	if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Reserve with a canceled context: %v", err)
	}
}
