//go:build vtprotobuf

package inference

import (
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// TestVTMarshaler checks that a build with the vtprotobuf tag (the
// Makefile's) gives the picker's messages their generated marshaller.
func TestVTMarshaler(t *testing.T) {
	if _, ok := any(&extprocv3.ProcessingRequest{}).(vtMarshaler); !ok {
		t.Fatal("ProcessingRequest has no vtprotobuf marshaller under the vtprotobuf tag")
	}
}
