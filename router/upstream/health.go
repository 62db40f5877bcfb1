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
		return ProbeGET(client, url, nil, timeout)
	}, log)
}

// Doer sends one request with a timeout (fasthttp's HostClient and Client).
type Doer interface {
	DoTimeout(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error
}

// ProbeGET sends one health check, GET url with the headers in header (name,
// value pairs), through c: true for a 2xx or 3xx answer within timeout.
func ProbeGET(c Doer, url string, header [][2]string, timeout time.Duration) bool {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodGet)
	req.Header.Set("User-Agent", "switchyard-health-check")
	for _, h := range header {
		req.Header.Set(h[0], h[1])
	}
	if err := c.DoTimeout(req, resp, timeout); err != nil {
		return false
	}
	code := resp.StatusCode()
	return code >= 200 && code < 400
}
