package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

const keyColumns = `id, hash, prefix, name, consumer, models, expires_at, created_at, revoked_at, source`

// Create implements [store.Keys.Create].
func (db *DB) Create(ctx context.Context, k store.Key) error {
	models, err := json.Marshal(nonNil(k.Models))
	if err != nil {
		return fmt.Errorf("sqlite: create key: %w", err)
	}
	var n int64
	err = db.tx(ctx, func(tx *sql.Tx) error {
		// No conflict target: a clash on the id or on the hash inserts nothing.
		res, err := tx.ExecContext(ctx, `INSERT INTO keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`,
			k.ID, k.Hash, k.Prefix, k.Name, k.Consumer, string(models),
			nanos(k.ExpiresAt), nanos(k.CreatedAt), nanos(k.RevokedAt), k.Source)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: create key %s: %w", k.ID, store.ErrExists)
	}
	db.notify(k.ID)
	return nil
}

// Revoke implements [store.Keys.Revoke]. Revoking a revoked key moves its
// revocation time.
func (db *DB) Revoke(ctx context.Context, id string, t time.Time) error {
	var n int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE keys SET revoked_at = ? WHERE id = ?`, nanos(t), id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke key: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: revoke key %s: %w", id, store.ErrNotFound)
	}
	db.notify(id)
	return nil
}

// List implements [store.Keys.List], oldest first.
func (db *DB) List(ctx context.Context, consumer string) ([]store.Key, error) {
	if consumer == "" {
		return db.All(ctx)
	}
	keys, err := db.keys(ctx, `SELECT `+keyColumns+` FROM keys WHERE consumer = ? ORDER BY created_at, id`, consumer)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list keys: %w", err)
	}
	return keys, nil
}

// All implements [store.Keys.All], oldest first.
func (db *DB) All(ctx context.Context) ([]store.Key, error) {
	keys, err := db.keys(ctx, `SELECT `+keyColumns+` FROM keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: all keys: %w", err)
	}
	return keys, nil
}

func (db *DB) keys(ctx context.Context, query string, args ...any) ([]store.Key, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Key
	for rows.Next() {
		var k store.Key
		var models string
		var exp, created, revoked int64
		if err := rows.Scan(&k.ID, &k.Hash, &k.Prefix, &k.Name, &k.Consumer, &models,
			&exp, &created, &revoked, &k.Source); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(models), &k.Models); err != nil {
			return nil, fmt.Errorf("key %s: models: %w", k.ID, err)
		}
		if len(k.Models) == 0 {
			k.Models = nil
		}
		k.ExpiresAt, k.CreatedAt, k.RevokedAt = fromNanos(exp), fromNanos(created), fromNanos(revoked)
		out = append(out, k)
	}
	return out, rows.Err()
}

// Watch implements [store.Keys.Watch] for the embedded store: fn sees this
// DB's own Create and Revoke calls, in order, on Watch's goroutine, after
// one fn("") once it is registered. It blocks until ctx ends or the DB is
// closed, and returns nil. If fn falls far behind, the pending ids are
// replaced by one fn("").
func (db *DB) Watch(ctx context.Context, fn func(id string)) error {
	w := &watcher{wake: make(chan struct{}, 1)}
	db.mu.Lock()
	db.watchers[w] = struct{}{}
	db.mu.Unlock()
	defer func() {
		db.mu.Lock()
		delete(db.watchers, w)
		db.mu.Unlock()
	}()
	select {
	case <-ctx.Done():
		return nil
	case <-db.closed:
		return nil
	default:
		fn("")
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-db.closed:
			return nil
		case <-w.wake:
		}
		ids, reload := db.take(w)
		if reload {
			fn("")
			continue
		}
		for _, id := range ids {
			fn(id)
		}
	}
}

// watcherBacklog is how many ids a watcher holds before it gives up on
// them and asks for a reload instead.
const watcherBacklog = 1024

// watcher is one Watch call's queue of ids, guarded by the DB's mutex.
type watcher struct {
	wake   chan struct{}
	ids    []string
	reload bool
}

// notify queues id for every watcher.
func (db *DB) notify(id string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	for w := range db.watchers {
		if w.reload || len(w.ids) >= watcherBacklog {
			w.ids, w.reload = nil, true
		} else {
			w.ids = append(w.ids, id)
		}
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// take empties w's queue.
func (db *DB) take(w *watcher) (ids []string, reload bool) {
	db.mu.Lock()
	defer db.mu.Unlock()
	ids, reload = w.ids, w.reload
	w.ids, w.reload = nil, false
	return ids, reload
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nanos stores a time as Unix nanoseconds; the zero time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
