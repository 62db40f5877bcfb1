package meter

import (
	"encoding/binary"
	"errors"

	"github.com/switchyard-ai/switchyard/store"
)

// encodingVersion is the first byte of an encoded State.
const encodingVersion = 1

// Append appends the binary encoding of s to b: the version byte (1), the
// algorithm byte, then Limit, Level, Mark, Scale and Tick as signed varints,
// and for a sliding counter its 24 slots
// (slot number n at index n mod Slots) as signed varints.
func (s *State) Append(b []byte) []byte {
	b = append(b, encodingVersion, byte(s.Alg))
	for _, v := range [...]int64{s.Limit, s.Level, s.Mark, s.Scale, s.Tick} {
		b = binary.AppendVarint(b, v)
	}
	if s.Alg == store.Sliding && s.Slots != nil {
		for _, v := range s.Slots {
			b = binary.AppendVarint(b, v)
		}
	}
	return b
}

// errEncoding is returned for bytes that are not an encoded State.
var errEncoding = errors.New("bad counter state encoding")

// Decode decodes what [State.Append] wrote.
func Decode(b []byte) (State, error) {
	if len(b) < 2 || b[0] != encodingVersion {
		return State{}, errEncoding
	}
	s := State{Alg: store.Algorithm(b[1])}
	b = b[2:]
	bad := false
	next := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	for _, p := range [...]*int64{&s.Limit, &s.Level, &s.Mark, &s.Scale, &s.Tick} {
		*p = next()
	}
	switch s.Alg {
	case store.Bucket, store.Calendar:
	case store.Sliding:
		s.Slots = new([Slots]int64)
		for i := range s.Slots {
			s.Slots[i] = next()
		}
	default:
		return State{}, errEncoding
	}
	if bad || len(b) != 0 {
		return State{}, errEncoding
	}
	return s, nil
}
