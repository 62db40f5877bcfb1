package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
)

// validate checks c (defaults applied) and records fatal problems in r.
func validate(c *Config, r *reporter) {
	validateServer(&c.Server, r)
	validateListeners(c.Listeners, r)
	validateBackends(c.Backends, r)
	validateRoutes(c.Routes, r)
	validateL4Routes(c, r)
	validateGRPCRoutes(c.GRPCRoutes, r)
	validateAccess(c.Access, r)
}

// nonNegative reports a negative duration (possible in a Config built in code).
func nonNegative(r *reporter, path string, d Duration) {
	if d < 0 {
		r.add(path, "duration %s must not be negative", d.D())
	}
}

// nonNegativeInt reports a count below zero.
func nonNegativeInt(r *reporter, path string, v int) {
	if v < 0 {
		r.add(path, "must not be negative")
	}
}

// percent reports a percentage outside 0..100.
func percent(r *reporter, path string, v int) {
	if v < 0 || v > 100 {
		r.add(path, "percent %d must be between 0 and 100", v)
	}
}

func validateServer(s *Server, r *reporter) {
	nonNegativeInt(r, "server.maxHeaderBytes", s.MaxHeaderBytes)
	nonNegativeInt(r, "server.maxBodyBytes", s.MaxBodyBytes)
	nonNegative(r, "server.readTimeout", s.ReadTimeout)
	nonNegative(r, "server.writeTimeout", s.WriteTimeout)
	nonNegative(r, "server.streamWriteTimeout", s.StreamWriteTimeout)
	nonNegative(r, "server.idleTimeout", s.IdleTimeout)
	nonNegative(r, "server.drainTimeout", s.DrainTimeout)
}

func validateListeners(ls []Listener, r *reporter) {
	names := map[string]int{}    // namespace/gateway.name -> index
	ports := map[int]*Listener{} // first listener on each port
	portIdx := map[int]int{}     // its index
	for i := range ls {
		l := &ls[i]
		p := fmt.Sprintf("listeners[%d]", i)
		if l.Name == "" {
			r.add(p+".name", "listener name is required")
		} else {
			key := listenerKey(l)
			if j, dup := names[key]; dup {
				r.add(p+".name", "duplicate listener name %q in gateway %s/%s (also listeners[%d])", l.Name, l.Namespace, l.Gateway, j)
			} else {
				names[key] = i
			}
		}
		if l.Port < 1 || l.Port > 65535 {
			r.add(p+".port", "port %d must be between 1 and 65535", l.Port)
		}
		protoOK := true
		switch l.Protocol {
		case ProtocolHTTP, ProtocolHTTPS, ProtocolTCP, ProtocolTLS:
		default:
			protoOK = false
			r.add(p+".protocol", "unknown protocol %q (use HTTP, HTTPS, TCP or TLS)", l.Protocol)
		}
		if protoOK {
			validateListenerTLS(l, p, r)
		}
		if l.Port >= 1 && l.Port <= 65535 && protoOK {
			if first, ok := ports[l.Port]; ok {
				if first.Protocol != l.Protocol {
					r.add(p+".protocol", "port %d is already used by listeners[%d] (%q) with protocol %s; listeners on one port must share a protocol",
						l.Port, portIdx[l.Port], first.Name, first.Protocol)
				}
				if first.Address != l.Address {
					r.add(p+".address", "port %d is already bound on address %s by listeners[%d]; listeners on one port must share an address",
						l.Port, first.Address, portIdx[l.Port])
				}
			} else {
				ports[l.Port] = l
				portIdx[l.Port] = i
			}
		}
		if h := l.Hostname; h != "" && !validHostname(h, true) {
			r.add(p+".hostname", "invalid hostname %q", h)
		}
	}
}

