package inference

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/internal/fakes/eppfake"
)

var poolEndpoints = []string{"10.0.0.1:8000", "10.0.0.2:8000", "10.0.0.3:8000"}

func newTestPool(t testing.TB, addr, mode string, tlsConf *config.PickerTLS) *Pool {
	t.Helper()
	return newTimedPool(t, addr, mode, tlsConf, 300*time.Millisecond)
}

// newTimedPool is newTestPool with the picker timeout given.
func newTimedPool(t testing.TB, addr, mode string, tlsConf *config.PickerTLS, timeout time.Duration) *Pool {
	t.Helper()
	off := false
	cfg := &config.InferencePool{Endpoints: poolEndpoints, Picker: &config.BuiltinPicker{PrefixAffinity: &off}}
	if addr != "" {
		cfg.EndpointPicker = &config.EndpointPicker{Address: addr, FailureMode: mode, Timeout: config.Duration(timeout), TLS: tlsConf}
	}
	var conf *tls.Config
	if tlsConf.On() {
		conf = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: tlsConf.InsecureSkipVerify, ServerName: "127.0.0.1"} //nolint:gosec // the test's self-signed picker
	}
	p, err := New("default/pool", cfg, Options{PickerTLS: conf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func chatRequest(body string) *Request {
	return &Request{Method: "POST", Path: "/v1/chat/completions", Body: []byte(body),
		Headers: []Header{{Name: "Content-Type", Value: "application/json"}, {Name: "x-gateway-inference-objective", Value: "critical"}}}
}

// TestExternalPicker runs the request half of the protocol against a picker
// that follows it, and the ways a picker fails.
func TestExternalPicker(t *testing.T) {
	big := `{"model":"m","messages":[{"role":"user","content":"` + strings.Repeat("x", 150000) + `"}]}`
	tests := []struct {
		name    string
		answer  eppfake.Answer
		body    string
		subset  []string
		mode    string
		want    []string // endpoints; nil with wantErr or immediate
		body2   string   // the body forwarded ("" : the request's)
		status  int      // immediate status
		wantErr string   // the failure reason under FailClose
		open    bool     // FailOpen decided
	}{
		{name: "one endpoint", answer: eppfake.Answer{Endpoints: poolEndpoints[1:2]}, want: poolEndpoints[1:2]},
		{name: "ordered list of three", answer: eppfake.Answer{Endpoints: []string{poolEndpoints[2], poolEndpoints[0], poolEndpoints[1]}},
			want: []string{poolEndpoints[2], poolEndpoints[0], poolEndpoints[1]}},
		{name: "list in the metadata only", answer: eppfake.Answer{Endpoints: poolEndpoints[:2], MetadataOnly: true}, want: poolEndpoints[:2]},
		{name: "endpoints outside the pool dropped", answer: eppfake.Answer{Endpoints: []string{"192.0.2.9:1", poolEndpoints[0]}}, want: poolEndpoints[:1]},
		{name: "body rewritten", answer: eppfake.Answer{Endpoints: poolEndpoints[:1], Body: []byte(`{"model":"rewritten","messages":[]}`)},
			want: poolEndpoints[:1], body2: `{"model":"rewritten","messages":[]}`},
		{name: "large body in chunks both ways", body: big, answer: eppfake.Answer{Endpoints: poolEndpoints[:1]}, want: poolEndpoints[:1]},
		{name: "subset hint honoured", subset: []string{"10.0.0.3"}, answer: eppfake.Answer{Endpoints: poolEndpoints}, want: poolEndpoints[2:]},
		{name: "subset hint with nothing eligible: 503", subset: []string{"10.0.0.9:8000"}, answer: eppfake.Answer{Endpoints: poolEndpoints}, status: 503},
		{name: "shed: 429", answer: eppfake.Answer{Immediate: 429, ImmediateBody: "shed"}, status: 429},
		{name: "no ready endpoint: 503", answer: eppfake.Answer{Immediate: 503}, status: 503},
		{name: "slow picker fails closed", answer: eppfake.Answer{Endpoints: poolEndpoints, Delay: 2 * time.Second}, wantErr: "timeout"},
		{name: "garbage fails closed", answer: eppfake.Answer{Garbage: true}, wantErr: "garbage"},
		{name: "no endpoint fails closed", answer: eppfake.Answer{}, wantErr: "garbage"},
		{name: "slow picker fails open", mode: config.FailOpen, answer: eppfake.Answer{Endpoints: poolEndpoints[:1], Delay: 2 * time.Second}, open: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return tt.answer }}
			addr := eppfake.Start(t, fake, nil)
			mode := tt.mode
			if mode == "" {
				mode = config.FailClose
			}
			p := newTestPool(t, addr, mode, nil)
			body := tt.body
			if body == "" {
				body = `{"model":"m","messages":[{"role":"user","content":"hi"}]}`
			}
			r := chatRequest(body)
			r.Subset = tt.subset
			d, err := p.Pick(context.Background(), r)
			if tt.wantErr != "" {
				var pe *Error
				if !errors.As(err, &pe) || pe.Reason != tt.wantErr || pe.Status != 500 {
					t.Fatalf("err %v, want a %s failure with status 500", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if tt.open {
				if !d.FailedOpen || len(d.Endpoints) != len(poolEndpoints) || string(d.Body) != body {
					t.Fatalf("fail open: %+v", d)
				}
				return
			}
			if tt.status != 0 {
				if d.Immediate == nil || d.Immediate.Status != tt.status {
					t.Fatalf("immediate %+v, want status %d", d.Immediate, tt.status)
				}
				return
			}
			if !reflect.DeepEqual(d.Endpoints, tt.want) {
				t.Errorf("endpoints %v, want %v", d.Endpoints, tt.want)
			}
			want := tt.body2
			if want == "" {
				want = body
			}
			if string(d.Body) != want {
				t.Errorf("forwarded body of %d bytes, want %d", len(d.Body), len(want))
			}
			if !reflect.DeepEqual(d.Headers, []Header{{Name: "x-picked-by", Value: "eppfake"}}) {
				t.Errorf("picker headers %v (pseudo-headers, content-length and the list must not pass)", d.Headers)
			}
			seen := fake.Seen()
			if len(seen) != 1 || string(seen[0].Body) != body || seen[0].Headers["x-gateway-inference-objective"] != "critical" ||
				seen[0].Headers[":path"] != "/v1/chat/completions" {
				t.Fatalf("picker saw %d requests: %+v", len(seen), seen)
			}
			if !reflect.DeepEqual(seen[0].Subset, tt.subset) {
				t.Errorf("subset hint %v, want %v", seen[0].Subset, tt.subset)
			}
			hs := d.Served(context.Background(), d.Endpoints[0], 200, "application/json")
			if got := fake.Served(); len(got) != 1 || got[0] != d.Endpoints[0] {
				t.Errorf("served reported %v, want %s", got, d.Endpoints[0])
			}
			wantHs := []Header{{"x-picker-served", "seen"}, {eppfake.HeaderTestServed, d.Endpoints[0]}}
			if !reflect.DeepEqual(hs, wantHs) {
				t.Errorf("response headers from the picker %v, want %v", hs, wantHs)
			}
		})
	}
}

// TestPickerDown: a picker nobody listens for fails closed with 500, or
// open with the gateway's choice.
func TestPickerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	for _, mode := range []string{config.FailClose, config.FailOpen} {
		t.Run(mode, func(t *testing.T) {
			p := newTestPool(t, addr, mode, nil)
			for range 3 { // the connection's backoff must not change the answer
				d, err := p.Pick(context.Background(), chatRequest(`{"model":"m"}`))
				if mode == config.FailClose {
					var pe *Error
					if !errors.As(err, &pe) || pe.Status != 500 {
						t.Fatalf("err %v, want a picker failure with status 500", err)
					}
					continue
				}
				if err != nil || !d.FailedOpen || len(d.Endpoints) != 3 {
					t.Fatalf("fail open: %+v %v", d, err)
				}
				d.Close()
			}
		})
	}
}

// TestPickerTLS: a picker with a self-signed certificate is accepted with
// insecureSkipVerify and refused without.
func TestPickerTLS(t *testing.T) {
	cert := eppfake.SelfSigned(t)
	fake := &eppfake.Picker{Choose: func(eppfake.Seen) eppfake.Answer { return eppfake.Answer{Endpoints: poolEndpoints[:1]} }}
	addr := eppfake.Start(t, fake, cert)
	p := newTestPool(t, addr, config.FailClose, &config.PickerTLS{InsecureSkipVerify: true})
	d, err := p.Pick(context.Background(), chatRequest(`{"model":"m"}`))
	if err != nil || d.Endpoints[0] != poolEndpoints[0] {
		t.Fatalf("TLS picker: %v %+v", err, d)
	}
	d.Close()
	strict := newTestPool(t, addr, config.FailClose, &config.PickerTLS{})
	if _, err := strict.Pick(context.Background(), chatRequest(`{"model":"m"}`)); err == nil {
		t.Fatal("a self-signed picker was trusted without insecureSkipVerify")
	}
	plain := newTestPool(t, addr, config.FailClose, nil)
	if _, err := plain.Pick(context.Background(), chatRequest(`{"model":"m"}`)); err == nil {
		t.Fatal("plaintext reached a TLS picker")
	}
}

func TestSubset(t *testing.T) {
	p := newTestPool(t, "", "", nil)
	tests := []struct {
		name     string
		down     []string
		restrict []string
		want     []string
	}{
		{name: "all up, no restriction", want: nil},
		{name: "one down", down: poolEndpoints[:1], want: poolEndpoints[1:]},
		{name: "restricted by host", restrict: []string{"10.0.0.2"}, want: poolEndpoints[1:2]},
		{name: "restricted to all", restrict: poolEndpoints, want: nil},
		{name: "restricted, one of them down", down: poolEndpoints[1:2], restrict: poolEndpoints[1:], want: poolEndpoints[2:]},
		{name: "restricted, all of them down", down: poolEndpoints[1:], restrict: poolEndpoints[1:], want: poolEndpoints[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range p.stats {
				p.stats[i].downUntil.Store(0)
			}
			for _, e := range tt.down {
				p.markDown(e)
			}
			if got := p.Subset(tt.restrict); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Subset(%v) = %v, want %v", tt.restrict, got, tt.want)
			}
		})
	}
}
