package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

// Write implements [store.Usage.Write]: the batch becomes one row of
// usage_batches (see usagecodec.go), in one transaction. A record whose ID
// is already stored is skipped: the batches whose id range overlaps this
// one's are read for their ids first. The recorder names records in the
// order it buffers them, so its batches follow one another and the
// overlap query finds nothing; only a replayed or repeated batch pays for
// the ids it must compare.
func (db *DB) Write(ctx context.Context, batch []store.Record) error {
	if len(batch) == 0 {
		return nil
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		lo, hi := idRange(batch)
		seen, err := storedIDs(ctx, tx, lo, hi)
		if err != nil {
			return err
		}
		if seen == nil && increasing(batch) {
			return insertBatch(ctx, tx, batch) // nothing stored, no repeats
		}
		if seen == nil {
			seen = make(map[string]struct{}, len(batch))
		}
		fresh := make([]store.Record, 0, len(batch))
		for i := range batch {
			if _, dup := seen[batch[i].ID]; dup {
				continue
			}
			seen[batch[i].ID] = struct{}{}
			fresh = append(fresh, batch[i])
		}
		return insertBatch(ctx, tx, fresh)
	})
	if err != nil {
		return fmt.Errorf("sqlite: write usage: %w", err)
	}
	return nil
}

// increasing reports whether the records' ids strictly increase (so none
// repeats).
func increasing(recs []store.Record) bool {
	for i := 1; i < len(recs); i++ {
		if recs[i].ID <= recs[i-1].ID {
			return false
		}
	}
	return true
}

