package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchyard-ai/switchyard/store"
)

// insertUsage inserts a whole batch in one statement: one array per
// column, unnested into rows; a record whose id is stored is skipped.
const insertUsage = `INSERT INTO switchyard_usage (id, time, day, key_id, consumer, team, route, backend,
		provider, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_pico, status,
		latency_ns, ttft_ns, estimated, request_id)
	SELECT id, t, (t AT TIME ZONE 'UTC')::date, key_id, consumer, team, route, backend,
		provider, model, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_pico, status,
		latency_ns, ttft_ns, estimated, request_id
	FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		$8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[],
		$15::integer[], $16::bigint[], $17::bigint[], $18::boolean[], $19::text[])
		AS u(id, t, key_id, consumer, team, route, backend, provider, model, input_tokens, output_tokens,
		cached_tokens, reasoning_tokens, cost_pico, status, latency_ns, ttft_ns, estimated, request_id)
	ON CONFLICT (id) DO NOTHING`

// Write implements [store.Usage.Write]: one statement, so all of the batch
// or none; records already stored are skipped.
func (db *DB) Write(ctx context.Context, batch []store.Record) error {
	if len(batch) == 0 {
		return nil
	}
	// One array per column, in insertUsage's order.
	n := len(batch)
	text := func() [][]string {
		cols := make([][]string, 9)
		for i := range cols {
			cols[i] = make([]string, n)
		}
		return cols
	}()
	ints := make([][]int64, 7)
	for i := range ints {
		ints[i] = make([]int64, n)
	}
	times, status, estimated := make([]time.Time, n), make([]int32, n), make([]bool, n)
	for i := range batch {
		r := &batch[i]
		for c, v := range [...]string{r.ID, r.KeyID, r.Consumer, r.Team, r.Route, r.Backend, r.Provider, r.Model, r.RequestID} {
			text[c][i] = v
		}
		for c, v := range [...]int64{r.InputTokens, r.OutputTokens, r.CachedTokens, r.ReasoningTokens, r.CostPico,
			int64(r.Latency), int64(r.TTFT)} {
			ints[c][i] = v
		}
		times[i], status[i], estimated[i] = r.Time, int32(r.Status), r.Estimated
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	if _, err := db.pool.Exec(ctx, insertUsage, text[0], times, text[1], text[2], text[3], text[4], text[5],
		text[6], text[7], ints[0], ints[1], ints[2], ints[3], ints[4], status, ints[5], ints[6], estimated, text[8]); err != nil {
		return wrap("write usage", err)
	}
	return nil
}

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
	"day":      "to_char(day, 'YYYY-MM-DD')",
}

// Query implements [store.Usage.Query]: rows are ordered by their group
// values, bytewise. An unknown GroupBy name is a [store.ErrBadQuery].
func (db *DB) Query(ctx context.Context, q store.Query) ([]store.Row, error) {
	text, args, err := buildQuery(q)
	if err != nil {
		return nil, fmt.Errorf("postgres: query usage: %w", err)
	}
	ctx, cancel := db.bound(ctx)
	defer cancel()
	rows, err := db.pool.Query(ctx, text, args...)
	if err != nil {
		return nil, wrap("query usage", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Row, error) {
		row := store.Row{Group: make([]string, len(q.GroupBy))}
		dest := make([]any, 0, len(q.GroupBy)+6)
		for i := range row.Group {
			dest = append(dest, &row.Group[i])
		}
		dest = append(dest, &row.Requests, &row.InputTokens, &row.OutputTokens, &row.CachedTokens,
			&row.ReasoningTokens, &row.CostPico)
		err := r.Scan(dest...)
		if len(row.Group) == 0 {
			row.Group = nil
		}
		return row, err
	})
	if err != nil {
		return nil, wrap("query usage", err)
	}
	if len(out) == 0 {
		out = nil
	}
	return out, nil
}

// buildQuery turns q into SQL text made only of fixed pieces, and its
// arguments.
func buildQuery(q store.Query) (string, []any, error) {
	var sel, order, where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	for _, g := range q.GroupBy {
		col, ok := groupColumns[g]
		if !ok {
			return "", nil, fmt.Errorf("%w: unknown groupBy %q (want consumer, team, model, key, route, backend, provider or day)",
				store.ErrBadQuery, g)
		}
		sel = append(sel, col)
		order = append(order, col+` COLLATE "C"`)
	}
	for _, f := range []struct {
		col string
		v   string
	}{{"consumer", q.Consumer}, {"team", q.Team}, {"model", q.Model}, {"key_id", q.KeyID}} {
		if f.v != "" {
			where = append(where, f.col+" = "+arg(f.v))
		}
	}
	if !q.From.IsZero() {
		where = append(where, "time >= "+arg(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, "time < "+arg(q.To))
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for _, c := range sel {
		b.WriteString(c + ", ")
	}
	b.WriteString(`count(*), COALESCE(sum(input_tokens), 0)::bigint, COALESCE(sum(output_tokens), 0)::bigint,
		COALESCE(sum(cached_tokens), 0)::bigint, COALESCE(sum(reasoning_tokens), 0)::bigint,
		COALESCE(sum(cost_pico), 0)::bigint FROM switchyard_usage`)
	if len(where) > 0 {
		b.WriteString(" WHERE " + strings.Join(where, " AND "))
	}
	if len(sel) > 0 {
		b.WriteString(" GROUP BY " + strings.Join(sel, ", ") + " ORDER BY " + strings.Join(order, ", "))
	}
	return b.String(), args, nil
}
