package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/switchyard-ai/switchyard/store"
)

// A usage batch is stored as one row whose data column holds the batch's
// records in this compact encoding: a version byte; a dictionary of the
// strings records repeat (key, consumer, team, route, backend, provider,
// model); then each record as its id and request id, its time as a delta
// from the batch's first time, seven dictionary indexes and its numbers as
// varints. One row and one bound value per batch instead of one row and 20
// values per record: the pure-Go SQLite spent about 8 us binding and
// inserting each record, most of the embedded store's cost at high rates.
//
// Version 2 is version 1's body (all but its version byte) compressed with
// S2: the ids do not repeat but share most of their digits, and SQLite's
// cost (the row, its write-ahead log frames, the checkpoint) grows with the
// bytes: a batch of the load tests' records is 2.8 times smaller for about
// 36 ns of compression per record. Readers take both versions.
const (
	batchVersion    = 1
	batchCompressed = 2
)

// maxBatchBytes bounds a compressed batch's decoded size (a batch of 10,000
// records is under 1 MiB).
const maxBatchBytes = 64 << 20

// compressBatch returns a version-1 encoding as version 2.
func compressBatch(v1 []byte) []byte {
	out := make([]byte, 1+s2.MaxEncodedLen(len(v1)-1))
	out[0] = batchCompressed
	// out has room for any encoding: Encode writes it at out[1:].
	return out[:1+len(s2.Encode(out[1:], v1[1:]))]
}

// dims are the repeated string fields of a record, in encoding order.
func dims(r *store.Record) [7]*string {
	return [7]*string{&r.KeyID, &r.Consumer, &r.Team, &r.Route, &r.Backend, &r.Provider, &r.Model}
}

// dictionary numbers a batch's repeated strings. Consecutive records mostly
// share them (the same route, backend, consumer), so each field remembers
// its last string and index and is looked up in the map only on a change.
type dictionary struct {
	index   map[string]uint64
	strings []string
	last    [7]string
	lastIdx [7]uint64
	seen    [7]bool
}

// lookup returns field j's index for s, adding s to the dictionary if new.
func (d *dictionary) lookup(j int, s string) uint64 {
	if d.seen[j] && d.last[j] == s {
		return d.lastIdx[j]
	}
	i, ok := d.index[s]
	if !ok {
		i = uint64(len(d.strings))
		d.index[s] = i
		d.strings = append(d.strings, s)
	}
	d.last[j], d.lastIdx[j], d.seen[j] = s, i, true
	return i
}

// encodeBatch appends the encoding of recs (not empty) to buf; base is the
// time deltas' origin.
func encodeBatch(buf []byte, recs []store.Record, base int64) []byte {
	d := dictionary{index: make(map[string]uint64, 16)}
	for i := range recs {
		for j, s := range dims(&recs[i]) {
			d.lookup(j, *s)
		}
	}
	dict := d.strings
	buf = append(buf, batchVersion)
	buf = binary.AppendUvarint(buf, uint64(len(dict)))
	for _, s := range dict {
		buf = appendString(buf, s)
	}
	buf = binary.AppendUvarint(buf, uint64(len(recs)))
	for i := range recs {
		r := &recs[i]
		buf = appendString(buf, r.ID)
		buf = appendString(buf, r.RequestID)
		buf = binary.AppendVarint(buf, r.Time.UnixNano()-base)
		for j, s := range dims(r) {
			buf = binary.AppendUvarint(buf, d.lookup(j, *s))
		}
		for _, n := range [...]int64{r.InputTokens, r.OutputTokens, r.CachedTokens, r.ReasoningTokens, r.CostPico,
			int64(r.Status), int64(r.Latency), int64(r.TTFT)} {
			buf = binary.AppendVarint(buf, n)
		}
		est := byte(0)
		if r.Estimated {
			est = 1
		}
		buf = append(buf, est)
	}
	return buf
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// errCorrupt is returned for data that is not a valid batch encoding.
var errCorrupt = errors.New("corrupt usage batch")

// batchReader decodes a batch's records one at a time.
type batchReader struct {
	data []byte
	base int64
	dict []string
	left uint64
	err  error
}

// newBatchReader reads the header of data.
func newBatchReader(data []byte, base int64) (*batchReader, error) {
	br := &batchReader{data: data, base: base}
	switch {
	case len(data) == 0:
		return nil, fmt.Errorf("%w: empty", errCorrupt)
	case data[0] == batchVersion:
		br.data = data[1:]
	case data[0] == batchCompressed:
		n, err := s2.DecodedLen(data[1:])
		if err != nil || n > maxBatchBytes {
			return nil, fmt.Errorf("%w: compressed body", errCorrupt)
		}
		if br.data, err = s2.Decode(nil, data[1:]); err != nil {
			return nil, fmt.Errorf("%w: compressed body: %v", errCorrupt, err)
		}
	default:
		return nil, fmt.Errorf("%w: unknown version", errCorrupt)
	}
	n := br.uvarint()
	if n > uint64(len(br.data)) {
		return nil, fmt.Errorf("%w: dictionary of %d strings", errCorrupt, n)
	}
	br.dict = make([]string, n)
	for i := range br.dict {
		br.dict[i] = br.string()
	}
	br.left = br.uvarint()
	if br.err != nil {
		return nil, br.err
	}
	return br, nil
}

// next decodes the next record into r; it returns false at the end or on
// an error (see err). Without ids, r.ID and r.RequestID are left empty,
// which spares two allocations per record when a query sums records.
func (br *batchReader) next(r *store.Record, ids bool) bool {
	if br.left == 0 || br.err != nil {
		return false
	}
	br.left--
	if ids {
		r.ID, r.RequestID = br.string(), br.string()
	} else {
		br.skip()
		br.skip()
	}
	r.Time = time.Unix(0, br.base+br.varint()).UTC()
	for _, s := range dims(r) {
		i := br.uvarint()
		if i >= uint64(len(br.dict)) {
			br.fail("dictionary index")
			return false
		}
		*s = br.dict[i]
	}
	r.InputTokens, r.OutputTokens, r.CachedTokens, r.ReasoningTokens = br.varint(), br.varint(), br.varint(), br.varint()
	r.CostPico, r.Status = br.varint(), int(br.varint())
	r.Latency, r.TTFT = time.Duration(br.varint()), time.Duration(br.varint())
	if len(br.data) == 0 {
		br.fail("truncated record")
		return false
	}
	r.Estimated, br.data = br.data[0] == 1, br.data[1:]
	return br.err == nil
}

func (br *batchReader) fail(what string) {
	if br.err == nil {
		br.err = fmt.Errorf("%w: %s", errCorrupt, what)
	}
	br.data, br.left = nil, 0
}

func (br *batchReader) uvarint() uint64 {
	v, n := binary.Uvarint(br.data)
	if n <= 0 {
		br.fail("bad varint")
		return 0
	}
	br.data = br.data[n:]
	return v
}

func (br *batchReader) varint() int64 {
	v, n := binary.Varint(br.data)
	if n <= 0 {
		br.fail("bad varint")
		return 0
	}
	br.data = br.data[n:]
	return v
}

func (br *batchReader) skip() {
	n := br.uvarint()
	if n > uint64(len(br.data)) {
		br.fail("string past the end")
		return
	}
	br.data = br.data[n:]
}

func (br *batchReader) string() string {
	n := br.uvarint()
	if n > uint64(len(br.data)) {
		br.fail("string past the end")
		return ""
	}
	s := string(br.data[:n])
	br.data = br.data[n:]
	return s
}
