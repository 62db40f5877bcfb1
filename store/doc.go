// Package store holds state that must outlive a request: API keys, limit and
// budget counters, usage records. Each kind of state sits behind a small
// interface with an embedded implementation (memory counters persisted to a
// SQLite file) and shared ones (Redis counters, PostgreSQL keys and usage),
// so one node needs nothing installed and many replicas share exact limits.
package store
