package router

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-ai/switchyard/policies"
	"github.com/switchyard-ai/switchyard/providers/schema"
)

// settlement is what a reservation saw when it was settled.
type settlement struct {
	status   int
	route    string
	usage    schema.Usage
	ctxErr   error // the request context's error when the exchange was settled
	hasCtxDL bool
}

// ledger is a policy that reserves for every request and records each
// settlement by request id, counting repeats.
type ledger struct {
	phase policies.Phase
	mu    sync.Mutex
	byID  map[string][]settlement
	ch    chan string
}

func newLedger(phase policies.Phase) *ledger {
	return &ledger{phase: phase, byID: map[string][]settlement{}, ch: make(chan string, 256)}
}

func (l *ledger) Phase() policies.Phase { return l.phase }

func (l *ledger) Request(ctx context.Context, x *policies.Exchange) (policies.Reservation, error) {
	_, ok := ctx.Deadline()
	return &ledgerHold{l: l, hasDeadline: ok, ctx: ctx}, nil
}

type ledgerHold struct {
	l           *ledger
	hasDeadline bool
	ctx         context.Context // the request's, as Request got it
}

func (h *ledgerHold) Settle(_ context.Context, x *policies.Exchange, u schema.Usage) {
	h.l.mu.Lock()
	h.l.byID[x.RequestID] = append(h.l.byID[x.RequestID], settlement{status: x.Status, route: x.RouteKey, usage: u, hasCtxDL: h.hasDeadline, ctxErr: h.ctx.Err()})
	h.l.mu.Unlock()
	h.l.ch <- x.RequestID
}

// wait returns the settlements of id once one arrived, after a grace period
// in which a second (wrong) one would show.
func (l *ledger) wait(t *testing.T, id string) []settlement {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		l.mu.Lock()
		got := l.byID[id]
		l.mu.Unlock()
		if len(got) > 0 {
			time.Sleep(100 * time.Millisecond)
			l.mu.Lock()
			defer l.mu.Unlock()
			return append([]settlement(nil), l.byID[id]...)
		}
		select {
		case <-l.ch:
		case <-deadline:
			t.Fatalf("request %s was never settled", id)
		}
	}
}

// denyAll denies every request with a 429.
type denyAll struct{}

func (denyAll) Phase() policies.Phase { return policies.PhaseRateLimit }
func (denyAll) Request(context.Context, *policies.Exchange) (policies.Reservation, error) {
	return nil, &policies.Denial{Status: 429, Type: "rate_limit_exceeded", Message: "slow down", RetryAfter: 2}
}

// slowUpstream answers after delay (headers included).
func slowUpstream(t *testing.T, delay time.Duration) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"x","object":"chat.completion","model":"chat","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`))
	}))
	t.Cleanup(s.Close)
	return s
}

