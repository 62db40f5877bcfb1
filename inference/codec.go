package inference

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// vtMarshaler is what go-control-plane's generated vtprotobuf code gives its
// messages when built with the vtprotobuf tag (the Makefile sets it):
// marshalling without reflection, several times cheaper than proto.Marshal
// on the served report, whose metadata is a map-valued Struct.
type vtMarshaler interface {
	SizeVT() int
	MarshalToSizedBufferVTStrict(dAtA []byte) (int, error)
}

// pickerCodec is the picker streams' gRPC codec: the vtprotobuf marshaller
// when the messages have one, grpc-go's proto codec otherwise and for
// every answer (go-control-plane generates no vtprotobuf unmarshaller). The
// wire format is protobuf either way.
type pickerCodec struct{ proto encoding.CodecV2 }

func newPickerCodec() pickerCodec {
	return pickerCodec{proto: encoding.GetCodecV2(proto.Name)}
}

// Marshal implements [encoding.CodecV2].
func (c pickerCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(vtMarshaler)
	if !ok {
		return c.proto.Marshal(v)
	}
	// The generated code writes backwards from the end of a buffer of
	// SizeVT bytes; where its size and its writing disagree (the pinned
	// structpb wrappers count a byte too many for a nil struct or list
	// value), the reflection codec marshals the message instead.
	size := m.SizeVT()
	if mem.IsBelowBufferPoolingThreshold(size) {
		buf := make([]byte, size)
		if n, err := m.MarshalToSizedBufferVTStrict(buf); err != nil || n != size {
			return c.proto.Marshal(v)
		}
		return mem.BufferSlice{mem.SliceBuffer(buf)}, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	if n, err := m.MarshalToSizedBufferVTStrict(*buf); err != nil || n != size {
		pool.Put(buf)
		return c.proto.Marshal(v)
	}
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// Unmarshal implements [encoding.CodecV2].
func (c pickerCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

// Name implements [encoding.CodecV2]. A forced codec names the content
// subtype: requests carry application/grpc+proto, which gRPC servers take
// as application/grpc.
func (c pickerCodec) Name() string { return proto.Name }
