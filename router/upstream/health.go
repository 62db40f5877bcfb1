package upstream

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// Health check defaults, used when the snapshot left a field zero.
const (
	defaultCheckInterval = 10 * time.Second
	defaultCheckTimeout  = 2 * time.Second
)

// startChecker starts the endpoint's active health checker unless it has none or one
// is already running (state kept across a Rebuild).
func (st *endpointState) startChecker(log *slog.Logger) {
	if st.hc == nil || st.client == nil {
		return
	}
	st.checkMu.Lock()
	defer st.checkMu.Unlock()
	if st.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	st.cancel = cancel
	go st.runChecks(ctx, log)
}

// runChecks probes the endpoint every interval until ctx ends. unhealthyThreshold
// consecutive failures mark it down, healthyThreshold consecutive successes up;
// a 2xx or 3xx answer within the timeout is a success.
func (st *endpointState) runChecks(ctx context.Context, log *slog.Logger) {
	hc := st.hc
	interval := hc.Interval.D()
	if interval <= 0 {
		interval = defaultCheckInterval
	}
	timeout := hc.Timeout.D()
	if timeout <= 0 {
		timeout = defaultCheckTimeout
	}
	down, up := max(hc.UnhealthyThreshold, 1), max(hc.HealthyThreshold, 1)
	path := hc.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	scheme := "http://"
	if st.tlsConf != nil {
		scheme = "https://"
	}
	url := scheme + st.addr + path
	dialer := &net.Dialer{Timeout: min(st.connectTimeout, timeout)}
	client := &fasthttp.HostClient{
		Addr:                      st.addr,
		IsTLS:                     st.tlsConf != nil,
		TLSConfig:                 st.tlsConf,
		Dial:                      func(addr string) (net.Conn, error) { return dialer.DialContext(ctx, "tcp", addr) },
		MaxConns:                  1,
		MaxIdleConnDuration:       2 * interval,
		MaxIdemponentCallAttempts: 1,
		NoDefaultUserAgentHeader:  true,
		MaxResponseBodySize:       64 << 10,
	}
	defer client.CloseIdleConnections()

	fails, oks := 0, 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		ok := probe(client, url, timeout)
		if ctx.Err() != nil {
			return
		}
		if ok {
			fails, oks = 0, oks+1
			if oks >= up && !st.healthy.Load() {
				st.healthy.Store(true)
				log.Info("upstream: endpoint healthy", "endpoint", st.addr)
			}
		} else {
			fails, oks = fails+1, 0
			if fails >= down && st.healthy.Load() {
				st.healthy.Store(false)
				log.Warn("upstream: endpoint unhealthy", "endpoint", st.addr, "failures", fails)
			}
		}
		timer.Reset(interval)
	}
}

// probe sends one health check request.
func probe(c *fasthttp.HostClient, url string, timeout time.Duration) bool {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodGet)
	req.Header.Set("User-Agent", "switchyard-health-check")
	if err := c.DoTimeout(req, resp, timeout); err != nil {
		return false
	}
	code := resp.StatusCode()
	return code >= 200 && code < 400
}
