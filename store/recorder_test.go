package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/store"
)

// fakeUsage is a store.Usage in memory that can be switched down.
type fakeUsage struct {
	down atomic.Bool
	mu   sync.Mutex
	recs map[string]store.Record
}

func newFakeUsage() *fakeUsage { return &fakeUsage{recs: map[string]store.Record{}} }

func (f *fakeUsage) Write(_ context.Context, batch []store.Record) error {
	if f.down.Load() {
		return fmt.Errorf("fake: write usage: %w", store.ErrUnavailable)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range batch {
		f.recs[r.ID] = r
	}
	return nil
}

func (f *fakeUsage) Query(context.Context, store.Query) ([]store.Row, error) { return nil, nil }
func (f *fakeUsage) Close() error                                            { return nil }

func (f *fakeUsage) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.recs)
}

func waitFor(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRecorder(t testing.TB, u store.Usage, o store.RecorderOptions) *store.Recorder {
	t.Helper()
	o.Log = quiet()
	r, err := store.NewRecorder(u, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(context.Background()) })
	return r
}

func rec(i int) store.Record {
	return store.Record{ID: fmt.Sprintf("req-%06d", i), Time: time.Unix(1700000000, 0).UTC(), Consumer: "alice",
		Model: "gpt-4o", InputTokens: int64(i), CostPico: 1}
}

func TestRecorderOutageLosesNothing(t *testing.T) {
	u := newFakeUsage()
	r := newRecorder(t, u, store.RecorderOptions{QueueDir: t.TempDir(), FlushInterval: 5 * time.Millisecond,
		MaxBatch: 50, MemoryQueue: 200, MaxBackoff: 20 * time.Millisecond})
	const total = 6000
	for i := range total {
		switch i {
		case 1000:
			u.down.Store(true)
		case 5000:
			testutil.Eventually(t, 5*time.Second, func() bool { return r.Stats().Down }, "the outage to be noticed")
			if ok, detail := r.Healthy(); ok || !strings.Contains(detail, "database unreachable") {
				t.Errorf("Healthy() during the outage = %v, %q", ok, detail)
			}
			u.down.Store(false)
		}
		r.Record(rec(i))
		if i%20 == 0 {
			time.Sleep(time.Millisecond) // a stream, not a burst
		}
	}
	if !waitFor(10*time.Second, func() bool { return u.count() == total }) {
		t.Fatalf("%d of %d records written; stats %+v", u.count(), total, r.Stats())
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := r.Stats()
	if st.Dropped != 0 || st.Spooled == 0 || st.WriteErrors == 0 || st.QueuedRecords != 0 || st.Recorded != total {
		t.Errorf("stats = %+v: want no drops, some spooled records and write errors, an empty spool", st)
	}
	if ok, detail := r.Healthy(); !ok {
		t.Errorf("Healthy() after recovery = false, %q", detail)
	}
}

func TestRecorderSpoolIsBounded(t *testing.T) {
	u := newFakeUsage()
	u.down.Store(true)
	dir := t.TempDir()
	const maxBytes = 20 << 10
	r := newRecorder(t, u, store.RecorderOptions{QueueDir: dir, FlushInterval: 5 * time.Millisecond,
		MemoryQueue: 100, QueueMaxBytes: maxBytes, MaxBackoff: time.Hour})
	const total = 2000
	for i := range total {
		r.Record(rec(i))
		if i%100 == 99 { // wait for the spool to take each buffer, so that only a full spool drops
			testutil.Eventually(t, 5*time.Second, func() bool {
				st := r.Stats()
				return st.Spooled+st.Dropped == uint64(i+1)
			}, "the spool to take the buffer")
		}
	}
	st := r.Stats()
	if st.Dropped == 0 || st.QueuedBytes > maxBytes || st.QueuedBytes < maxBytes-1024 {
		t.Fatalf("stats = %+v: want drops only once %d bytes are queued", st, maxBytes)
	}
	if ok, detail := r.Healthy(); ok || !strings.Contains(detail, "unreachable") {
		t.Errorf("Healthy() = %v, %q", ok, detail)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The next run replays what the spool held: exactly the records not dropped.
	u.down.Store(false)
	r2 := newRecorder(t, u, store.RecorderOptions{QueueDir: dir, FlushInterval: 5 * time.Millisecond})
	testutil.Eventually(t, 5*time.Second, func() bool { return r2.Stats().QueuedRecords == 0 }, "the spool to drain")
	if got := u.count(); uint64(got) != st.Spooled || got != total-int(st.Dropped) {
		t.Errorf("replayed %d records, want %d spooled (%d dropped)", got, st.Spooled, st.Dropped)
	}
}

func TestRecorderClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		down bool
	}{{"database up: written", false}, {"database down: spooled, replayed by the next run", true}} {
		t.Run(tc.name, func(t *testing.T) {
			u := newFakeUsage()
			u.down.Store(tc.down)
			dir := t.TempDir()
			r := newRecorder(t, u, store.RecorderOptions{QueueDir: dir, FlushInterval: time.Hour})
			for i := range 10 {
				r.Record(rec(i))
			}
			if err := r.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			r.Record(rec(99)) // after Close: counted as dropped
			want := 10
			if tc.down {
				want = 0
			}
			if got := u.count(); got != want {
				t.Fatalf("after Close, %d records written, want %d", got, want)
			}
			if st := r.Stats(); st.Dropped != 1 {
				t.Errorf("a Record after Close: stats %+v, want 1 dropped", st)
			}
			u.down.Store(false)
			r2 := newRecorder(t, u, store.RecorderOptions{QueueDir: dir, FlushInterval: time.Hour})
			testutil.Eventually(t, 5*time.Second, func() bool { return u.count() == 10 }, "the spool to be replayed")
			testutil.Eventually(t, 5*time.Second, func() bool { return r2.Stats().QueuedRecords == 0 }, "an empty spool")
		})
	}
}

