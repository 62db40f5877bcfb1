package inference

import (
	"fmt"
	"reflect"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// reference is what the gateway reads of resp, through protobuf's own
// decoder and getters: decodeAnswer must agree with it.
func reference(t *testing.T, b []byte) pickerAnswer {
	t.Helper()
	resp := &extprocv3.ProcessingResponse{}
	if err := proto.Unmarshal(b, resp); err != nil {
		t.Fatal(err)
	}
	var a pickerAnswer
	setOf := func(m *extprocv3.HeaderMutation) {
		for _, o := range m.GetSetHeaders() {
			v := string(o.GetHeader().GetRawValue())
			if v == "" {
				v = o.GetHeader().GetValue()
			}
			a.set = append(a.set, Header{Name: o.GetHeader().GetKey(), Value: v})
		}
	}
	common := func(c *extprocv3.CommonResponse) {
		setOf(c.GetHeaderMutation())
		switch m := c.GetBodyMutation().GetMutation().(type) {
		case *extprocv3.BodyMutation_Body:
			a.mutation, a.body = mutationBody, m.Body
		case *extprocv3.BodyMutation_ClearBody:
			a.mutation = mutationClear
		case *extprocv3.BodyMutation_StreamedResponse:
			a.mutation, a.body, a.end = mutationStreamed, m.StreamedResponse.GetBody(), m.StreamedResponse.GetEndOfStream()
		}
	}
	switch v := resp.Response.(type) {
	case *extprocv3.ProcessingResponse_RequestHeaders:
		a.kind = respRequestHeaders
		common(v.RequestHeaders.GetResponse())
	case *extprocv3.ProcessingResponse_ResponseHeaders:
		a.kind = respResponseHeaders
		common(v.ResponseHeaders.GetResponse())
	case *extprocv3.ProcessingResponse_RequestBody:
		a.kind = respRequestBody
		common(v.RequestBody.GetResponse())
	case *extprocv3.ProcessingResponse_ResponseBody:
		a.kind = 4
	case *extprocv3.ProcessingResponse_ImmediateResponse:
		a.kind = respImmediate
		a.status = int(v.ImmediateResponse.GetStatus().GetCode())
		a.body = v.ImmediateResponse.GetBody()
		setOf(v.ImmediateResponse.GetHeaders())
	}
	if lb := resp.GetDynamicMetadata().GetFields()[MetadataLB]; lb != nil {
		a.lbDest = lb.GetStructValue().GetFields()[HeaderDestination].GetStringValue()
	}
	return a
}

// agrees checks that decodeAnswer reads b as protobuf's decoder does.
func agrees(t *testing.T, b []byte) {
	t.Helper()
	var got pickerAnswer
	if err := decodeAnswer(b, &got); err != nil {
		t.Fatal(err)
	}
	if want := reference(t, b); !reflect.DeepEqual(normal(got), normal(want)) {
		t.Errorf("decodeAnswer = %+v\nprotobuf says %+v", got, want)
	}
}

// normal makes empty slices nil: the decoders differ there, harmlessly.
func normal(a pickerAnswer) pickerAnswer {
	if len(a.set) == 0 {
		a.set = nil
	}
	if len(a.body) == 0 && a.mutation != mutationBody {
		a.body = nil
	}
	return a
}

func set(kv ...string) *extprocv3.HeaderMutation {
	m := &extprocv3.HeaderMutation{}
	for i := 0; i < len(kv); i += 2 {
		m.SetHeaders = append(m.SetHeaders, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])}})
	}
	return m
}

