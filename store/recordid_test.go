package store

import (
	"sync"
	"testing"
	"time"
)

func TestRecordIDs(t *testing.T) {
	g := NewRecordIDs()
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		at   time.Time
	}{
		{"first", now},
		{"same instant", now},
		{"clock went back", now.Add(-time.Second)},
		{"later", now.Add(time.Minute)},
	}
	prev := ""
	for _, c := range cases {
		id := g.Next(c.at)
		if len(id) != 24 {
			t.Fatalf("%s: id %q has length %d, want 24", c.name, id, len(id))
		}
		if id <= prev {
			t.Errorf("%s: id %q does not sort after %q", c.name, id, prev)
		}
		prev = id
	}
	if a, b := NewRecordIDs().Next(now), NewRecordIDs().Next(now); a[16:] == b[16:] {
		t.Errorf("two generators share the process part %q (1 in 2^32 by chance)", a[16:])
	}
}

func TestRecordIDsConcurrent(t *testing.T) {
	g := NewRecordIDs()
	now := time.Now()
	const workers, each = 8, 1000
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				ids[w] = append(ids[w], g.Next(now))
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, l := range ids {
		for _, id := range l {
			if seen[id] {
				t.Fatalf("duplicate id %q", id)
			}
			seen[id] = true
		}
	}
}
