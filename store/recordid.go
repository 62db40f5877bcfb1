package store

import (
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// RecordIDs makes usage record IDs: 16 hex digits of a nanosecond clock
// that never repeats or goes back within the process, then 8 hex digits
// naming the process, so that replicas sharing a database never collide.
// IDs made later sort later (within a process), so inserts append to the
// table's primary-key index instead of splitting pages all over it: on a
// table of 300,000 records, random IDs made SQLite inserts five times
// slower.
type RecordIDs struct {
	last atomic.Int64
	node [8]byte
}

// NewRecordIDs returns a generator with a random process part.
func NewRecordIDs() *RecordIDs {
	g := &RecordIDs{}
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	hex.Encode(g.node[:], b[:])
	return g
}

// Next returns a new ID for a record made at now. It is safe for
// concurrent use.
func (g *RecordIDs) Next(now time.Time) string {
	n := now.UnixNano()
	for {
		last := g.last.Load()
		if n <= last {
			n = last + 1
		}
		if g.last.CompareAndSwap(last, n) {
			break
		}
	}
	var buf [24]byte
	var ts [8]byte
	for i := range ts {
		ts[i] = byte(uint64(n) >> (56 - 8*i))
	}
	hex.Encode(buf[:16], ts[:])
	copy(buf[16:], g.node[:])
	return string(buf[:])
}
