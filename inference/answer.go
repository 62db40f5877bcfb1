package inference

import (
	"bytes"
	"fmt"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// The fields of ext_proc's ProcessingResponse (envoy.service.ext_proc.v3)
// and of the messages in it that the gateway reads.
const (
	respRequestHeaders  protowire.Number = 1
	respResponseHeaders protowire.Number = 2
	respRequestBody     protowire.Number = 3
	respImmediate       protowire.Number = 7
	respDynamicMetadata protowire.Number = 8
)

// Body mutations (BodyMutation's oneof).
const (
	mutationNone = iota
	mutationBody
	mutationClear
	mutationStreamed
)

// pickerAnswer is what the gateway reads of a picker's ProcessingResponse,
// decoded from the wire with protowire: the reflection decoder built the
// whole message tree (a Struct's map among it) for the few fields read here,
// a tenth of a pool request's CPU. Fields the gateway does not read are
// skipped; a repeated singular message merges, as protobuf's own decoder does.
type pickerAnswer struct {
	// kind is the response oneof's field (respRequestHeaders, ...; 0: none).
	kind protowire.Number
	// set is the header mutation's set_headers (the immediate response's
	// headers), value from raw_value, else value; names as sent.
	set []Header
	// lbDest is dynamic_metadata["envoy.lb"]["x-gateway-destination-endpoint"].
	lbDest string
	// mutation is the body mutation's kind, body its bytes and end the
	// streamed response's end_of_stream.
	mutation int
	body     []byte
	end      bool
	// status is the immediate response's HTTP status code.
	status int
}

// decodeAnswer decodes a ProcessingResponse into a.
func decodeAnswer(b []byte, a *pickerAnswer) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch {
		case num == respDynamicMetadata:
			return a.metadata(val)
		case num == respImmediate:
			a.reset(num)
			return a.immediate(val)
		case num >= respRequestHeaders && num <= 6, num == 11:
			a.reset(num)
			if num > respRequestBody {
				return nil // answers the gateway does not ask for: their kind is enough
			}
			// HeadersResponse and BodyResponse: response (1), a CommonResponse.
			return eachField(val, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
				if num == 1 && typ == protowire.BytesType {
					return a.common(val)
				}
				return nil
			})
		}
		return nil
	})
}

// reset starts the oneof's member num (the last one on the wire wins).
func (a *pickerAnswer) reset(num protowire.Number) {
	if a.kind != num {
		*a = pickerAnswer{kind: num, lbDest: a.lbDest, set: a.set[:0]}
	}
}

// common reads a CommonResponse: header_mutation (2), body_mutation (3).
func (a *pickerAnswer) common(b []byte) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 2:
			return a.headerMutation(val)
		case 3:
			return a.bodyMutation(val)
		}
		return nil
	})
}

// headerMutation reads set_headers (1): HeaderValueOption{header (1)}.
func (a *pickerAnswer) headerMutation(b []byte) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		return eachField(val, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
			if num != 1 || typ != protowire.BytesType {
				return nil
			}
			return a.headerValue(val)
		})
	})
}

// headerValue reads a HeaderValue: key (1), value (2), raw_value (3).
func (a *pickerAnswer) headerValue(b []byte) error {
	var key, value, raw []byte
	err := eachField(b, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		if typ == protowire.BytesType {
			switch num {
			case 1:
				key = val
			case 2:
				value = val
			case 3:
				raw = val
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(raw) > 0 {
		value = raw
	}
	if len(a.set) >= maxPickerHeaders {
		return garbage(fmt.Sprintf("more than %d headers", maxPickerHeaders))
	}
	a.set = append(a.set, Header{Name: view(key), Value: view(value)})
	return nil
}

// bodyMutation reads the oneof body (1), clear_body (2), streamed_response (3).
func (a *pickerAnswer) bodyMutation(b []byte) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			a.mutation, a.body, a.end = mutationBody, bytes.Clone(val), false
		case num == 2 && typ == protowire.VarintType:
			a.mutation, a.body, a.end = mutationClear, nil, false
		case num == 3 && typ == protowire.BytesType:
			if a.mutation != mutationStreamed {
				a.mutation, a.body, a.end = mutationStreamed, nil, false
			}
			return eachField(val, func(num protowire.Number, typ protowire.Type, val []byte, n uint64) error {
				switch {
				case num == 1 && typ == protowire.BytesType:
					a.body = val // copied by the caller, which gathers chunks
				case num == 2 && typ == protowire.VarintType:
					a.end = n != 0
				}
				return nil
			})
		}
		return nil
	})
}

// immediate reads an ImmediateResponse: status (1, HttpStatus{code (1)}),
// headers (2, a HeaderMutation), body (3).
func (a *pickerAnswer) immediate(b []byte) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1:
			return eachField(val, func(num protowire.Number, typ protowire.Type, _ []byte, n uint64) error {
				if num == 1 && typ == protowire.VarintType {
					a.status = int(int32(n))
				}
				return nil
			})
		case 2:
			return a.headerMutation(val)
		case 3:
			a.body = bytes.Clone(val)
		}
		return nil
	})
}

// metadata reads dynamic_metadata, a Struct, for the endpoints under
// "envoy.lb": Struct{fields (1): map entry{key (1), value (2): Value}}.
func (a *pickerAnswer) metadata(b []byte) error {
	return structField(b, MetadataLB, func(v []byte) error {
		// Value.struct_value (5)
		return eachField(v, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
			if num != 5 || typ != protowire.BytesType {
				return nil
			}
			return structField(val, HeaderDestination, func(v []byte) error {
				// Value.string_value (3)
				return eachField(v, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
					if num == 3 && typ == protowire.BytesType {
						a.lbDest = view(val)
					}
					return nil
				})
			})
		})
	})
}

// structField calls f with the Value bytes of each entry named key in the
// Struct b.
func structField(b []byte, key string, f func(value []byte) error) error {
	return eachField(b, func(num protowire.Number, typ protowire.Type, entry []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType {
			return nil
		}
		var k, v []byte
		err := eachField(entry, func(num protowire.Number, typ protowire.Type, val []byte, _ uint64) error {
			if typ == protowire.BytesType {
				switch num {
				case 1:
					k = val
				case 2:
					v = val
				}
			}
			return nil
		})
		if err != nil || string(k) != key {
			return err
		}
		return f(v)
	})
}

// eachField calls f with each field of the message b: its number and type,
// and its value (the bytes of a length-delimited field, a varint's value).
func eachField(b []byte, f func(num protowire.Number, typ protowire.Type, val []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		var val []byte
		var n uint64
		switch typ {
		case protowire.BytesType:
			val, l = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			n, l = protowire.ConsumeVarint(b)
		default:
			l = protowire.ConsumeFieldValue(num, typ, b)
		}
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		if err := f(num, typ, val, n); err != nil {
			return err
		}
	}
	return nil
}

// view is b as a string without a copy: the answer's bytes are never
// written again once received (see wireStream.in), so strings may share them.
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
