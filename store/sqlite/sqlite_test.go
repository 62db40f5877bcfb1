package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/store"
	"github.com/switchyard-ai/switchyard/store/storetest"
)

func open(t testing.TB, path string) *DB {
	t.Helper()
	db, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func fresh(t testing.TB) *DB {
	return open(t, filepath.Join(t.TempDir(), "state", "switchyard.db"))
}

func TestKeys(t *testing.T) {
	storetest.Keys(t, func(t *testing.T) store.Keys { return fresh(t) })
}

func TestUsage(t *testing.T) {
	storetest.Usage(t, func(t *testing.T) store.Usage { return fresh(t) })
}

func TestReopenKeepsState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deep", "dir", "s.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := store.Key{ID: "k1", Hash: "h1", Prefix: "sk-k", Consumer: "alice", Models: []string{"m"},
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Source: "admin"}
	counters := map[string][]byte{"tpm|consumer=alice": {1, 2, 3}, "budget|team=a": {}}
	rec := store.Record{ID: "r1", Time: key.CreatedAt, Consumer: "alice", InputTokens: 7, CostPico: 9}
	if err := db.Create(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(ctx, []store.Record{rec}); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveCounters(ctx, counters); err != nil {
		t.Fatal(err)
	}
	counters["tpm|consumer=alice"] = []byte{4} // an upsert replaces
	if err := db.SaveCounters(ctx, map[string][]byte{"tpm|consumer=alice": {4}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = open(t, path)
	keys, err := db.All(ctx)
	if err != nil || len(keys) != 1 || !keys[0].CreatedAt.Equal(key.CreatedAt) || keys[0].Hash != "h1" ||
		!reflect.DeepEqual(keys[0].Models, key.Models) {
		t.Errorf("keys after reopen = %+v, %v; want %+v", keys, err, key)
	}
	rows, err := db.Query(ctx, store.Query{})
	if err != nil || len(rows) != 1 || rows[0].Requests != 1 || rows[0].InputTokens != 7 {
		t.Errorf("usage after reopen = %+v, %v", rows, err)
	}
	got, err := db.LoadCounters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range counters {
		if string(got[k]) != string(v) {
			t.Errorf("counter %q after reopen = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(counters) {
		t.Errorf("LoadCounters = %d states, want %d", len(got), len(counters))
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	db := open(t, path)
	if _, err := db.w.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(context.Background(), path, Options{}); err == nil {
		t.Fatal("Open accepted a schema newer than the code")
	}
}

func TestOpenFailsOnUnusablePath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), filepath.Join(file, "s.db"), Options{}); err == nil {
		t.Fatal("Open succeeded under a regular file")
	}
}

// BenchmarkWrite measures batch writes of 1000 records (records/s reported).
func BenchmarkWrite(b *testing.B) {
	db := fresh(b)
	ctx := context.Background()
	const size = 1000
	batch := make([]store.Record, size)
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j] = store.Record{ID: fmt.Sprintf("r-%d-%d", i, j), Time: now, Consumer: "alice", Team: "a",
				Model: "gpt-4o", KeyID: "k1", Route: "chat", Backend: "b1", Provider: "openai",
				InputTokens: 100, OutputTokens: 200, CostPico: 3000, Status: 200}
		}
		if err := db.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "records/s")
}
