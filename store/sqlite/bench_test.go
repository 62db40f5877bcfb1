package sqlite

import (
	"context"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

// BenchmarkWriteUsage writes usage records in batches of 1,000 (the
// recorder's MaxBatch: what it writes at high rates) and 10,000; ns/op is
// per record. The IDs come from store.RecordIDs, as the gateway's.
func BenchmarkWriteUsage(b *testing.B) {
	for _, size := range []int{1000, 10000} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) { benchWriteUsage(b, size) })
	}
}

func benchWriteUsage(b *testing.B, size int) {
	db := fresh(b)
	ctx := context.Background()
	now := time.Now()
	batch := make([]store.Record, size)
	ids := store.NewRecordIDs()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		i := n % len(batch)
		batch[i] = store.Record{ID: ids.Next(now), RequestID: strconv.FormatUint(rand.Uint64(), 36), Time: now, KeyID: "loadtest", Consumer: "loadtest",
			Route: "default.ai.0.0", Backend: "default/fake", Provider: "openai-compatible", Model: "gpt-4o-mini",
			InputTokens: 19, OutputTokens: 10, CostPico: 8850000, Status: 200, Latency: 1500 * time.Microsecond,
			TTFT: 1400 * time.Microsecond}
		n++
		if i == len(batch)-1 {
			if err := db.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
	}
}
