// Command h2relay is the floor of the gRPC scenario: net/http's
// httputil.ReverseProxy serving h2c and calling an h2c backend, with no
// routing, policies, retries or accounting. It prints "listening ADDR".
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to accept on")
	to := flag.String("to", "", "h2c upstream host:port")
	flag.Parse()
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	target := &url.URL{Scheme: "http", Host: *to}
	proxy := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:     &http.Transport{Protocols: &p},
		FlushInterval: -1,
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening %s", ln.Addr())
	srv := &http.Server{Handler: proxy, Protocols: &p}
	log.Fatal(srv.Serve(ln))
}
