package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/switchyard-ai/switchyard/store"
)

// Write implements [store.Usage.Write]: one transaction, a record whose ID
// is already stored is skipped. Records go in rowsPerInsert at a time, one
// multi-row INSERT each: a statement per record cost more in database/sql
// and the VDBE than the rows themselves.
func (db *DB) Write(ctx context.Context, batch []store.Record) error {
	if len(batch) == 0 {
		return nil
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, usageColumns*min(len(batch), rowsPerInsert))
		var full *sql.Stmt
		defer func() {
			if full != nil {
				full.Close()
			}
		}()
		for len(batch) > 0 {
			n := min(len(batch), rowsPerInsert)
			args = args[:0]
			for i := range batch[:n] {
				r := &batch[i]
				args = append(args, r.ID, r.Time.UnixNano(), r.Time.UTC().Format(dayLayout),
					r.KeyID, r.Consumer, r.Team, r.Route, r.Backend, r.Provider, r.Model,
					r.InputTokens, r.OutputTokens, r.CachedTokens, r.ReasoningTokens, r.CostPico,
					r.Status, int64(r.Latency), int64(r.TTFT), r.Estimated, r.RequestID)
			}
			var err error
			if n == rowsPerInsert {
				if full == nil {
					if full, err = tx.PrepareContext(ctx, insertUsageFull); err != nil {
						return err
					}
				}
				_, err = full.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, insertUsage(n), args...)
			}
			if err != nil {
				return fmt.Errorf("records %s to %s: %w", batch[0].ID, batch[n-1].ID, err)
			}
			batch = batch[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: write usage: %w", err)
	}
	return nil
}

// usageColumns is the number of columns Write sets per record;
// rowsPerInsert the records per INSERT (20 × 64 = 1,280 parameters, far
// below SQLite's limit of 32,766).
const (
	usageColumns  = 20
	rowsPerInsert = 64
)

// insertUsageFull inserts rowsPerInsert records.
var insertUsageFull = insertUsage(rowsPerInsert)

// insertUsage returns the INSERT of n records.
func insertUsage(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR IGNORE INTO usage (id, time, day, key_id, consumer, team,
			route, backend, provider, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
			cost_pico, status, latency_ns, ttft_ns, estimated, request_id) VALUES `)
	row := "(" + strings.Repeat("?, ", usageColumns-1) + "?)"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// dayLayout is how a "day" group reads: the record's UTC date.
const dayLayout = "2006-01-02"

// groupColumns maps the GroupBy names to fixed column expressions; a name
// that is not here is refused, so user input never reaches the SQL text.
var groupColumns = map[string]string{
	"consumer": "consumer",
	"team":     "team",
	"model":    "model",
	"key":      "key_id",
	"route":    "route",
	"backend":  "backend",
	"provider": "provider",
	"day":      "day",
}

// Query implements [store.Usage.Query]: rows are ordered by their group
// values. An unknown GroupBy name is a [store.ErrBadQuery].
func (db *DB) Query(ctx context.Context, q store.Query) ([]store.Row, error) {
	text, args, err := buildQuery(q)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query usage: %w", err)
	}
	rows, err := db.r.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query usage: %w", err)
	}
	defer rows.Close()
	var out []store.Row
	for rows.Next() {
		row := store.Row{Group: make([]string, len(q.GroupBy))}
		dest := make([]any, 0, len(q.GroupBy)+6)
		for i := range row.Group {
			dest = append(dest, &row.Group[i])
		}
		dest = append(dest, &row.Requests, &row.InputTokens, &row.OutputTokens, &row.CachedTokens,
			&row.ReasoningTokens, &row.CostPico)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("sqlite: query usage: %w", err)
		}
		if len(row.Group) == 0 {
			row.Group = nil
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: query usage: %w", err)
	}
	return out, nil
}

// buildQuery turns q into SQL text made only of fixed pieces, and its
// arguments.
func buildQuery(q store.Query) (string, []any, error) {
	var sel, where []string
	var args []any
	for _, g := range q.GroupBy {
		col, ok := groupColumns[g]
		if !ok {
			return "", nil, fmt.Errorf("%w: unknown groupBy %q (want consumer, team, model, key, route, backend, provider or day)",
				store.ErrBadQuery, g)
		}
		sel = append(sel, col)
	}
	for _, f := range []struct {
		col string
		v   string
	}{{"consumer", q.Consumer}, {"team", q.Team}, {"model", q.Model}, {"key_id", q.KeyID}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	if !q.From.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where = append(where, "time < ?")
		args = append(args, q.To.UnixNano())
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for _, c := range sel {
		b.WriteString(c + ", ")
	}
	b.WriteString(`COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0),
		COALESCE(SUM(cached_tokens), 0), COALESCE(SUM(reasoning_tokens), 0), COALESCE(SUM(cost_pico), 0) FROM usage`)
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	if len(sel) > 0 {
		b.WriteString(" GROUP BY " + strings.Join(sel, ", ") + " ORDER BY " + strings.Join(sel, ", "))
	}
	return b.String(), args, nil
}
