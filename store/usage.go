package store

import (
	"context"
	"errors"
	"time"
)

// ErrBadQuery is returned by Query for a query it cannot run, such as an
// unknown GroupBy name.
var ErrBadQuery = errors.New("bad usage query")

// Record is the usage of one request.
type Record struct {
	// ID identifies the record: unique, assigned by the gateway (never by
	// the client; the Recorder names a record that has none) and increasing
	// with time, so that inserts append to the table's index. Writing a
	// record twice keeps one.
	ID string `json:"id"`
	// RequestID is the exchange's request id (the x-request-id the client
	// sent or the gateway made), to join a record with the access log. It
	// is not unique: a client may reuse it.
	RequestID string    `json:"requestId,omitempty"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key,omitempty"`
	Consumer  string    `json:"consumer,omitempty"`
	Team      string    `json:"team,omitempty"`
	Route     string    `json:"route,omitempty"`
	Backend   string    `json:"backend,omitempty"`
	Provider  string    `json:"provider,omitempty"`
	Model     string    `json:"model,omitempty"`
	// Tokens.
	InputTokens     int64 `json:"inputTokens"`
	OutputTokens    int64 `json:"outputTokens"`
	CachedTokens    int64 `json:"cachedTokens"`
	ReasoningTokens int64 `json:"reasoningTokens"`
	// CostPico is the cost in picodollars (1e-12 USD).
	CostPico int64 `json:"costPico"`
	Status   int   `json:"status"`
	// Latency is the whole exchange; TTFT the time to the first byte (0: none).
	Latency time.Duration `json:"latencyNs"`
	TTFT    time.Duration `json:"ttftNs"`
	// Estimated is true when the upstream did not report usage and the gateway estimated it.
	Estimated bool `json:"estimated"`
}

// Query selects and groups usage records.
type Query struct {
	Consumer, Team, Model, KeyID string
	// From (inclusive) and To (exclusive); zero means unbounded.
	From, To time.Time
	// GroupBy names the columns to group by: "consumer", "team", "model",
	// "key", "route", "backend", "provider", "day". Empty: one total row.
	GroupBy []string
}

// Row is one group of usage records.
type Row struct {
	// Group holds the GroupBy columns' values, in order.
	Group           []string `json:"group,omitempty"`
	Requests        int64    `json:"requests"`
	InputTokens     int64    `json:"inputTokens"`
	OutputTokens    int64    `json:"outputTokens"`
	CachedTokens    int64    `json:"cachedTokens"`
	ReasoningTokens int64    `json:"reasoningTokens"`
	CostPico        int64    `json:"costPico"`
}

// Usage stores usage records. Write takes a batch (the batching writer in
// this package, [Recorder], calls it), stores all of it or none, is
// idempotent by record ID and does not keep the slice.
type Usage interface {
	Write(ctx context.Context, batch []Record) error
	Query(ctx context.Context, q Query) ([]Row, error)
	Close() error
}

// Spend persists counter state for an embedded store, so that a restart
// keeps what was spent: Save writes the given counters' raw state (nil:
// the counter is idle, delete it), Load returns all of it. The memory Counters save dirty counters about once a
// second, which bounds what a crash loses.
type Spend interface {
	SaveCounters(ctx context.Context, states map[string][]byte) error
	LoadCounters(ctx context.Context) (map[string][]byte, error)
}
