package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/switchyard-ai/switchyard/store"
)

// channel is the NOTIFY channel of key changes; the payload is the key id.
const channel = "switchyard_keys"

const keyColumns = `id, hash, prefix, name, consumer, models, expires_at, created_at, revoked_at, source`

// Create implements [store.Keys.Create]; the NOTIFY is sent in the same
// transaction, so watchers hear of the key only once it is committed.
func (db *DB) Create(ctx context.Context, k store.Key) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var n int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// No conflict target: a clash on the id or on the hash inserts nothing.
		tag, err := tx.Exec(ctx, `INSERT INTO switchyard_keys (`+keyColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
			k.ID, k.Hash, k.Prefix, k.Name, k.Consumer, nonNil(k.Models),
			nullTime(k.ExpiresAt), k.CreatedAt, nullTime(k.RevokedAt), k.Source)
		if err != nil {
			return err
		}
		if n = tag.RowsAffected(); n == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, "SELECT pg_notify($1, $2)", channel, k.ID)
		return err
	})
	if err != nil {
		return wrap("create key", err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: create key %s: %w", k.ID, store.ErrExists)
	}
	return nil
}

// Revoke implements [store.Keys.Revoke], notifying in the same transaction.
func (db *DB) Revoke(ctx context.Context, id string, t time.Time) error {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	var n int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE switchyard_keys SET revoked_at = $1 WHERE id = $2", t, id)
		if err != nil {
			return err
		}
		if n = tag.RowsAffected(); n == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, "SELECT pg_notify($1, $2)", channel, id)
		return err
	})
	if err != nil {
		return wrap("revoke key", err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: revoke key %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// List implements [store.Keys.List], oldest first.
func (db *DB) List(ctx context.Context, consumer string) ([]store.Key, error) {
	if consumer == "" {
		return db.All(ctx)
	}
	keys, err := db.keys(ctx, `SELECT `+keyColumns+` FROM switchyard_keys WHERE consumer = $1
		ORDER BY created_at, id COLLATE "C"`, consumer)
	if err != nil {
		return nil, wrap("list keys", err)
	}
	return keys, nil
}

// All implements [store.Keys.All], oldest first.
func (db *DB) All(ctx context.Context) ([]store.Key, error) {
	keys, err := db.keys(ctx, `SELECT `+keyColumns+` FROM switchyard_keys ORDER BY created_at, id COLLATE "C"`)
	if err != nil {
		return nil, wrap("all keys", err)
	}
	return keys, nil
}

func (db *DB) keys(ctx context.Context, query string, args ...any) ([]store.Key, error) {
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Key, error) {
		var k store.Key
		var exp, revoked *time.Time
		err := row.Scan(&k.ID, &k.Hash, &k.Prefix, &k.Name, &k.Consumer, &k.Models,
			&exp, &k.CreatedAt, &revoked, &k.Source)
		if len(k.Models) == 0 {
			k.Models = nil
		}
		k.CreatedAt = k.CreatedAt.UTC()
		if exp != nil {
			k.ExpiresAt = exp.UTC()
		}
		if revoked != nil {
			k.RevokedAt = revoked.UTC()
		}
		return k, err
	})
}

// Watch implements [store.Keys.Watch] with LISTEN on a connection of its
// own: fn gets the id of every key that any replica creates or revokes.
// Each time it is listening, the first time included, it calls fn("")
// (reload everything: what changed before it listened was not heard); when
// the connection drops it reconnects with backoff (up to 5s). It blocks
// until ctx ends or the DB is closed, and returns nil.
func (db *DB) Watch(ctx context.Context, fn func(id string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-db.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	var backoff time.Duration
	for ctx.Err() == nil {
		err := db.listen(ctx, func() {
			backoff = 0
			fn("")
		}, fn)
		if ctx.Err() != nil {
			break
		}
		backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
		db.log.Warn("postgres: key watch disconnected, reconnecting", "error", err, "retryIn", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
	return nil
}

// listenPing is how long a watch waits for a notification before it
// checks that its connection is alive.
const listenPing = 30 * time.Second

// listen opens a connection, LISTENs, calls listening, then calls fn for
// every notification until the connection fails or ctx ends.
func (db *DB) listen(ctx context.Context, listening func(), fn func(string)) error {
	cfg := db.pool.Config().ConnConfig.Copy()
	// On a timed-out wait, just expire the read: no cancel request.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	cctx, cancel := db.bound(ctx)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err == nil {
		_, err = conn.Exec(cctx, "LISTEN "+channel)
	}
	cancel()
	if err != nil {
		if conn != nil {
			conn.Close(context.Background())
		}
		return wrap("watch keys", err)
	}
	defer func() {
		cctx, cancel := db.bound(context.Background())
		defer cancel()
		conn.Close(cctx)
	}()
	listening()
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			fn(n.Payload)
			continue
		case ctx.Err() != nil:
			return nil
		case !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err):
			return wrap("watch keys", err)
		}
		pctx, cancel := db.bound(ctx)
		err = conn.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			return wrap("watch keys: ping", err)
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
