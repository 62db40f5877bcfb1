package upstream

import (
	"context"
	"net"
	"testing"
	"time"
)

func TestConnectProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := ln.Addr().String()
	closedLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := closedLn.Addr().String()
	closedLn.Close()
	defer ln.Close()
	for _, tc := range []struct {
		name, addr string
		want       bool
	}{{"listening", open, true}, {"nothing listening", closed, false}} {
		if got := ConnectProbe(tc.addr)(context.Background(), time.Second); got != tc.want {
			t.Errorf("%s: ConnectProbe(%s) = %v, want %v", tc.name, tc.addr, got, tc.want)
		}
	}
}