// TestDecodeAnswer decodes the answers pickers send, and some they might,
// and compares with protobuf's decoder.
func TestDecodeAnswer(t *testing.T) {
	lb := func(dest string, extra map[string]any) *structpb.Struct {
		inner := map[string]any{HeaderDestination: dest}
		for k, v := range extra {
			inner[k] = v
		}
		st, err := structpb.NewStruct(map[string]any{"other": map[string]any{HeaderDestination: "no"}, MetadataLB: inner})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	headers := func(m *extprocv3.HeaderMutation, md *structpb.Struct) *extprocv3.ProcessingResponse {
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{
			Response: &extprocv3.CommonResponse{ClearRouteCache: true, HeaderMutation: m}}}, DynamicMetadata: md}
	}
	body := func(m *extprocv3.BodyMutation) *extprocv3.ProcessingResponse {
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{
			Response: &extprocv3.CommonResponse{BodyMutation: m}}}}
	}
	valueOnly := set()
	valueOnly.SetHeaders = append(valueOnly.SetHeaders, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: "X-Value", Value: "v"}},
		&corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: "x-both", Value: "old", RawValue: []byte("raw")}})
	tests := map[string]*extprocv3.ProcessingResponse{
		"epp headers": headers(set(HeaderDestination, "10.0.0.1:8000,10.0.0.2:8000", "Content-Length", "120", "x-went-into-resp-headers", "true"),
			lb("10.0.0.1:8000,10.0.0.2:8000", map[string]any{"n": 1.5, "list": []any{"a"}})),
		"metadata only":       headers(nil, lb("10.0.0.3:8000", nil)),
		"value and raw value": headers(valueOnly, nil),
		"nothing":             headers(nil, nil),
		"streamed body": body(&extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_StreamedResponse{
			StreamedResponse: &extprocv3.StreamedBodyResponse{Body: []byte(`{"model":"rewritten"}`), EndOfStream: true}}}),
		"streamed chunk": body(&extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_StreamedResponse{
			StreamedResponse: &extprocv3.StreamedBodyResponse{Body: []byte(`{"mod`)}}}),
		"body":        body(&extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: []byte("new")}}),
		"clear body":  body(&extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}}),
		"no mutation": body(nil),
		"immediate 429": {Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{
			Status: &typev3.HttpStatus{Code: typev3.StatusCode_TooManyRequests}, Headers: set("retry-after", "1"), Body: []byte("shed")}}},
		"served answer": {Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{
			Response: &extprocv3.CommonResponse{HeaderMutation: set("x-conformance-test-served-endpoint", "10.0.0.1:8000")}}}},
		"response body": {Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{}}},
	}
	for name, resp := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := proto.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			agrees(t, b)
		})
	}
}

// TestDecodeAnswerWire: wire forms protobuf's decoder accepts (a oneof
// member repeated merges, the last member wins, unknown fields are skipped)
// and bytes it refuses.
func TestDecodeAnswerWire(t *testing.T) {
	m := func(r *extprocv3.ProcessingResponse) []byte {
		b, err := proto.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hdrs := m(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{
		Response: &extprocv3.CommonResponse{HeaderMutation: set(HeaderDestination, "10.0.0.1:8000")}}}})
	more := m(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{
		Response: &extprocv3.CommonResponse{HeaderMutation: set("x-more", "1")}}}})
	imm := m(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{
		Status: &typev3.HttpStatus{Code: typev3.StatusCode_ServiceUnavailable}}}})
	unknown := []byte{0xf8, 0x3e, 0x01, 0xfa, 0x3e, 0x02, 'h', 'i', 0xfd, 0x3e, 1, 2, 3, 4} // fields 999 (varint, bytes, fixed32)
	for name, b := range map[string][]byte{
		"merged":  append(append([]byte{}, hdrs...), more...),
		"last":    append(append([]byte{}, hdrs...), imm...),
		"unknown": append(append([]byte{}, unknown...), hdrs...),
	} {
		t.Run(name, func(t *testing.T) { agrees(t, b) })
	}
	for name, b := range map[string][]byte{
		"truncated":      hdrs[:len(hdrs)-3],
		"bad tag":        {0x00},
		"length too big": {0x0a, 0x7f, 0x01},
	} {
		t.Run(name, func(t *testing.T) {
			var got pickerAnswer
			if err := decodeAnswer(b, &got); err == nil {
				t.Errorf("decodeAnswer accepted %x: %+v", b, got)
			}
			if err := proto.Unmarshal(b, &extprocv3.ProcessingResponse{}); err == nil {
				t.Errorf("protobuf accepts %x: the case is not malformed", b)
			}
		})
	}
}

// TestDecodeAnswerHeaderLimit: an answer may set maxPickerHeaders headers,
// not more (empty header options cost the picker 4 bytes each).
func TestDecodeAnswerHeaderLimit(t *testing.T) {
	for _, n := range []int{maxPickerHeaders, maxPickerHeaders + 1} {
		kv := make([]string, 0, 2*n)
		for i := range n {
			kv = append(kv, fmt.Sprintf("x-h%d", i), "v")
		}
		b, err := proto.Marshal(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{
			RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{HeaderMutation: set(kv...)}}}})
		if err != nil {
			t.Fatal(err)
		}
		var a pickerAnswer
		err = decodeAnswer(b, &a)
		if ok := n <= maxPickerHeaders; (err == nil) != ok {
			t.Errorf("%d headers: %v", n, err)
		}
	}
}
