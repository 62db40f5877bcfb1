package memory

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/store"
	"github.com/switchyard-ai/switchyard/store/storetest"
)

func open(t *testing.T, opts Options) *Counters {
	t.Helper()
	c, err := NewCounters(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCounters(t *testing.T) {
	storetest.Counters(t, func(t *testing.T) store.Counters { return open(t, Options{}) })
}

// spend is an in-memory store.Spend that forgets nil states.
type spend struct {
	mu    sync.Mutex
	m     map[string][]byte
	saves int
}

func (s *spend) SaveCounters(_ context.Context, states map[string][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	for k, v := range states {
		if v == nil {
			delete(s.m, k)
		} else {
			s.m[k] = v
		}
	}
	return nil
}

func (s *spend) LoadCounters(context.Context) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m), nil
}

func TestPersistence(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2024, 5, 14, 10, 0, 0, 0, time.UTC)
	counters := []*store.Counter{
		{Key: "b", Algorithm: store.Bucket, Limit: 10, Window: time.Minute},
		{Key: "c", Algorithm: store.Calendar, Limit: 10, Period: store.Month},
		{Key: "s", Algorithm: store.Sliding, Limit: 10, Window: time.Hour},
	}
	sp := &spend{m: map[string][]byte{"junk": {9, 9}}}
	c := open(t, Options{Spend: sp, FlushInterval: time.Hour})
	for i, ctr := range counters {
		if _, err := c.Reserve(ctx, now, []store.Charge{{Counter: ctr, Amount: int64(3 + i)}}); err != nil {
			t.Fatal(err)
		}
	}
	want, err := c.Peek(ctx, now, counters)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if len(sp.m) != 4 { // junk stays: it is not ours to delete
		t.Fatalf("saved %d states, want 3 and the junk: %v", len(sp.m), sp.m)
	}

	c = open(t, Options{Spend: sp, FlushInterval: time.Hour})
	got, err := c.Peek(ctx, now, counters)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s after reopening: %+v, want %+v", counters[i].Key, got[i], want[i])
		}
	}

	// Once idle (the bucket refilled, the month over, the window past), the
	// sweep drops the counters from memory and from the store.
	c.sweep(now.AddDate(0, 2, 0))
	for i := range c.shards {
		if n := len(c.shards[i].m); n != 0 {
			t.Fatalf("shard %d holds %d counters after the sweep", i, n)
		}
	}
	if err := c.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := sp.m["b"]; ok || len(sp.m) != 1 {
		t.Errorf("after the sweep the store holds %v, want only the junk", sp.m)
	}
}

func TestBackgroundFlush(t *testing.T) {
	sp := &spend{m: map[string][]byte{}}
	c := open(t, Options{Spend: sp, FlushInterval: 5 * time.Millisecond})
	ctr := &store.Counter{Key: "k", Algorithm: store.Calendar, Limit: 10, Period: store.Day}
	if err := c.Adjust(context.Background(), time.Now(), []store.Charge{{Counter: ctr, Amount: 4}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		sp.mu.Lock()
		_, saved := sp.m["k"]
		sp.mu.Unlock()
		if saved {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dirty counter was not saved in the background")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestContextCanceled(t *testing.T) {
	c := open(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ctr := &store.Counter{Key: "k", Algorithm: store.Calendar, Limit: 10, Period: store.Day}
	if _, err := c.Reserve(ctx, time.Now(), []store.Charge{{Counter: ctr, Amount: 1}}); err == nil {
		t.Error("Reserve with a canceled context succeeded")
	}
}

func BenchmarkReserve(b *testing.B) {
	c, err := NewCounters(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ny, _ := time.LoadLocation("America/New_York")
	charges := []store.Charge{
		{Counter: &store.Counter{Key: "rpm|consumer=alice", Algorithm: store.Bucket, Limit: 1 << 40, Window: time.Minute}, Amount: 1},
		{Counter: &store.Counter{Key: "budget|team=ml", Algorithm: store.Calendar, Limit: 1 << 50, Period: store.Month, Location: ny}, Amount: 1},
		{Counter: &store.Counter{Key: "tokens|model=gpt", Algorithm: store.Sliding, Limit: 1 << 50, Window: time.Hour}, Amount: 1},
	}
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		d, err := c.Reserve(ctx, now, charges)
		if err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}
