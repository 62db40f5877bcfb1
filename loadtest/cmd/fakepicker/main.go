// Command fakepicker is an endpoint picker for the load tests: an ext_proc
// gRPC server speaking the Inference Extension's protocol (internal/fakes/eppfake)
// that always picks -endpoint. It prints its address on the first line of stdout.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"

	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	endpoint := flag.String("endpoint", "", "the endpoint (host:port) every request is sent to")
	flag.Parse()
	if *endpoint == "" {
		fmt.Fprintln(os.Stderr, "fakepicker: -endpoint is required")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp4", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakepicker:", err)
		os.Exit(1)
	}
	list := []string{*endpoint}
	p := &eppfake.Picker{NoRecord: true, Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Endpoints: list} }}
	srv := grpc.NewServer()
	extprocv3.RegisterExternalProcessorServer(srv, p)
	fmt.Println(ln.Addr().String())
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "fakepicker:", err)
		os.Exit(1)
	}
}
