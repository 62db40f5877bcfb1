// Package storetest holds conformance suites that every implementation of
// the store interfaces passes: a test of an implementation calls the suite
// with a function that opens a fresh, empty store (and closes it with
// t.Cleanup).
package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/internal/testutil"
	"github.com/switchyard-ai/switchyard/store"
)

// t0 is the suite's clock: whole microseconds, since PostgreSQL keeps no finer.
var t0 = time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)

func testKey(id, consumer string, created time.Time) store.Key {
	return store.Key{
		ID: id, Hash: "hash-" + id, Prefix: "sk-" + id[:2], Name: "name " + id,
		Consumer: consumer, CreatedAt: created, Source: "admin",
	}
}

// Keys checks a [store.Keys] implementation; open returns a fresh store.
func Keys(t *testing.T, open func(t *testing.T) store.Keys) {
	ctx := context.Background()
	alice1 := testKey("k1", "alice", t0)
	alice1.Models = []string{"gpt-4o", "claude"}
	alice1.ExpiresAt = t0.Add(48 * time.Hour)
	alice2 := testKey("k2", "alice", t0.Add(time.Minute))
	bob := testKey("k3", "bob", t0.Add(2*time.Minute))

	t.Run("create, list, all", func(t *testing.T) {
		s := open(t)
		for _, k := range []store.Key{alice1, alice2, bob} {
			if err := s.Create(ctx, k); err != nil {
				t.Fatalf("Create(%s): %v", k.ID, err)
			}
		}
		for _, tc := range []struct {
			name     string
			consumer string
			want     []store.Key
		}{
			{"one consumer", "alice", []store.Key{alice1, alice2}},
			{"other consumer", "bob", []store.Key{bob}},
			{"unknown consumer", "carol", nil},
			{"every consumer", "", []store.Key{alice1, alice2, bob}},
		} {
			got, err := s.List(ctx, tc.consumer)
			if err != nil {
				t.Fatalf("%s: List: %v", tc.name, err)
			}
			checkKeys(t, tc.name, got, tc.want)
		}
		all, err := s.All(ctx)
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		checkKeys(t, "All", all, []store.Key{alice1, alice2, bob})
	})

	t.Run("revoke", func(t *testing.T) {
		s := open(t)
		if err := s.Create(ctx, alice1); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(time.Hour)
		if err := s.Revoke(ctx, alice1.ID, at); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
		got, err := s.List(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		want := alice1
		want.RevokedAt = at
		checkKeys(t, "after Revoke", got, []store.Key{want})
		if err := s.Revoke(ctx, "missing", at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Revoke(missing) = %v, want ErrNotFound", err)
		}
	})

	t.Run("duplicates refused", func(t *testing.T) {
		s := open(t)
		if err := s.Create(ctx, alice1); err != nil {
			t.Fatal(err)
		}
		sameID := testKey(alice1.ID, "bob", t0)
		sameID.Hash = "another-hash"
		sameHash := testKey("k9", "bob", t0)
		sameHash.Hash = alice1.Hash
		for _, tc := range []struct {
			name string
			k    store.Key
		}{{"same id", sameID}, {"same hash", sameHash}} {
			if err := s.Create(ctx, tc.k); !errors.Is(err, store.ErrExists) {
				t.Errorf("%s: Create = %v, want ErrExists", tc.name, err)
			}
		}
		got, err := s.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkKeys(t, "after refused creates", got, []store.Key{alice1})
	})

	t.Run("watch", func(t *testing.T) {
		s := open(t)
		WatchSees(t, s, s)
	})
}

// WatchSees checks that a Watch on w reports the keys that c creates and
// revokes (the same store, or another replica of a shared one).
func WatchSees(t *testing.T, w, c store.Keys) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var seen []string
	ended := make(chan error, 1)
	go func() {
		ended <- w.Watch(ctx, func(id string) {
			mu.Lock()
			seen = append(seen, id)
			mu.Unlock()
		})
	}()
	saw := func(id string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return slices.Contains(seen, id)
		}
	}
	// A watch starts listening asynchronously and says so with fn(""), its
	// first call: a cache loaded before it may have missed a change.
	testutil.Eventually(t, 5*time.Second, saw(""), `Watch to call fn("") once listening`)
	mu.Lock()
	if seen[0] != "" {
		t.Errorf("Watch's first calls: %q; want fn(\"\") first", seen)
	}
	mu.Unlock()
	k := testKey("watched", "alice", t0)
	if err := c.Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, saw(k.ID), "Watch to report a created key")
	mu.Lock()
	seen = nil
	mu.Unlock()
	if err := c.Revoke(ctx, k.ID, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, saw(k.ID), "Watch to report a revoked key")
	cancel()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return when its context ended")
	}
}

// checkKeys compares keys in order, times by instant.
func checkKeys(t *testing.T, what string, got, want []store.Key) {
	t.Helper()
	norm := func(ks []store.Key) []store.Key {
		out := make([]store.Key, len(ks))
		for i, k := range ks {
			k.ExpiresAt, k.CreatedAt, k.RevokedAt = k.ExpiresAt.UTC(), k.CreatedAt.UTC(), k.RevokedAt.UTC()
			out[i] = k
		}
		return out
	}
	if g, w := norm(got), norm(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}
