// Package postgres is the shared store of API keys and usage records: one
// PostgreSQL database that every replica uses, through a pgx connection
// pool. Key changes reach every replica's Watch by LISTEN/NOTIFY.
//
// Every call is bounded by Options.Timeout; an error of a database that
// cannot be reached (refused, reset, timed out, shutting down) wraps
// [store.ErrUnavailable]. Open fails when the database cannot be reached:
// the caller decides whether to retry. The schema (tables switchyard_keys,
// switchyard_usage and switchyard_schema) is created or migrated on Open,
// once across replicas that start together.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchyard-ai/switchyard/store"
)

// Options configure [Open]. Zero values take the defaults.
type Options struct {
	// Timeout bounds every call, connecting included (default 2s).
	Timeout time.Duration
	// MaxConns is the pool's size (default: pgxpool's, 4 or the CPU count).
	MaxConns int32
	// Log receives what the store reports, never the URL (default: slog.Default()).
	Log *slog.Logger
}

// DB is an open PostgreSQL store. It implements [store.Keys] and
// [store.Usage] and is safe for concurrent use.
type DB struct {
	pool    *pgxpool.Pool
	timeout time.Duration
	log     *slog.Logger
	closed  chan struct{}
	once    sync.Once
}

var (
	_ store.Keys  = (*DB)(nil)
	_ store.Usage = (*DB)(nil)
)

// Open connects to the database at url (postgres://...), checks that it
// answers and creates or migrates the schema. An unreachable database
// fails at once with an error that wraps [store.ErrUnavailable]. Errors
// never quote url, which may hold a password.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors quote the URL, password masked on a best-effort basis only.
		return nil, errors.New("postgres: open: the database URL does not parse (not shown: it may hold a password)")
	}
	cfg.ConnConfig.ConnectTimeout = opts.Timeout
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap("open", err)
	}
	db := &DB{pool: pool, timeout: opts.Timeout, log: opts.Log, closed: make(chan struct{})}
	cctx, cancel := db.bound(ctx)
	defer cancel()
	if err := pool.Ping(cctx); err != nil {
		pool.Close()
		return nil, wrap("open", err)
	}
	if err := db.migrate(cctx); err != nil {
		pool.Close()
		return nil, wrap("open: migrate", err)
	}
	return db, nil
}

// migrations are applied in order, each once; switchyard_schema records
// which ran. A released migration never changes: a new one is appended.
var migrations = []string{
	`CREATE TABLE switchyard_keys (
		id         text PRIMARY KEY,
		hash       text NOT NULL UNIQUE,
		prefix     text NOT NULL,
		name       text NOT NULL DEFAULT '',
		consumer   text NOT NULL,
		models     text[] NOT NULL DEFAULT '{}',
		expires_at timestamptz,
		created_at timestamptz NOT NULL,
		revoked_at timestamptz,
		source     text NOT NULL DEFAULT ''
	);
	CREATE INDEX switchyard_keys_consumer ON switchyard_keys (consumer);
	CREATE TABLE switchyard_usage (
		id               text PRIMARY KEY,
		time             timestamptz NOT NULL,
		day              date NOT NULL,
		key_id           text NOT NULL DEFAULT '',
		consumer         text NOT NULL DEFAULT '',
		team             text NOT NULL DEFAULT '',
		route            text NOT NULL DEFAULT '',
		backend          text NOT NULL DEFAULT '',
		provider         text NOT NULL DEFAULT '',
		model            text NOT NULL DEFAULT '',
		input_tokens     bigint NOT NULL DEFAULT 0,
		output_tokens    bigint NOT NULL DEFAULT 0,
		cached_tokens    bigint NOT NULL DEFAULT 0,
		reasoning_tokens bigint NOT NULL DEFAULT 0,
		cost_pico        bigint NOT NULL DEFAULT 0,
		status           integer NOT NULL DEFAULT 0,
		latency_ns       bigint NOT NULL DEFAULT 0,
		ttft_ns          bigint NOT NULL DEFAULT 0,
		estimated        boolean NOT NULL DEFAULT false
	);
	CREATE INDEX switchyard_usage_time ON switchyard_usage (time);
	CREATE INDEX switchyard_usage_consumer_time ON switchyard_usage (consumer, time);`,
	`ALTER TABLE switchyard_usage ADD COLUMN request_id text NOT NULL DEFAULT '';`,
}

// schemaLock is the advisory lock that serializes migrations across
// replicas (an arbitrary constant: "switchyard" in ASCII, truncated).
const schemaLock = 0x7377697463687961

// migrate applies the migrations not yet applied, in one transaction.
func (db *DB) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(schemaLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS switchyard_schema (
			version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var v int
		if err := tx.QueryRow(ctx, "SELECT COALESCE(max(version), 0) FROM switchyard_schema").Scan(&v); err != nil {
			return err
		}
		if v > len(migrations) {
			return fmt.Errorf("schema version %d is newer than this build's %d", v, len(migrations))
		}
		for ; v < len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("to version %d: %w", v+1, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO switchyard_schema (version) VALUES ($1)", v+1); err != nil {
				return fmt.Errorf("to version %d: %w", v+1, err)
			}
		}
		return nil
	})
}

// bound limits ctx to the store's Timeout.
func (db *DB) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.timeout)
}

// wrap gives err the operation's context, and store.ErrUnavailable when it
// means the database cannot be reached.
func wrap(op string, err error) error {
	if unavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailable reports whether err means the database cannot be reached, as
// opposed to refusing what was asked.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-03: shutting down or
		// starting; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "53300" ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// Close implements [store.Keys.Close] and [store.Usage.Close]: it ends the
// watchers and closes the pool. Calling it again does nothing.
func (db *DB) Close() error {
	db.once.Do(func() {
		close(db.closed)
		db.pool.Close()
	})
	return nil
}
