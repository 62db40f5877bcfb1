package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminHandler serves /healthz, /readyz, /metrics and /config, and Go's
// profiles under /debug/pprof/ when Options.Profiling is set.
func (g *Gateway) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		var fatal bool
		var detail []string
		if g.opts.Ready != nil {
			fatal, detail = g.opts.Ready()
		}
		if !g.Ready() || fatal {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n"))
		} else {
			_, _ = w.Write([]byte("ready\n"))
		}
		for _, d := range detail {
			_, _ = w.Write([]byte(d + "\n"))
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.opts.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) {
		st := g.cur.Load()
		if st == nil {
			http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
			return
		}
		out := struct {
			Snapshot any `json:"snapshot"`
			Health   any `json:"health,omitempty"`
			// Unavailable lists AI backends that cannot serve, with why.
			Unavailable map[string]string `json:"unavailable,omitempty"`
		}{Snapshot: st.snap, Unavailable: st.kinds.problems()}
		if st.static != nil {
			out.Health = st.static.pool.Status()
		}
		if len(out.Unavailable) == 0 {
			out.Unavailable = nil
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	})
	for pattern, h := range g.opts.Admin {
		mux.Handle(pattern, h)
	}
	if g.opts.Profiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// ServeAdmin runs the admin server on addr until ctx ends.
func (g *Gateway) ServeAdmin(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("router: admin listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: g.AdminHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	g.log.Info("admin listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("router: admin: %w", err)
	}
	return nil
}
