package inference

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestAppendMessage checks that the gRPC messages the gateway sends decode
// to the message they were made of: the length prefix, then protobuf, for
// small messages, a large one, and one the vtprotobuf code sizes wrongly.
func TestAppendMessage(t *testing.T) {
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte('a' + i%26)
	}
	served := &extprocv3.ProcessingRequest{
		Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
			Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: ":status", RawValue: []byte("200")}}}, EndOfStream: true}},
		MetadataContext: &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{MetadataLB: {Fields: map[string]*structpb.Value{
			MetadataServed: structpb.NewStringValue("10.0.0.1:8000")}}}},
	}
	for name, m := range map[string]*extprocv3.ProcessingRequest{
		"served": served,
		"headers": {Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
			Headers: &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: ":method", RawValue: []byte("POST")},
				{Key: "x-gateway-inference-objective", RawValue: []byte("chat")}}}}}},
		// A nil struct value: the vtprotobuf wrappers size it a byte larger
		// than they write it; the codec must still send valid protobuf.
		"nil struct value": {Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{}},
			MetadataContext: &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{MetadataLB: {Fields: map[string]*structpb.Value{
				"nested": {Kind: &structpb.Value_StructValue{}}}}}}},
		"big body": {Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: big, EndOfStream: true}}},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := appendMessage([]byte("prefix"), m)
			if err != nil {
				t.Fatal(err)
			}
			if string(out[:6]) != "prefix" || out[6] != 0 {
				t.Fatalf("appendMessage kept %q and flag %d", out[:6], out[6])
			}
			b := out[11:]
			if n := binary.BigEndian.Uint32(out[7:11]); int(n) != len(b) {
				t.Fatalf("length prefix %d, message %d bytes", n, len(b))
			}
			got := &extprocv3.ProcessingRequest{}
			if err := proto.Unmarshal(b, got); err != nil {
				t.Fatalf("the codec's bytes do not decode: %v", err)
			}
			if !proto.Equal(got, m) {
				t.Errorf("decoded %v, want %v", got, m)
			}
		})
	}
}

// TestServedMsgReuse: a reused served report carries only what its last fill
// set (the content type is dropped when the next report has none).
func TestServedMsgReuse(t *testing.T) {
	m := servedMsgs.Get().(*servedMsg)
	defer servedMsgs.Put(m)
	for _, tc := range []struct {
		endpoint, ctype string
		status          int
	}{{"10.0.0.1:8000", "application/json", 200}, {"10.0.0.2:8000", "", 503}, {"10.0.0.3:9000", "text/event-stream", 200}} {
		hs := []*corev3.HeaderValue{{Key: ":status", RawValue: []byte(strconv.Itoa(tc.status))}}
		if tc.ctype != "" {
			hs = append(hs, &corev3.HeaderValue{Key: "content-type", RawValue: []byte(tc.ctype)})
		}
		want := &extprocv3.ProcessingRequest{
			Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{
				Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: true}},
			MetadataContext: &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{MetadataLB: {Fields: map[string]*structpb.Value{
				MetadataServed: structpb.NewStringValue(tc.endpoint)}}}},
		}
		if got := m.fill(tc.endpoint, tc.status, tc.ctype); !proto.Equal(got, want) {
			t.Errorf("fill(%s, %d, %q) = %v, want %v", tc.endpoint, tc.status, tc.ctype, got, want)
		}
	}
}

// TestRequestMsgReuse: a reused request message carries only the last
// request's headers (lower-cased, content-length from its body) and subset.
func TestRequestMsgReuse(t *testing.T) {
	m := requestMsgs.Get().(*requestMsg)
	defer m.release()
	for _, r := range []*Request{
		{Method: "POST", Path: "/v1/chat/completions", Body: []byte(`{"a":1}`), Subset: []string{"10.0.0.1:8000"},
			Headers: []Header{{Name: "Content-Type", Value: "application/json"}, {Name: "x-gateway-inference-objective", Value: "chat"}}},
		{Method: "GET", Path: "/metrics", Headers: []Header{{Name: "X-Test", Value: "v"}}},
	} {
		got, err := m.headersOf(r)
		if err != nil {
			t.Fatal(err)
		}
		hs := []*corev3.HeaderValue{{Key: ":method", RawValue: []byte(r.Method)}, {Key: ":path", RawValue: []byte(r.Path)},
			{Key: ":scheme", RawValue: []byte("http")}}
		if len(r.Body) > 0 {
			hs = append(hs, &corev3.HeaderValue{Key: "content-length", RawValue: []byte(strconv.Itoa(len(r.Body)))})
		}
		for _, h := range r.Headers {
			hs = append(hs, &corev3.HeaderValue{Key: strings.ToLower(h.Name), RawValue: []byte(h.Value)})
		}
		want := &extprocv3.ProcessingRequest{Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{
			Headers: &corev3.HeaderMap{Headers: hs}, EndOfStream: len(r.Body) == 0}}}
		if len(r.Subset) > 0 {
			st, _ := structpb.NewStruct(map[string]any{MetadataSubsetKey: []any{r.Subset[0]}})
			want.MetadataContext = &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{MetadataSubset: st}}
		}
		if !proto.Equal(got, want) {
			t.Errorf("%s %s: %v, want %v", r.Method, r.Path, got, want)
		}
	}
}
