package sqlite

import (
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

func TestBatchCodecRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	recs := []store.Record{
		{ID: "a", RequestID: "req-1", Time: t0, KeyID: "k", Consumer: "alice", Team: "t", Route: "r", Backend: "b",
			Provider: "openai", Model: "gpt-4o", InputTokens: 10, OutputTokens: 20, CachedTokens: 3, ReasoningTokens: 4,
			CostPico: 1 << 50, Status: 200, Latency: time.Second, TTFT: time.Millisecond, Estimated: true},
		{ID: "b", Time: t0.Add(-time.Hour), Consumer: "bob", Model: "gpt-4o", InputTokens: -1, Status: 429},
		{ID: "c", RequestID: "same", Time: t0.Add(time.Nanosecond)},
		// Back to earlier strings, then a repeat of the record before.
		{ID: "d", Time: t0, Consumer: "alice", Route: "r", Model: "gpt-4o", Provider: "openai"},
		{ID: "e", Time: t0, Consumer: "alice", Route: "r", Model: "gpt-4o", Provider: "openai"},
		{ID: "f", Time: t0, Consumer: "bob", KeyID: "alice", Model: "r"},
	}
	plain := encodeBatch(nil, recs, t0.Add(-time.Hour).UnixNano())
	for _, data := range [][]byte{plain, compressBatch(plain)} {
		br, err := newBatchReader(data, t0.Add(-time.Hour).UnixNano())
		if err != nil {
			t.Fatalf("version %d: %v", data[0], err)
		}
		var got []store.Record
		var r store.Record
		for br.next(&r, true) {
			got = append(got, r)
		}
		if br.err != nil {
			t.Fatalf("version %d: %v", data[0], br.err)
		}
		if !reflect.DeepEqual(got, recs) {
			t.Errorf("version %d round trip\n got %+v\nwant %+v", data[0], got, recs)
		}
	}
}

func TestBatchCodecCorrupt(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	good := encodeBatch(nil, []store.Record{{ID: "a", Time: t0, Consumer: "alice"}, {ID: "b", Time: t0}}, t0.UnixNano())
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, good[1:]...)},
		{"huge dictionary", []byte{batchVersion, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"truncated", good[:len(good)-3]},
		{"compressed, truncated", func() []byte { c := compressBatch(good); return c[:len(c)-2] }()},
		{"compressed, not S2", []byte{batchCompressed, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3}},
		{"compressed, too large", append([]byte{batchCompressed}, binary.AppendUvarint(nil, maxBatchBytes+1)...)},
		{"compressed, body truncated", compressBatch(good[:len(good)-3])},
		{"bad dictionary index", func() []byte {
			b := encodeBatch(nil, []store.Record{{ID: "a", Time: t0}}, t0.UnixNano())
			// version, 1 string (""), 1 record, id "a", request id "", time 0, then the first index.
			b[8] = 7
			return b
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br, err := newBatchReader(tc.data, t0.UnixNano())
			if err == nil {
				var r store.Record
				for br.next(&r, true) {
				}
				err = br.err
			}
			if !errors.Is(err, errCorrupt) {
				t.Errorf("decoding %x: err = %v, want errCorrupt", tc.data, err)
			}
		})
	}
}

func FuzzBatchReader(f *testing.F) {
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	seed := encodeBatch(nil, []store.Record{{ID: "a", Time: t0, Consumer: "alice", InputTokens: 5}}, t0.UnixNano())
	f.Add(seed)
	f.Add(compressBatch(seed))
	f.Fuzz(func(t *testing.T, data []byte) {
		br, err := newBatchReader(data, 0)
		if err != nil {
			return
		}
		var r store.Record
		for br.next(&r, true) {
		}
	})
}
