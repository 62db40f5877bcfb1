package inference

import (
	"encoding/binary"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
)

// vtMarshaler is what go-control-plane's generated vtprotobuf code gives its
// messages when built with the vtprotobuf tag (the Makefile sets it):
// marshalling without reflection, several times cheaper than proto.Marshal
// on the served report, whose metadata is a map-valued Struct.
type vtMarshaler interface {
	SizeVT() int
	MarshalToSizedBufferVTStrict(dAtA []byte) (int, error)
}

// maxMessage bounds a message the gateway sends a picker (gRPC's length
// prefix is 32 bits; a body chunk is far smaller).
const maxMessage = 1<<31 - 1

// appendMessage appends m to buf as one gRPC message: an uncompressed flag,
// the length, the protobuf bytes. The vtprotobuf marshaller is used when the
// message has one; where its size and its writing disagree (the pinned
// structpb wrappers count a byte too many for a nil struct or list value),
// the reflection marshaller writes the message instead.
func appendMessage(buf []byte, m proto.Message) ([]byte, error) {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0, 0)
	if vt, ok := m.(vtMarshaler); ok {
		size := vt.SizeVT()
		buf = slices.Grow(buf, size)[:len(buf)+size]
		if n, err := vt.MarshalToSizedBufferVTStrict(buf[len(buf)-size:]); err == nil && n == size {
			binary.BigEndian.PutUint32(buf[start+1:], uint32(size))
			return buf, nil
		}
		buf = buf[:start+5]
	}
	out, err := proto.MarshalOptions{}.MarshalAppend(buf, m)
	if err != nil {
		return buf[:start], fmt.Errorf("marshal: %w", err)
	}
	if len(out)-start-5 > maxMessage {
		return buf[:start], fmt.Errorf("marshal: a message of %d bytes", len(out)-start-5)
	}
	binary.BigEndian.PutUint32(out[start+1:], uint32(len(out)-start-5))
	return out, nil
}
