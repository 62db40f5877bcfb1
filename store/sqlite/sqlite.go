// Package sqlite is the embedded store: API keys, usage records and saved
// counter state in one SQLite file, through a pure-Go driver (no cgo).
//
// The file runs in WAL mode with synchronous=NORMAL: a commit survives a
// crash of the process; a power loss may lose the last commits, never the
// file. Every write goes through one connection, so writers queue in Go
// rather than on SQLite's lock; reads use a small pool of read-only
// connections. The schema is versioned with PRAGMA user_version and
// migrated on Open.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/switchyard-ai/switchyard/store"
)

// Options configure [Open]. Zero values take the defaults.
type Options struct {
	// BusyTimeout is how long a connection waits for a lock another
	// process holds (default 5s).
	BusyTimeout time.Duration
	// ReadConns is the size of the read pool (default 4).
	ReadConns int
	// Log receives the schema migrations (default: slog.Default()).
	Log *slog.Logger
}

// DB is an open SQLite store. It implements [store.Keys], [store.Usage]
// and [store.Spend] and is safe for concurrent use.
type DB struct {
	w, r *sql.DB // w has one connection: the only writer
	log  *slog.Logger

	mu       sync.Mutex
	watchers map[*watcher]struct{}
	closed   chan struct{}
	once     sync.Once
}

var (
	_ store.Keys  = (*DB)(nil)
	_ store.Usage = (*DB)(nil)
	_ store.Spend = (*DB)(nil)
)

// Open opens (creating it and its directory if missing) the SQLite file at
// path and migrates its schema.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: no path")
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 4
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	pragmas := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()),
		"journal_mode(WAL)",
		"synchronous(NORMAL)",
	}}
	uri := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" // SQLite decodes %XX in a file: URI
	w, err := sql.Open("sqlite", uri+pragmas.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db := &DB{w: w, log: opts.Log, watchers: map[*watcher]struct{}{}, closed: make(chan struct{})}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	pragmas.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", uri+pragmas.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	db.r = r
	return db, nil
}

// A migration is SQL and, optionally, Go run after it in the same
// transaction.
type migration struct {
	sql string
	fn  func(ctx context.Context, tx *sql.Tx) error
}

// migrations are applied in order; PRAGMA user_version is how many ran.
// A released migration never changes: a new one is appended.
var migrations = []migration{{sql: `CREATE TABLE keys (
		id         TEXT PRIMARY KEY,
		hash       TEXT NOT NULL UNIQUE,
		prefix     TEXT NOT NULL,
		name       TEXT NOT NULL DEFAULT '',
		consumer   TEXT NOT NULL,
		models     TEXT NOT NULL DEFAULT '[]',
		expires_at INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL,
		revoked_at INTEGER NOT NULL DEFAULT 0,
		source     TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX keys_consumer ON keys (consumer);
	CREATE TABLE usage (
		id               TEXT PRIMARY KEY,
		time             INTEGER NOT NULL,
		day              TEXT NOT NULL,
		key_id           TEXT NOT NULL DEFAULT '',
		consumer         TEXT NOT NULL DEFAULT '',
		team             TEXT NOT NULL DEFAULT '',
		route            TEXT NOT NULL DEFAULT '',
		backend          TEXT NOT NULL DEFAULT '',
		provider         TEXT NOT NULL DEFAULT '',
		model            TEXT NOT NULL DEFAULT '',
		input_tokens     INTEGER NOT NULL DEFAULT 0,
		output_tokens    INTEGER NOT NULL DEFAULT 0,
		cached_tokens    INTEGER NOT NULL DEFAULT 0,
		reasoning_tokens INTEGER NOT NULL DEFAULT 0,
		cost_pico        INTEGER NOT NULL DEFAULT 0,
		status           INTEGER NOT NULL DEFAULT 0,
		latency_ns       INTEGER NOT NULL DEFAULT 0,
		ttft_ns          INTEGER NOT NULL DEFAULT 0,
		estimated        INTEGER NOT NULL DEFAULT 0
	);
	CREATE INDEX usage_time ON usage (time);
	CREATE INDEX usage_consumer_time ON usage (consumer, time);
	CREATE TABLE counters (
		key        TEXT PRIMARY KEY,
		state      BLOB NOT NULL,
		updated_at INTEGER NOT NULL
	);`},
	// Version 2: usage records in batches (usagecodec.go); the rows of
	// version 1's usage table are moved into them.
	{sql: `CREATE TABLE usage_batches (
		seq      INTEGER PRIMARY KEY,
		min_id   TEXT NOT NULL,
		max_id   TEXT NOT NULL,
		min_time INTEGER NOT NULL,
		max_time INTEGER NOT NULL,
		records  INTEGER NOT NULL,
		data     BLOB NOT NULL
	);
	CREATE INDEX usage_batches_max_id ON usage_batches (max_id);
	CREATE INDEX usage_batches_max_time ON usage_batches (max_time);`, fn: moveUsageRows},
}

// migrate brings the schema to the latest version, one transaction per step.
func (db *DB) migrate(ctx context.Context) error {
	var v int
	if err := db.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this build's %d", v, len(migrations))
	}
	for ; v < len(migrations); v++ {
		tx, err := db.w.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate to %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, migrations[v].sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to %d: %w", v+1, err)
		}
		if fn := migrations[v].fn; fn != nil {
			if err := fn(ctx, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("migrate to %d: %w", v+1, err)
			}
		}
		// PRAGMA takes no bound parameter; v+1 is our own integer.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to %d: %w", v+1, err)
		}
		db.log.Info("sqlite: schema migrated", "version", v+1)
	}
	return nil
}

// SaveCounters implements [store.Spend.SaveCounters]: it upserts every
// state in one transaction; a nil state deletes the counter.
func (db *DB) SaveCounters(ctx context.Context, states map[string][]byte) error {
	if len(states) == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	err := db.tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO counters (key, state, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`)
		if err != nil {
			return err
		}
		defer st.Close()
		for k, b := range states {
			if b == nil { // a counter back to its idle state: nothing to keep
				if _, err := tx.ExecContext(ctx, "DELETE FROM counters WHERE key = ?", k); err != nil {
					return err
				}
				continue
			}
			if _, err := st.ExecContext(ctx, k, b, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: save counters: %w", err)
	}
	return nil
}

// LoadCounters implements [store.Spend.LoadCounters].
func (db *DB) LoadCounters(ctx context.Context) (map[string][]byte, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT key, state FROM counters")
	if err != nil {
		return nil, fmt.Errorf("sqlite: load counters: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var k string
		var b []byte
		if err := rows.Scan(&k, &b); err != nil {
			return nil, fmt.Errorf("sqlite: load counters: %w", err)
		}
		out[k] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: load counters: %w", err)
	}
	return out, nil
}

// tx runs fn in a write transaction on the writer connection.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Close implements [store.Keys.Close] and [store.Usage.Close]: it ends the
// watchers and closes the file. Calling it again does nothing.
func (db *DB) Close() error {
	var err error
	db.once.Do(func() {
		close(db.closed)
		err = errors.Join(db.r.Close(), db.w.Close())
		if err != nil {
			err = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return err
}
