package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

// usageRecords are the suite's records: two days (UTC), two consumers.
func usageRecords() []store.Record {
	plus5 := time.FixedZone("UTC+5", 5*3600)
	return []store.Record{
		{ID: "r1", Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), KeyID: "k1", Consumer: "alice", Team: "a",
			Route: "chat", Backend: "b1", Provider: "openai", Model: "gpt-4o", InputTokens: 10, OutputTokens: 20,
			CachedTokens: 1, ReasoningTokens: 2, CostPico: 100, Status: 200, Latency: time.Second, TTFT: time.Millisecond},
		{ID: "r2", Time: time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC), KeyID: "k1", Consumer: "alice", Team: "a",
			Route: "chat", Backend: "b2", Provider: "anthropic", Model: "claude", InputTokens: 5, OutputTokens: 5,
			CostPico: 50, Status: 200, Estimated: true},
		{ID: "r3", Time: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), KeyID: "k2", Consumer: "bob", Team: "b",
			Route: "batch", Backend: "b1", Provider: "openai", Model: "gpt-4o", InputTokens: 1, OutputTokens: 1,
			CostPico: 10, Status: 500},
		// 04:00 on March 2nd in UTC+5 is 23:00 on March 1st UTC: its day is the 1st.
		{ID: "r4", Time: time.Date(2026, 3, 2, 4, 0, 0, 0, plus5), KeyID: "k2", Consumer: "bob", Team: "b",
			Route: "batch", Backend: "b1", Provider: "openai", Model: "gpt-4o", InputTokens: 2, OutputTokens: 3,
			CostPico: 20, Status: 200},
	}
}

// row builds a Row: requests, input, output, cached, reasoning, cost.
func row(group []string, n ...int64) store.Row {
	return store.Row{Group: group, Requests: n[0], InputTokens: n[1], OutputTokens: n[2],
		CachedTokens: n[3], ReasoningTokens: n[4], CostPico: n[5]}
}

func g(s ...string) []string { return s }

// Usage checks a [store.Usage] implementation; open returns a fresh store.
func Usage(t *testing.T, open func(t *testing.T) store.Usage) {
	ctx := context.Background()

	t.Run("idempotent by id", func(t *testing.T) {
		s := open(t)
		recs := usageRecords()
		for i, batch := range [][]store.Record{recs[:2], recs[:2], recs[1:], recs, nil} {
			if err := s.Write(ctx, batch); err != nil {
				t.Fatalf("Write #%d: %v", i, err)
			}
		}
		got, err := s.Query(ctx, store.Query{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []store.Row{row(nil, 4, 18, 29, 1, 2, 180)}; !reflect.DeepEqual(got, want) {
			t.Errorf("total after repeated writes = %+v, want %+v", got, want)
		}
	})

	t.Run("query", func(t *testing.T) {
		s := open(t)
		if err := s.Write(ctx, usageRecords()); err != nil {
			t.Fatal(err)
		}
		day1, day2 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		for _, tc := range []struct {
			name string
			q    store.Query
			want []store.Row
		}{
			{"total", store.Query{}, []store.Row{row(nil, 4, 18, 29, 1, 2, 180)}},
			{"by consumer filter", store.Query{Consumer: "alice"}, []store.Row{row(nil, 2, 15, 25, 1, 2, 150)}},
			{"by team filter", store.Query{Team: "b"}, []store.Row{row(nil, 2, 3, 4, 0, 0, 30)}},
			{"by key and model", store.Query{KeyID: "k1", Model: "claude"}, []store.Row{row(nil, 1, 5, 5, 0, 0, 50)}},
			{"nothing matches", store.Query{Model: "none"}, []store.Row{row(nil, 0, 0, 0, 0, 0, 0)}},
			{"nothing matches, grouped", store.Query{Model: "none", GroupBy: g("model")}, nil},
			{"group by model", store.Query{GroupBy: g("model")}, []store.Row{
				row(g("claude"), 1, 5, 5, 0, 0, 50), row(g("gpt-4o"), 3, 13, 24, 1, 2, 130)}},
			{"group by UTC day", store.Query{GroupBy: g("day")}, []store.Row{
				row(g("2026-03-01"), 3, 17, 28, 1, 2, 170), row(g("2026-03-02"), 1, 1, 1, 0, 0, 10)}},
			{"group by consumer and day", store.Query{Team: "b", GroupBy: g("consumer", "day")}, []store.Row{
				row(g("bob", "2026-03-01"), 1, 2, 3, 0, 0, 20), row(g("bob", "2026-03-02"), 1, 1, 1, 0, 0, 10)}},
			{"group by key and provider", store.Query{GroupBy: g("key", "provider")}, []store.Row{
				row(g("k1", "anthropic"), 1, 5, 5, 0, 0, 50), row(g("k1", "openai"), 1, 10, 20, 1, 2, 100),
				row(g("k2", "openai"), 2, 3, 4, 0, 0, 30)}},
			{"group by route, backend, team", store.Query{KeyID: "k2", GroupBy: g("route", "backend", "team")},
				[]store.Row{row(g("batch", "b1", "b"), 2, 3, 4, 0, 0, 30)}},
			{"from inclusive, to exclusive", store.Query{From: time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC), To: day2},
				[]store.Row{row(nil, 1, 5, 5, 0, 0, 50)}},
			{"from only", store.Query{From: day2}, []store.Row{row(nil, 1, 1, 1, 0, 0, 10)}},
			{"to only", store.Query{To: day1.Add(12 * time.Hour)}, []store.Row{row(nil, 1, 10, 20, 1, 2, 100)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.Query(ctx, tc.q)
				if err != nil {
					t.Fatalf("Query(%+v): %v", tc.q, err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("Query(%+v)\n got %+v\nwant %+v", tc.q, got, tc.want)
				}
			})
		}
	})

	t.Run("unknown groupBy refused", func(t *testing.T) {
		s := open(t)
		for _, gb := range [][]string{g("nope"), g("model", "consumer; DROP TABLE usage"), g("")} {
			_, err := s.Query(ctx, store.Query{GroupBy: gb})
			if !errors.Is(err, store.ErrBadQuery) {
				t.Errorf("Query(groupBy %q) = %v, want ErrBadQuery", gb, err)
			}
		}
	})

	t.Run("large batch", func(t *testing.T) {
		s := open(t)
		batch := make([]store.Record, 2500)
		for i := range batch {
			batch[i] = store.Record{ID: fmt.Sprintf("big-%d", i), Time: t0, Consumer: "c", InputTokens: 1, CostPico: 2}
		}
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, batch[1000:]); err != nil {
			t.Fatal(err)
		}
		got, err := s.Query(ctx, store.Query{Consumer: "c"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []store.Row{row(nil, 2500, 2500, 0, 0, 0, 5000)}; !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
}
