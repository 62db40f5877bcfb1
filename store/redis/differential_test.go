package redis

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/store"
	"github.com/switchyard-ai/switchyard/store/memory"
)

// TestSameAsMemory runs the same random calls on Redis and in memory, with
// limits and amounts up to the arithmetic's bounds: the Lua mirror must give
// exactly the Go results.
func TestSameAsMemory(t *testing.T) {
	srv := testutil.StartRedis(t)
	rc := open(t, srv, time.Second)
	mc, err := memory.NewCounters(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	counters := []*store.Counter{
		{Key: "b-small", Algorithm: store.Bucket, Limit: 7, Window: 3 * time.Second},
		{Key: "b-huge", Algorithm: store.Bucket, Limit: 1 << 50, Window: 24 * time.Hour}, // coarse ticks
		{Key: "b-odd", Algorithm: store.Bucket, Limit: 123456789, Window: 97 * time.Minute},
		{Key: "c-day", Algorithm: store.Calendar, Limit: 50, Period: store.Day, Location: tokyo},
		{Key: "c-big", Algorithm: store.Calendar, Limit: 1 << 52, Period: store.Week},
		{Key: "s-small", Algorithm: store.Sliding, Limit: 20, Window: 10 * time.Second},
		{Key: "s-big", Algorithm: store.Sliding, Limit: 1 << 51, Window: 25 * time.Hour},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	amount := func(c *store.Counter) int64 {
		switch rng.IntN(4) {
		case 0:
			return rng.Int64N(c.Limit/2+2) - c.Limit/8
		case 1:
			return rng.Int64N(8)
		case 2:
			return rng.Int64N(1<<53) - 1<<51
		default:
			return c.Limit - rng.Int64N(3)
		}
	}
	ctx := context.Background()
	now := time.Date(2024, 2, 28, 20, 0, 0, 0, time.UTC)
	for i := range 3000 {
		now = now.Add(time.Duration(rng.Int64N(int64([]time.Duration{time.Millisecond, time.Second, time.Minute, 3 * time.Hour}[rng.IntN(4)]))))
		var charges []store.Charge
		for range 1 + rng.IntN(4) {
			c := counters[rng.IntN(len(counters))]
			charges = append(charges, store.Charge{Counter: c, Amount: amount(c), Audit: rng.IntN(5) == 0})
		}
		switch rng.IntN(3) {
		case 0:
			md, err1 := mc.Reserve(ctx, now, charges)
			rd, err2 := rc.Reserve(ctx, now, charges)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if len(rd.Audited) == 0 {
				rd.Audited = nil
			}
			if !reflect.DeepEqual(md, rd) {
				t.Fatalf("call %d: Reserve %+v at %s\nmemory %+v\nredis  %+v", i, charges, now, md, rd)
			}
		case 1:
			if err := mc.Adjust(ctx, now, charges); err != nil {
				t.Fatal(err)
			}
			if err := rc.Adjust(ctx, now, charges); err != nil {
				t.Fatal(err)
			}
		}
		ms, err1 := mc.Peek(ctx, now, counters)
		rs, err2 := rc.Peek(ctx, now, counters)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !reflect.DeepEqual(ms, rs) {
			t.Fatalf("call %d: Peek at %s\nmemory %+v\nredis  %+v", i, now, ms, rs)
		}
	}
}