// tickingUpstream streams 25 chunks 20ms apart, then its usage (7 tokens)
// and [DONE], unless the gateway hangs up first.
func tickingUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for i := 0; ; i++ {
			if i == 25 {
				fmt.Fprint(w, "data: {\"object\":\"chat.completion.chunk\",\"choices\":[],"+
					"\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":5,\"total_tokens\":7}}\n\ndata: [DONE]\n\n")
				return
			}
			if _, err := fmt.Fprintf(w, "data: "+reviewChunk+"\n\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(20 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// policyGateway runs a gateway with the given process-wide policies, an AI
// route over upstream URL (with timeouts) and a static route /static/ to the
// same upstream.
func policyGateway(t *testing.T, upstreamURL, timeouts string, ps ...policies.Policy) string {
	t.Helper()
	_, addr := policyGatewayG(t, upstreamURL, timeouts, ps...)
	return addr
}

// policyGatewayG is policyGateway that also returns the Gateway.
func policyGatewayG(t *testing.T, upstreamURL, timeouts string, ps ...policies.Policy) (*Gateway, string) {
	t.Helper()
	hostPort := strings.TrimPrefix(upstreamURL, "http://")
	host, p, _ := strings.Cut(hostPort, ":")
	return aiGateway(t, slog.New(slog.DiscardHandler), ps, `
server: {drainTimeout: 2s}
listeners: [{name: web, address: 127.0.0.1, port: %d}]
routes:
  - name: llm
    rules:
      - matches: [{path: {type: PathPrefix, value: /v1}}]
        backendRefs: [{name: b0}]
        %s
      - matches: [{path: {type: PathPrefix, value: /static}}]
        backendRefs: [{name: web}]
backends:
  - name: b0
    ai: {provider: openai-compatible, baseURL: %s, models: [chat], auth: {apiKey: k}}
  - name: web
    static: {endpoints: [{host: %s, port: %s}]}
`, timeouts, upstreamURL, host, p)
}

// TestReservationSettledOnce: however an exchange ends (an answer, a stream,
// an upstream error, a timeout, a client that leaves mid-stream, a policy
// that denies, a panic), every reservation made for it is settled exactly
// once, with the status the client got.
func TestReservationSettledOnce(t *testing.T) {
	chat := `{"model":"chat","messages":[{"role":"user","content":"hi"}]}`
	stream := `{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name       string
		upstream   string // reviewUpstream mode, or "slow"
		timeouts   string
		extra      []policies.Policy
		body       string
		leaveAfter int
		wantStatus int
		wantTokens int // -1: an estimate, more than 0
		wantCtxErr error
	}{
		{name: "success", upstream: "ok", body: chat, wantStatus: 200, wantTokens: 2},
		{name: "stream success", upstream: "ok", body: stream, wantStatus: 200},
		{name: "upstream error", upstream: "500", body: chat, wantStatus: 500},
		{name: "timeout before the answer", upstream: "slow", timeouts: "timeouts: {request: 200ms}", body: chat, wantStatus: 504,
			wantCtxErr: context.DeadlineExceeded},
		{name: "timeout mid-stream", upstream: "stall", timeouts: "timeouts: {request: 300ms}", body: stream, wantStatus: 200,
			wantTokens: -1, wantCtxErr: context.DeadlineExceeded},
		{name: "client leaves mid-stream", upstream: "ticking", body: stream, leaveAfter: 2, wantStatus: 200,
			wantTokens: 7, wantCtxErr: context.Canceled},
		{name: "denied by a later policy", upstream: "ok", extra: []policies.Policy{denyAll{}}, body: chat, wantStatus: 429},
		{name: "panic in a later policy", upstream: "ok", extra: []policies.Policy{panicOnRequest{}}, body: chat, wantStatus: 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var url string
			switch tt.upstream {
			case "slow":
				url = slowUpstream(t, 2*time.Second).URL
			case "ticking":
				url = tickingUpstream(t).URL
			default:
				url = newReviewUpstream(t, tt.upstream).URL
			}
			l := newLedger(policies.PhaseAuth)
			addr := policyGateway(t, url, tt.timeouts, append([]policies.Policy{l}, tt.extra...)...)
			id := "settle-" + strings.ReplaceAll(tt.name, " ", "-")
			status, _ := rawExchange(t, addr, "POST", id, tt.body, tt.leaveAfter)
			if tt.leaveAfter == 0 && !strings.Contains(status, fmt.Sprint(tt.wantStatus)) {
				t.Fatalf("status line %q, want %d", status, tt.wantStatus)
			}
			got := l.wait(t, id)
			if len(got) != 1 {
				t.Fatalf("settled %d times, want once: %+v", len(got), got)
			}
			if got[0].status != tt.wantStatus {
				t.Errorf("settled with status %d, want %d", got[0].status, tt.wantStatus)
			}
			switch u := got[0].usage; {
			case tt.wantTokens < 0 && (!u.Estimated || u.TotalTokens <= 0):
				t.Errorf("settled with %+v, want an estimate", u)
			case tt.wantTokens >= 0 && (u.Estimated || u.TotalTokens != tt.wantTokens):
				t.Errorf("settled with %+v, want %d tokens as reported", u, tt.wantTokens)
			}
			if got[0].ctxErr != tt.wantCtxErr {
				t.Errorf("request context error at settlement = %v, want %v", got[0].ctxErr, tt.wantCtxErr)
			}
			if want := tt.timeouts != ""; got[0].hasCtxDL != want {
				t.Errorf("policy context deadline set = %v, want %v", got[0].hasCtxDL, want)
			}
		})
	}
}

// TestPoliciesRunOnEveryKind: the chain runs for static routes and for
// GET /v1/models, not only for AI operations.
func TestPoliciesRunOnEveryKind(t *testing.T) {
	up := newReviewUpstream(t, "ok")
	l := newLedger(policies.PhaseAuth)
	addr := policyGateway(t, up.URL, "", l)
	tests := []struct {
		name, method, path string
		wantRoute          string
	}{
		{name: "static route", method: "GET", path: "/static/x", wantRoute: "default.llm.1.0"},
		{name: "models", method: "GET", path: "/v1/models", wantRoute: "default.llm.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "kind-" + strings.ReplaceAll(tt.name, " ", "-")
			req, _ := http.NewRequest(tt.method, "http://"+addr+tt.path, nil)
			req.Header.Set("X-Request-Id", id)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := l.wait(t, id)
			if len(got) != 1 || got[0].route != tt.wantRoute || got[0].status != resp.StatusCode {
				t.Fatalf("settlements = %+v, want one on %s with status %d", got, tt.wantRoute, resp.StatusCode)
			}
		})
	}
	// A denial on a static route is written in the gateway's JSON shape.
	deny := policyGateway(t, up.URL, "", denyAll{})
	resp, err := http.Get("http://" + deny + "/static/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" {
		t.Fatalf("denied static request: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// TestShutdownWaitsForUsageCollection: a stream whose client left is still
// in flight while the gateway collects its usage, so a shutdown right after
// waits for it and its reservations are settled with the usage the upstream
// reported.
func TestShutdownWaitsForUsageCollection(t *testing.T) {
	l := newLedger(policies.PhaseAuth)
	g, addr := policyGatewayG(t, tickingUpstream(t).URL, "", l)
	stream := `{"model":"chat","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	_, _ = rawExchange(t, addr, "POST", "leave-then-shutdown", stream, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	l.mu.Lock()
	got := l.byID["leave-then-shutdown"]
	l.mu.Unlock()
	if len(got) != 1 || got[0].usage.TotalTokens != 7 || got[0].usage.Estimated {
		t.Fatalf("settled before shutdown returned: %+v, want once with the reported 7 tokens", got)
	}
}
