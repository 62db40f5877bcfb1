package upstream

import (
	"github.com/switchyard-ai/switchyard/internal/testutil"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/valyala/fasthttp"
)

func TestMirrorNeverDelays(t *testing.T) {
	got := make(chan string, 1)
	slow := upstreamServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Method + " " + r.URL.Path + " " + string(b)
		time.Sleep(2 * time.Second)
	})
	main := upstreamServer(t, statusHandler("main", 200))
	p := newTestPool(t, static(main), map[string]*config.StaticBackend{"m": static(slow)})
	url, _ := frontend(t, p, Options{}, func(ctx *fasthttp.RequestCtx) { p.Mirror(&ctx.Request, "m") })

	start := time.Now()
	resp, err := http.Post(url+"/v1/chat", "application/json", strings.NewReader(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Fatalf("main request took %v: the mirror delayed it", elapsed)
	}
	if string(body) != "main" {
		t.Fatalf("main body %q", body)
	}
	select {
	case m := <-got:
		if m != `POST /v1/chat {"x":1}` {
			t.Fatalf("mirror got %q", m)
		}
	case <-time.After(time.Second):
		t.Fatal("mirror never arrived")
	}
	testutil.Eventually(t, 4*time.Second, func() bool { return p.MirrorStats().Sent == 1 }, "mirror to complete")
}

func TestMirrorDrops(t *testing.T) {
	target := upstreamServer(t, statusHandler("m", 200))
	tests := []struct {
		name    string
		backend string
		fill    bool
	}{
		{name: "unknown backend", backend: "missing"},
		{name: "over the in-flight limit", backend: "m", fill: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestPool(t, static(target), map[string]*config.StaticBackend{"m": static(target)})
			if tc.fill {
				for range cap(p.mirror.sem) {
					p.mirror.sem <- struct{}{}
				}
			}
			var req fasthttp.Request
			req.SetRequestURI("/x")
			req.Header.SetHost("h")
			p.Mirror(&req, tc.backend)
			if s := p.MirrorStats(); s.Dropped != 1 {
				t.Fatalf("stats %+v, want one drop", s)
			}
		})
	}
}