// validateListenerTLS checks the TLS block of an HTTP or HTTPS listener.
func validateListenerTLS(l *Listener, p string, r *reporter) {
	if l.H2C && l.Protocol != ProtocolHTTP {
		r.add(p+".h2c", "h2c applies to HTTP listeners (HTTPS listeners offer h2 by ALPN)")
	}
	if l.Protocol == ProtocolHTTP || l.Protocol == ProtocolTCP {
		if l.TLS != nil {
			r.add(p+".tls", "tls is only allowed on HTTPS and TLS listeners")
		}
		return
	}
	if l.Protocol == ProtocolTLS {
		if l.TLS == nil {
			r.add(p+".tls", "TLS listener needs tls.mode (Passthrough, or Terminate with certificates)")
			return
		}
		switch l.TLS.Mode {
		case TLSModePassthrough:
			if len(l.TLS.Certificates) > 0 {
				r.add(p+".tls.certificates", "a Passthrough listener does not terminate TLS: it takes no certificates")
			}
			return
		case TLSModeTerminate:
		default:
			r.add(p+".tls.mode", "unknown TLS mode %q (use Passthrough or Terminate)", l.TLS.Mode)
			return
		}
	}
	if l.TLS == nil || len(l.TLS.Certificates) == 0 {
		r.add(p, "%s listener needs tls.certificates", l.Protocol)
		return
	}
	if l.Protocol == ProtocolHTTPS && l.TLS.Mode != TLSModeTerminate {
		r.add(p+".tls.mode", "HTTPS listeners terminate TLS: mode must be %s, not %q", TLSModeTerminate, l.TLS.Mode)
	}
	for j, c := range l.TLS.Certificates {
		cp := fmt.Sprintf("%s.tls.certificates[%d]", p, j)
		if c.CertPEM != "" || c.KeyPEM != "" {
			if c.CertFile != "" || c.KeyFile != "" {
				r.add(cp, "set certFile and keyFile, or certPEM and keyPEM, not both")
				continue
			}
			if _, err := tls.X509KeyPair([]byte(c.CertPEM), []byte(c.KeyPEM)); err != nil {
				r.add(cp, "certPEM and keyPEM are not a valid key pair: %v", err)
			}
			continue
		}
		certPEM := readPEM(r, cp+".certFile", "certFile", c.CertFile)
		keyPEM := readPEM(r, cp+".keyFile", "keyFile", c.KeyFile)
		if certPEM == nil || keyPEM == nil {
			continue
		}
		if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
			r.add(cp, "certFile %q and keyFile %q are not a valid key pair: %v", c.CertFile, c.KeyFile, err)
		}
	}
}

// readPEM reads a certificate or key file, reporting a missing field or unreadable file.
func readPEM(r *reporter, path, field, file string) []byte {
	if file == "" {
		r.add(path, "%s is required", field)
		return nil
	}
	b, err := os.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.add(path, "%s %q does not exist", field, file)
		return nil
	case err != nil:
		r.add(path, "%s %q cannot be read: %v", field, file, errors.Unwrap(err))
		return nil
	}
	return b
}

