package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/switchyard-ai/switchyard/store"
)

// TestMigrateV1Usage opens a file at schema version 1 (one row per usage
// record): its records are moved into batches, the old table dropped.
func TestMigrateV1Usage(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.Exec(migrations[0].sql + "; PRAGMA user_version = 1"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		id, day, consumer, model string
		time, in, out, cost      int64
	}{
		{"r1", "2026-03-01", "alice", "gpt-4o", 1772359200e9, 10, 20, 100},
		{"r2", "2026-03-02", "bob", "claude", 1772445600e9, 1, 2, 30},
	} {
		if _, err := old.Exec(`INSERT INTO usage (id, time, day, consumer, model, input_tokens, output_tokens, cost_pico, status)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 200)`, r.id, r.time, r.day, r.consumer, r.model, r.in, r.out, r.cost); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db := open(t, path)
	got, err := db.Query(ctx, store.Query{GroupBy: []string{"consumer", "day"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Row{
		{Group: []string{"alice", "2026-03-01"}, Requests: 1, InputTokens: 10, OutputTokens: 20, CostPico: 100},
		{Group: []string{"bob", "2026-03-02"}, Requests: 1, InputTokens: 1, OutputTokens: 2, CostPico: 30},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after migration\n got %+v\nwant %+v", got, want)
	}
	// The moved records keep their ids: writing one again adds nothing.
	if err := db.Write(ctx, []store.Record{{ID: "r1", Consumer: "alice", InputTokens: 10}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Query(ctx, store.Query{Consumer: "alice"}); len(got) != 1 || got[0].Requests != 1 {
		t.Errorf("r1 written again after the migration: %+v", got)
	}
	var n int
	if err := db.r.QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 'usage'").Scan(&n); err != nil || n != 0 {
		t.Errorf("version 1's usage table still there (%d, %v)", n, err)
	}
}
