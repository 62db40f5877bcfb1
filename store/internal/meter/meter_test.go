package meter

import (
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/store"
)

func TestBucketTicks(t *testing.T) {
	tests := []struct {
		name        string
		limit       int64
		window      time.Duration
		tick, scale int64
	}{
		{name: "per minute", limit: 1000, window: time.Minute, tick: 1, scale: 60000},
		{name: "sub-millisecond window", limit: 5, window: time.Microsecond, tick: 1, scale: 1},
		{name: "huge per day", limit: 1 << 40, window: 24 * time.Hour, tick: 84375, scale: 1024},
		{name: "at the bound", limit: maxBucket, window: time.Hour, tick: 3600000, scale: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tick, scale := BucketTicks(tt.limit, tt.window)
			if tick != tt.tick || scale != tt.scale {
				t.Errorf("BucketTicks = %d, %d; want %d, %d", tick, scale, tt.tick, tt.scale)
			}
			if tt.limit*scale > maxBucket {
				t.Errorf("limit × scale = %d exceeds 2^50", tt.limit*scale)
			}
		})
	}
}

func TestEncoding(t *testing.T) {
	slots := [Slots]int64{3: 7, 23: -1}
	for _, s := range []State{
		{Alg: store.Bucket, Limit: 10, Level: -5, Mark: 1715680800000, Scale: 10000, Tick: 1},
		{Alg: store.Calendar, Limit: 1 << 52, Level: 1 << 51, Mark: 1715644800000, Scale: 1715731200000},
		{Alg: store.Sliding, Limit: 3, Mark: 71486700, Scale: 1000, Slots: &slots},
	} {
		b := s.Append(nil)
		got, err := Decode(b)
		if err != nil || !reflect.DeepEqual(got, s) {
			t.Errorf("Decode(Append(%+v)) = %+v, %v", s, got, err)
		}
		for n := range len(b) {
			if _, err := Decode(b[:n]); err == nil {
				t.Errorf("Decode accepted %d of %d bytes of %+v", n, len(b), s)
			}
		}
	}
	for _, b := range [][]byte{nil, {2, 1, 0, 0, 0, 0, 0}, {1, 9, 0, 0, 0, 0, 0}, {1, 1, 0, 0, 0, 0, 0, 0}} {
		if _, err := Decode(b); err == nil {
			t.Errorf("Decode(%v) succeeded", b)
		}
	}
}