// validHostname checks a DNS name, optionally with a leading "*." wildcard label.
func validHostname(h string, wildcard bool) bool {
	if wildcard {
		h = strings.TrimPrefix(h, "*.")
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func validateBackends(bs []Backend, r *reporter) {
	names := map[string]int{}
	for i := range bs {
		b := &bs[i]
		p := fmt.Sprintf("backends[%d]", i)
		if b.Name == "" {
			r.add(p+".name", "backend name is required")
		} else if j, dup := names[b.Name]; dup {
			r.add(p+".name", "duplicate backend name %q (also backends[%d])", b.Name, j)
		} else {
			names[b.Name] = i
		}
		kinds := 0
		for _, set := range []bool{b.Static != nil, b.AI != nil, b.InferencePool != nil, b.MCP != nil, b.A2A != nil} {
			if set {
				kinds++
			}
		}
		switch {
		case kinds == 0:
			r.add(p, "backend must set exactly one of static, ai, inferencePool, mcp or a2a")
		case kinds > 1:
			r.add(p, "backend must set exactly one of static, ai, inferencePool, mcp or a2a, not several")
		case b.InferencePool != nil:
			validateInferencePool(b.InferencePool, p+".inferencePool", r)
		case b.MCP != nil:
			validateMCP(b.MCP, p+".mcp", r)
		case b.A2A != nil:
			validateA2A(b.A2A, p+".a2a", r)
		case b.Static != nil:
			validateStatic(b.Static, p+".static", r)
		default:
			validateAI(b.AI, p+".ai", r)
		}
		validatePolicies(b.Policies, p+".policies", r)
	}
}

func validateStatic(s *StaticBackend, p string, r *reporter) {
	if len(s.Endpoints) == 0 {
		r.add(p+".endpoints", "static backend needs at least one endpoint")
	}
	for i, e := range s.Endpoints {
		ep := fmt.Sprintf("%s.endpoints[%d]", p, i)
		if e.Host == "" {
			r.add(ep+".host", "endpoint host is required")
		}
		if e.Port < 1 || e.Port > 65535 {
			r.add(ep+".port", "endpoint port %d must be between 1 and 65535", e.Port)
		}
		if e.Weight < 0 {
			r.add(ep+".weight", "weight must not be negative")
		}
	}
	switch s.LoadBalancer.Type {
	case LBRoundRobin, LBRandom, LBLeastRequest:
	default:
		r.add(p+".loadBalancer.type", "unknown load balancer type %q (use RoundRobin, Random or LeastRequest)", s.LoadBalancer.Type)
	}
	validateHealthCheck(s.HealthCheck, p+".healthCheck", r)
	if o := s.OutlierDetection; o != nil {
		op := p + ".outlierDetection"
		nonNegativeInt(r, op+".consecutive5xx", o.Consecutive5xx)
		nonNegative(r, op+".baseEjectionTime", o.BaseEjectionTime)
		percent(r, op+".maxEjectionPercent", o.MaxEjectionPercent)
	}
	nonNegativeInt(r, p+".connectionPool.maxConnections", s.ConnectionPool.MaxConnections)
	validateBackendTLS(s.TLS, p+".tls", r)
	nonNegative(r, p+".connectionPool.maxIdleTime", s.ConnectionPool.MaxIdleTime)
	nonNegative(r, p+".connectionPool.connectTimeout", s.ConnectionPool.ConnectTimeout)
}

// knownProviders lists the AI providers.
func knownProviders() []string {
	return []string{ProviderOpenAI, ProviderAzure, ProviderOpenAICompatible, ProviderSim,
		ProviderBedrock, ProviderVertex, ProviderGemini, ProviderAnthropic}
}

// validateBackendTLS checks that a backend's caFile holds PEM certificates.
func validateBackendTLS(t *BackendTLS, p string, r *reporter) {
	if t == nil || t.CAFile == "" {
		return
	}
	if b := readPEM(r, p+".caFile", "caFile", t.CAFile); b != nil {
		if ok := x509.NewCertPool().AppendCertsFromPEM(b); !ok {
			r.add(p+".caFile", "caFile %q holds no PEM certificate", t.CAFile)
		}
	}
}

// validateHealthCheck checks an active health check (h may be nil).
func validateHealthCheck(h *HealthCheck, hp string, r *reporter) {
	if h == nil {
		return
	}
	if !strings.HasPrefix(h.Path, "/") {
		r.add(hp+".path", "health check path %q must begin with \"/\"", h.Path)
	}
	nonNegative(r, hp+".interval", h.Interval)
	nonNegative(r, hp+".timeout", h.Timeout)
	nonNegativeInt(r, hp+".unhealthyThreshold", h.UnhealthyThreshold)
	nonNegativeInt(r, hp+".healthyThreshold", h.HealthyThreshold)
}

func validateAI(a *AIBackend, p string, r *reporter) {
	if h := a.HealthCheck; h != nil {
		switch {
		case a.Provider == ProviderSim:
			r.add(p+".healthCheck", "healthCheck does not apply to provider sim")
		case a.BaseURL == "":
			r.add(p+".healthCheck", "healthCheck needs baseURL: it probes baseURL+path")
		default:
			validateHealthCheck(h, p+".healthCheck", r)
		}
	}
	switch {
	case a.TLS == nil:
	case a.Provider == ProviderSim:
		r.add(p+".tls", "tls does not apply to provider sim")
	case strings.HasPrefix(strings.ToLower(a.BaseURL), "http://"):
		r.add(p+".tls", "tls applies to an https baseURL, not %q", redactURL(a.BaseURL))
	default:
		validateBackendTLS(a.TLS, p+".tls", r)
	}
	known := false
	for _, k := range knownProviders() {
		known = known || a.Provider == k
	}
	if !known {
		r.add(p+".provider", "unknown provider %q (use one of %s)", a.Provider, strings.Join(knownProviders(), ", "))
	}
	if a.BaseURL != "" {
		u, err := url.Parse(a.BaseURL)
		switch {
		case err != nil:
			r.add(p+".baseURL", "baseURL is not a valid URL: %v", errors.Unwrap(err))
		case u.Scheme != "http" && u.Scheme != "https":
			r.add(p+".baseURL", "baseURL %q must start with http:// or https://", redactURL(a.BaseURL))
		case u.Host == "":
			r.add(p+".baseURL", "baseURL %q has no host", redactURL(a.BaseURL))
		}
	}
	switch a.Provider {
	case ProviderAzure:
		if a.BaseURL == "" {
			r.add(p+".baseURL", "provider azure needs baseURL (https://<resource>.openai.azure.com)")
		}
	case ProviderBedrock:
		if a.Region == "" {
			r.add(p+".region", "provider bedrock needs region")
		}
	case ProviderVertex:
		if a.Project == "" {
			r.add(p+".project", "provider vertex needs project")
		}
		if a.Region == "" {
			r.add(p+".region", "provider vertex needs region (the location, e.g. us-central1)")
		}
	}
	var modes []string
	if a.Auth.APIKey != "" || a.Auth.APIKeyFile != "" {
		modes = append(modes, "apiKey")
	}
	if a.Auth.APIKey != "" && a.Auth.APIKeyFile != "" {
		r.add(p+".auth", "set apiKey or apiKeyFile, not both")
	}
	if a.Auth.Passthrough {
		modes = append(modes, "passthrough")
	}
	if a.Auth.AWS != nil {
		modes = append(modes, "aws")
	}
	if a.Auth.GCP != nil {
		modes = append(modes, "gcp")
	}
	if len(modes) > 1 {
		r.add(p+".auth", "at most one auth mode may be set, found %s", strings.Join(modes, ", "))
	}
	nonNegative(r, p+".timeout", a.Timeout)
	nonNegative(r, p+".streamIdleTimeout", a.StreamIdleTimeout)
	nonNegativeInt(r, p+".maxConnections", a.MaxConnections)
	if s := a.Sim; s != nil {
		nonNegative(r, p+".sim.timeToFirstToken", s.TimeToFirstToken)
		nonNegative(r, p+".sim.interTokenLatency", s.InterTokenLatency)
		nonNegativeInt(r, p+".sim.outputTokens", s.OutputTokens)
		nonNegativeInt(r, p+".sim.maxRunning", s.MaxRunning)
		if s.Mode != "lorem" && s.Mode != "echo" {
			r.add(p+".sim.mode", "unknown sim mode %q (use lorem or echo)", s.Mode)
		}
	}
}

// listenerKey is namespace/gateway.listener.
func listenerKey(l *Listener) string {
	return l.Namespace + "/" + l.Gateway + "." + l.Name
}