func TestRecorderReplaySkipsTornLine(t *testing.T) {
	dir := t.TempDir()
	data := `{"id":"a","time":"2026-01-01T00:00:00Z","inputTokens":1}` + "\n" +
		`{"id":"b","time":"2026-01-01T00:00:00Z","inputTokens":2}` + "\n" +
		`{"id":"c","time":"2026-01-0` // a crash mid-append
	if err := os.WriteFile(filepath.Join(dir, "000000000007.jsonl"), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	u := newFakeUsage()
	r := newRecorder(t, u, store.RecorderOptions{QueueDir: dir, FlushInterval: time.Hour})
	testutil.Eventually(t, 5*time.Second, func() bool { return r.Stats().QueuedRecords == 0 }, "the spool to drain")
	u.mu.Lock()
	if len(u.recs) != 2 || u.recs["b"].InputTokens != 2 {
		t.Errorf("replayed %v, want records a and b", u.recs)
	}
	u.mu.Unlock()
	if left, _ := filepath.Glob(filepath.Join(dir, "*.jsonl")); len(left) != 0 {
		t.Errorf("segments left after replay: %v", left)
	}
}

func TestNewRecorderOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		u    store.Usage
		o    store.RecorderOptions
	}{
		{"no store", nil, store.RecorderOptions{QueueDir: t.TempDir()}},
		{"no queue dir", newFakeUsage(), store.RecorderOptions{}},
	} {
		if _, err := store.NewRecorder(tc.u, tc.o); err == nil {
			t.Errorf("%s: NewRecorder succeeded", tc.name)
		}
	}
}

// BenchmarkRecord measures the request path's cost: one record copied into
// the buffer, written in batches by the flusher to a store that keeps nothing.
func BenchmarkRecord(b *testing.B) {
	r := newRecorder(b, discard{}, store.RecorderOptions{QueueDir: b.TempDir()})
	x := rec(1)
	b.ReportAllocs()
	for b.Loop() {
		r.Record(x)
	}
	if st := r.Stats(); st.Dropped != 0 {
		b.Logf("a flood beyond what the flusher drains: stats %+v", st)
	}
}

type discard struct{}

func (discard) Write(context.Context, []store.Record) error             { return nil }
func (discard) Query(context.Context, store.Query) ([]store.Row, error) { return nil, nil }
func (discard) Close() error                                            { return nil }

// orderedUsage records the ids of each batch it is given, in order.
type orderedUsage struct {
	discard
	mu  sync.Mutex
	ids []string
}

func (o *orderedUsage) Write(_ context.Context, batch []store.Record) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range batch {
		o.ids = append(o.ids, r.ID)
	}
	return nil
}

// TestRecorderNamesRecords: a record without an id gets one, and ids grow
// in the order records are buffered (so the store's batches follow one
// another); a record's own id is kept.
func TestRecorderNamesRecords(t *testing.T) {
	u := &orderedUsage{}
	r := newRecorder(t, u, store.RecorderOptions{QueueDir: t.TempDir(), FlushInterval: time.Hour})
	const n = 500
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range n / 4 {
				r.Record(store.Record{Consumer: fmt.Sprint(w)})
			}
		})
	}
	wg.Wait()
	r.Record(store.Record{ID: "zz-own-id"})
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.ids) != n+1 || u.ids[n] != "zz-own-id" {
		t.Fatalf("wrote %d records (last %q), want %d ending with the record's own id", len(u.ids), u.ids[len(u.ids)-1], n+1)
	}
	for i := 1; i < n; i++ {
		if u.ids[i] <= u.ids[i-1] {
			t.Fatalf("id %d %q does not follow %q", i, u.ids[i], u.ids[i-1])
		}
	}
}
