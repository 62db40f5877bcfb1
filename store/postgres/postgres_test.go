package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/store"
	"github.com/switchyard-ai/switchyard/store/storetest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t testing.TB, url string) *DB {
	t.Helper()
	db, err := Open(context.Background(), url, Options{Log: quiet()})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPostgres runs the conformance suites, each store on a fresh database
// of one server.
func TestPostgres(t *testing.T) {
	srv := testutil.StartPostgres(t)
	t.Run("keys", func(t *testing.T) {
		storetest.Keys(t, func(t *testing.T) store.Keys { return open(t, srv.NewDatabase(t)) })
	})
	t.Run("usage", func(t *testing.T) {
		storetest.Usage(t, func(t *testing.T) store.Usage { return open(t, srv.NewDatabase(t)) })
	})
	t.Run("watch across replicas", func(t *testing.T) {
		url := srv.NewDatabase(t)
		storetest.WatchSees(t, open(t, url), open(t, url))
	})
	t.Run("replicas migrate together", func(t *testing.T) {
		url := srv.NewDatabase(t)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				db, err := Open(context.Background(), url, Options{Log: quiet()})
				if err == nil {
					db.Close()
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent Open: %v", err)
			}
		}
		open(t, url) // and again, on a migrated schema
	})
	t.Run("url never quoted", func(t *testing.T) {
		for _, url := range []string{"postgres://u:s3cret@127.0.0.1:notaport/db", "postgres://u:s3cret@[::1/db"} {
			_, err := Open(context.Background(), url, Options{})
			if err == nil || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Open(bad url) = %v: want an error that does not quote the password", err)
			}
		}
	})
}

func TestUnavailable(t *testing.T) {
	srv := testutil.StartPostgres(t)
	url := srv.NewDatabase(t)
	const timeout = 500 * time.Millisecond
	db, err := Open(context.Background(), url, Options{Timeout: timeout, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	var mu sync.Mutex
	var seen []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go db.Watch(ctx, func(id string) {
		mu.Lock()
		seen = append(seen, id)
		mu.Unlock()
	})
	testutil.Eventually(t, 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) > 0
	}, "the watch to listen and call fn(\"\")")
	mu.Lock()
	seen = nil
	mu.Unlock()

	srv.Stop()
	ctx0 := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"create", func() error { return db.Create(ctx0, store.Key{ID: "k", Hash: "h", CreatedAt: time.Now()}) }},
		{"revoke", func() error { return db.Revoke(ctx0, "k", time.Now()) }},
		{"all", func() error { _, err := db.All(ctx0); return err }},
		{"write", func() error { return db.Write(ctx0, []store.Record{{ID: "r", Time: time.Now()}}) }},
		{"query", func() error { _, err := db.Query(ctx0, store.Query{}); return err }},
		{"open", func() error {
			_, err := Open(ctx0, url, Options{Timeout: timeout, Log: quiet()})
			return err
		}},
	} {
		start := time.Now()
		err := tc.call()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with the database down = %v, want ErrUnavailable", tc.name, err)
		}
		if d := time.Since(start); d > timeout+time.Second {
			t.Errorf("%s with the database down took %s (timeout %s)", tc.name, d, timeout)
		}
	}

	// Back up: the watch reconnects and asks for a reload, then hears keys again.
	srv.Start()
	testutil.Eventually(t, 15*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) > 0 && seen[0] == ""
	}, "the watch to reconnect and call fn(\"\")")
	if err := db.Create(ctx0, store.Key{ID: "after", Hash: "h2", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen[len(seen)-1] == "after"
	}, "the watch to report a key created after the restart")
}

// TestRecorderAcrossRestart stops PostgreSQL in the middle of a stream of
// usage records and starts it again: every record arrives, once.
func TestRecorderAcrossRestart(t *testing.T) {
	srv := testutil.StartPostgres(t)
	db, err := Open(context.Background(), srv.NewDatabase(t), Options{Timeout: 500 * time.Millisecond, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := store.NewRecorder(db, store.RecorderOptions{QueueDir: t.TempDir(), FlushInterval: 20 * time.Millisecond,
		MaxBatch: 100, MaxBackoff: 200 * time.Millisecond, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	const total = 3000
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range total {
		switch i {
		case 1000:
			srv.Stop()
		case 2000:
			testutil.Eventually(t, 10*time.Second, func() bool {
				st := r.Stats()
				return st.Down && st.QueuedRecords > 0
			}, "the recorder to queue on disk while the database is stopped")
			srv.Start()
		}
		r.Record(store.Record{ID: fmt.Sprintf("req-%d", i), Time: start.Add(time.Duration(i) * time.Second),
			Consumer: "alice", InputTokens: int64(i)})
		if i%10 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	testutil.Eventually(t, 20*time.Second, func() bool {
		st := r.Stats()
		return !st.Down && st.QueuedRecords == 0
	}, "the recorder to catch up")
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(context.Background(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(total * (total - 1) / 2); len(rows) != 1 || rows[0].Requests != total || rows[0].InputTokens != want {
		t.Errorf("after the restart, usage = %+v, want %d requests and %d input tokens", rows, total, want)
	}
	if st := r.Stats(); st.Dropped != 0 || st.Spooled == 0 {
		t.Errorf("stats %+v: want spooled records and no drops", st)
	}
}