// storedIDs returns the stored ids in [lo, hi], read from the batches
// whose id range overlaps it; nil when no batch does.
func storedIDs(ctx context.Context, tx *sql.Tx, lo, hi string) (map[string]struct{}, error) {
	rows, err := tx.QueryContext(ctx, `SELECT min_time, data FROM usage_batches WHERE max_id >= ? AND min_id <= ?`, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var seen map[string]struct{}
	for rows.Next() {
		var base int64
		var data []byte
		if err := rows.Scan(&base, &data); err != nil {
			return nil, err
		}
		br, err := newBatchReader(data, base)
		if err != nil {
			return nil, err
		}
		if seen == nil {
			seen = map[string]struct{}{}
		}
		var r store.Record
		for br.next(&r, true) {
			if r.ID >= lo && r.ID <= hi {
				seen[r.ID] = struct{}{}
			}
		}
		if br.err != nil {
			return nil, br.err
		}
	}
	return seen, rows.Err()
}

func idRange(recs []store.Record) (lo, hi string) {
	lo, hi = recs[0].ID, recs[0].ID
	for i := range recs[1:] {
		lo, hi = min(lo, recs[i+1].ID), max(hi, recs[i+1].ID)
	}
	return lo, hi
}

// insertBatch stores recs as one row (nothing when recs is empty).
func insertBatch(ctx context.Context, tx *sql.Tx, recs []store.Record) error {
	if len(recs) == 0 {
		return nil
	}
	lo, hi := idRange(recs)
	tmin, tmax := recs[0].Time.UnixNano(), recs[0].Time.UnixNano()
	for i := range recs[1:] {
		t := recs[i+1].Time.UnixNano()
		tmin, tmax = min(tmin, t), max(tmax, t)
	}
	data := compressBatch(encodeBatch(make([]byte, 0, 64*len(recs)), recs, tmin))
	if _, err := tx.ExecContext(ctx, `INSERT INTO usage_batches (min_id, max_id, min_time, max_time, records, data)
		VALUES (?, ?, ?, ?, ?, ?)`, lo, hi, tmin, tmax, len(recs), data); err != nil {
		return fmt.Errorf("records %s to %s: %w", lo, hi, err)
	}
	return nil
}

// dayLayout is how a "day" group reads: the record's UTC date.
const dayLayout = "2006-01-02"

// groupValue returns the group column name's value for r; ok is false for
// a name that is not a column.
func groupValue(r *store.Record, name string) (v string, ok bool) {
	switch name {
	case "consumer":
		return r.Consumer, true
	case "team":
		return r.Team, true
	case "model":
		return r.Model, true
	case "key":
		return r.KeyID, true
	case "route":
		return r.Route, true
	case "backend":
		return r.Backend, true
	case "provider":
		return r.Provider, true
	case "day":
		return r.Time.Format(dayLayout), true
	}
	return "", false
}

// Query implements [store.Usage.Query]: it reads the batches that overlap
// the time range and sums their matching records; rows are ordered by their
// group values. An unknown GroupBy name is a [store.ErrBadQuery].
func (db *DB) Query(ctx context.Context, q store.Query) ([]store.Row, error) {
	for _, g := range q.GroupBy {
		if _, ok := groupValue(&store.Record{}, g); !ok {
			return nil, fmt.Errorf("sqlite: query usage: %w: unknown groupBy %q (want consumer, team, model, key, route, backend, provider or day)",
				store.ErrBadQuery, g)
		}
	}
	text, args := "SELECT min_time, data FROM usage_batches", []any{}
	var where []string
	if !q.From.IsZero() {
		where, args = append(where, "max_time >= ?"), append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where, args = append(where, "min_time < ?"), append(args, q.To.UnixNano())
	}
	if len(where) > 0 {
		text += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := db.r.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query usage: %w", err)
	}
	defer rows.Close()
	sum := newSummer(q)
	for rows.Next() {
		var base int64
		var data []byte
		if err := rows.Scan(&base, &data); err != nil {
			return nil, fmt.Errorf("sqlite: query usage: %w", err)
		}
		if err := sum.batch(data, base); err != nil {
			return nil, fmt.Errorf("sqlite: query usage: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: query usage: %w", err)
	}
	return sum.rows(), nil
}

// summer adds up the records a query selects, by group.
type summer struct {
	q      store.Query
	groups map[string]*store.Row
	key    []byte
}

func newSummer(q store.Query) *summer {
	return &summer{q: q, groups: map[string]*store.Row{}}
}

func (s *summer) batch(data []byte, base int64) error {
	br, err := newBatchReader(data, base)
	if err != nil {
		return err
	}
	var r store.Record
	for br.next(&r, false) {
		if s.selects(&r) {
			s.add(&r)
		}
	}
	return br.err
}

func (s *summer) selects(r *store.Record) bool {
	q := &s.q
	return (q.Consumer == "" || r.Consumer == q.Consumer) && (q.Team == "" || r.Team == q.Team) &&
		(q.Model == "" || r.Model == q.Model) && (q.KeyID == "" || r.KeyID == q.KeyID) &&
		(q.From.IsZero() || !r.Time.Before(q.From)) && (q.To.IsZero() || r.Time.Before(q.To))
}

func (s *summer) add(r *store.Record) {
	s.key = s.key[:0]
	for _, g := range s.q.GroupBy {
		v, _ := groupValue(r, g)
		s.key = append(append(s.key, v...), 0)
	}
	row := s.groups[string(s.key)]
	if row == nil {
		row = &store.Row{}
		for _, g := range s.q.GroupBy {
			v, _ := groupValue(r, g)
			row.Group = append(row.Group, v)
		}
		s.groups[string(s.key)] = row
	}
	row.Requests++
	row.InputTokens += r.InputTokens
	row.OutputTokens += r.OutputTokens
	row.CachedTokens += r.CachedTokens
	row.ReasoningTokens += r.ReasoningTokens
	row.CostPico += r.CostPico
}

// rows returns the groups in order; with no GroupBy, always one total row.
func (s *summer) rows() []store.Row {
	if len(s.q.GroupBy) == 0 {
		if row := s.groups[""]; row != nil {
			return []store.Row{*row}
		}
		return []store.Row{{}}
	}
	var out []store.Row
	for _, row := range s.groups {
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b store.Row) int { return slices.Compare(a.Group, b.Group) })
	return out
}

// moveUsageRows moves the rows of schema version 1's usage table (one row
// per record) into usage_batches, 1,000 at a time, and drops the table.
func moveUsageRows(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, time, key_id, consumer, team, route, backend, provider, model,
		input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_pico, status, latency_ns, ttft_ns, estimated
		FROM usage ORDER BY id`)
	if err != nil {
		return fmt.Errorf("read version 1 usage: %w", err)
	}
	var all []store.Record
	for rows.Next() {
		var r store.Record
		var t, lat, ttft int64
		if err := rows.Scan(&r.ID, &t, &r.KeyID, &r.Consumer, &r.Team, &r.Route, &r.Backend, &r.Provider, &r.Model,
			&r.InputTokens, &r.OutputTokens, &r.CachedTokens, &r.ReasoningTokens, &r.CostPico, &r.Status,
			&lat, &ttft, &r.Estimated); err != nil {
			rows.Close()
			return fmt.Errorf("read version 1 usage: %w", err)
		}
		r.Time, r.Latency, r.TTFT = time.Unix(0, t).UTC(), time.Duration(lat), time.Duration(ttft)
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read version 1 usage: %w", err)
	}
	for chunk := range slices.Chunk(all, 1000) {
		if err := insertBatch(ctx, tx, chunk); err != nil {
			return fmt.Errorf("move version 1 usage: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE usage"); err != nil {
		return fmt.Errorf("drop version 1 usage: %w", err)
	}
	return nil
}
