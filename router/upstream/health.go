package upstream

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// startChecker starts the endpoint's active health checker unless it has
// none or one is already running.
func (st *endpointState) startChecker(log *slog.Logger) {
	if st.hc == nil || st.client == nil {
		return
	}
	st.checkMu.Lock()
	defer st.checkMu.Unlock()
	if st.checker != nil {
		return
	}
	interval, timeout, _, _ := checkTimes(st.hc)
	path := st.hc.Path
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
		Dial:                      func(addr string) (net.Conn, error) { return dialer.Dial("tcp", addr) },
		MaxConns:                  1,
		MaxIdleConnDuration:       2 * interval,
		MaxIdemponentCallAttempts: 1,
		NoDefaultUserAgentHeader:  true,
		MaxResponseBodySize:       64 << 10,
	}
	st.checkClient = client
	st.checker = StartChecker(st.hc, st.addr, &st.healthy, func(_ context.Context, timeout time.Duration) bool {
		return probe(client, url, timeout)
	}, log)
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
