package config

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// An endpoint picker's failure mode (endpointPicker.failureMode) takes the
// same values as a shared store's: FailClose (default) answers 500 when the
// picker fails or does not answer in time; FailOpen sends the request to a
// pool endpoint of the gateway's choosing.

// Application protocols of an InferencePool's model servers.
const (
	AppProtocolHTTP = "http"
	AppProtocolH2C  = "kubernetes.io/h2c"
)

// InferencePool is a set of model servers (vLLM, SGLang, ...) that speak the
// OpenAI API, like the Gateway API Inference Extension's InferencePool. For
// each request an endpoint picker (an ext_proc gRPC server, the EPP) or the
// gateway's built-in picker chooses the server. A rule serves it through the
// OpenAI front end, with the same policies as any AI backend, and may list a
// cloud provider at a higher priority as its fallback.
type InferencePool struct {
	// Endpoints are the model servers: "host" (one endpoint per target port)
	// or "host:port". In a cluster the control plane fills them from the
	// pool's selector.
	Endpoints []string `yaml:"endpoints" json:"endpoints"`
	// TargetPorts are the ports a bare host serves on (1 to 8 of them).
	TargetPorts []int `yaml:"targetPorts" json:"targetPorts,omitempty"`
	// AppProtocol is how the gateway speaks to the model servers: http
	// (HTTP/1.1, the default) or kubernetes.io/h2c (HTTP/2 cleartext with
	// prior knowledge, also for the built-in picker's metrics scrapes).
	AppProtocol string `yaml:"appProtocol" json:"appProtocol,omitempty"`
	// EndpointPicker is the external picker; nil or an empty address selects
	// the built-in picker.
	EndpointPicker *EndpointPicker `yaml:"endpointPicker" json:"endpointPicker,omitempty"`
	// Picker tunes the built-in picker.
	Picker *BuiltinPicker `yaml:"picker" json:"picker,omitempty"`

	// Models are the client-facing model names the pool serves; empty means
	// any name (the pool is a catch-all of its rule).
	Models []string `yaml:"models" json:"models,omitempty"`
	// Aliases maps a client-facing name to the name the model servers serve.
	Aliases map[string]string `yaml:"aliases" json:"aliases,omitempty"`
	// Timeout bounds one attempt to its response headers, picker included (default 60s).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// StreamIdleTimeout ends a stream whose server sends nothing for this long (0: Timeout).
	StreamIdleTimeout Duration `yaml:"streamIdleTimeout" json:"streamIdleTimeout,omitempty"`
	// MaxConnections per model server (default 1024).
	MaxConnections int `yaml:"maxConnections" json:"maxConnections,omitempty"`
}

// EndpointPicker is how the gateway reaches an external endpoint picker.
type EndpointPicker struct {
	// Address is the picker's ext_proc gRPC address, host:port (pickers
	// serve on 9002). Empty selects the built-in picker.
	Address string `yaml:"address" json:"address,omitempty"`
	// TLS, when set and enabled, makes the gateway speak TLS to the picker.
	TLS *PickerTLS `yaml:"tls" json:"tls,omitempty"`
	// FailureMode is FailClose (default: 500 when the picker fails) or
	// FailOpen (a pool endpoint of the gateway's choosing serves).
	FailureMode string `yaml:"failureMode" json:"failureMode,omitempty"`
	// Timeout bounds the wait for the picker's decision (default 5s).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// PickerTLS configures TLS to an endpoint picker. Pickers often ship a
// self-signed certificate: insecureSkipVerify accepts it.
type PickerTLS struct {
	// Enabled turns TLS on (default true when the block is present).
	Enabled *bool `yaml:"enabled" json:"enabled,omitempty"`
	// InsecureSkipVerify accepts any certificate (self-signed pickers).
	InsecureSkipVerify bool `yaml:"insecureSkipVerify" json:"insecureSkipVerify,omitempty"`
	// CAFile is a PEM bundle of trusted roots (default: system roots).
	CAFile string `yaml:"caFile" json:"caFile,omitempty"`
	// ServerName overrides the verified name (default: the address's host).
	ServerName string `yaml:"serverName" json:"serverName,omitempty"`
}

// On reports whether TLS is on.
func (t *PickerTLS) On() bool { return t != nil && (t.Enabled == nil || *t.Enabled) }

// BuiltinPicker tunes the gateway's own picker: it scrapes each model
// server's vllm:* metrics and picks by queue depth and KV-cache use, with
// prefix affinity.
type BuiltinPicker struct {
	// MetricsPath is scraped on every endpoint (default /metrics).
	MetricsPath string `yaml:"metricsPath" json:"metricsPath,omitempty"`
	// Interval between scrapes (default 200ms).
	Interval Duration `yaml:"interval" json:"interval,omitempty"`
	// PrefixBytes is how much of the prompt's start the prefix affinity
	// hashes (default 256; 0 with prefixAffinity false turns it off).
	PrefixBytes int `yaml:"prefixBytes" json:"prefixBytes,omitempty"`
	// PrefixAffinity keeps requests that share a prompt prefix on one server
	// while it is not much busier than the least loaded (default true).
	PrefixAffinity *bool `yaml:"prefixAffinity" json:"prefixAffinity,omitempty"`
}

// External reports whether the pool uses an external endpoint picker.
func (p *InferencePool) External() bool {
	return p.EndpointPicker != nil && p.EndpointPicker.Address != ""
}

// FailureMode is the picker's failure mode with its default.
func (p *InferencePool) FailureMode() string {
	if p.EndpointPicker == nil || p.EndpointPicker.FailureMode == "" {
		return FailClose
	}
	return p.EndpointPicker.FailureMode
}

// Addresses lists the pool's endpoints as host:port: each bare host once per
// target port, each host:port as it is, in order, without duplicates.
func (p *InferencePool) Addresses() []string {
	var out []string
	seen := map[string]bool{}
	add := func(a string) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, e := range p.Endpoints {
		if _, _, err := net.SplitHostPort(e); err == nil {
			add(e)
			continue
		}
		for _, port := range p.TargetPorts {
			add(net.JoinHostPort(strings.Trim(e, "[]"), strconv.Itoa(port)))
		}
	}
	return out
}

// defaultInferencePool fills a pool's zero fields.
func defaultInferencePool(p *InferencePool) {
	setDefault(&p.AppProtocol, AppProtocolHTTP)
	setDefault(&p.Timeout, Duration(60*time.Second))
	setDefault(&p.MaxConnections, 1024)
	if e := p.EndpointPicker; e != nil {
		setDefault(&e.FailureMode, FailClose)
		setDefault(&e.Timeout, Duration(5*time.Second))
	}
	if p.Picker == nil {
		p.Picker = &BuiltinPicker{}
	}
	setDefault(&p.Picker.MetricsPath, "/metrics")
	setDefault(&p.Picker.Interval, Duration(200*time.Millisecond))
	if p.Picker.PrefixAffinity == nil {
		on := true
		p.Picker.PrefixAffinity = &on
	}
	if *p.Picker.PrefixAffinity {
		setDefault(&p.Picker.PrefixBytes, 256)
	}
}

// validateInferencePool checks a pool; p is its path (backends[i].inferencePool).
func validateInferencePool(ip *InferencePool, p string, r *reporter) {
	if len(ip.Endpoints) == 0 {
		r.add(p+".endpoints", "inferencePool needs at least one endpoint (host or host:port)")
	}
	if len(ip.TargetPorts) > 8 {
		r.add(p+".targetPorts", "inferencePool takes 1 to 8 targetPorts, not %d", len(ip.TargetPorts))
	}
	for i, port := range ip.TargetPorts {
		if port < 1 || port > 65535 {
			r.add(fmt.Sprintf("%s.targetPorts[%d]", p, i), "target port %d must be between 1 and 65535", port)
		}
	}
	for i, e := range ip.Endpoints {
		ep := fmt.Sprintf("%s.endpoints[%d]", p, i)
		host, port, err := net.SplitHostPort(e)
		switch {
		case strings.TrimSpace(e) == "":
			r.add(ep, "endpoint is empty")
		case err != nil && strings.Contains(strings.Trim(e, "[]"), ":") && net.ParseIP(strings.Trim(e, "[]")) == nil:
			r.add(ep, "endpoint %q is neither host nor host:port", e)
		case err != nil && len(ip.TargetPorts) == 0:
			r.add(ep, "endpoint %q has no port and the pool sets no targetPorts", e)
		case err == nil && host == "":
			r.add(ep, "endpoint %q has no host", e)
		case err == nil:
			if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
				r.add(ep, "endpoint %q: port must be between 1 and 65535", e)
			}
		}
	}
	switch ip.AppProtocol {
	case AppProtocolHTTP, AppProtocolH2C:
	default:
		r.add(p+".appProtocol", "unknown appProtocol %q (use %s or %s)", ip.AppProtocol, AppProtocolHTTP, AppProtocolH2C)
	}
	nonNegative(r, p+".timeout", ip.Timeout)
	nonNegative(r, p+".streamIdleTimeout", ip.StreamIdleTimeout)
	nonNegativeInt(r, p+".maxConnections", ip.MaxConnections)
	if e := ip.EndpointPicker; e != nil {
		ep := p + ".endpointPicker"
		if e.Address != "" {
			if host, port, err := net.SplitHostPort(e.Address); err != nil || host == "" || port == "" {
				r.add(ep+".address", "picker address %q must be host:port", e.Address)
			}
		}
		switch e.FailureMode {
		case FailClose, FailOpen:
		default:
			r.add(ep+".failureMode", "unknown failureMode %q (use FailClose or FailOpen)", e.FailureMode)
		}
		nonNegative(r, ep+".timeout", e.Timeout)
		if t := e.TLS; t != nil && t.CAFile != "" {
			validateBackendTLS(&BackendTLS{CAFile: t.CAFile}, ep+".tls", r)
		}
	}
	if b := ip.Picker; b != nil {
		bp := p + ".picker"
		if b.MetricsPath != "" && !strings.HasPrefix(b.MetricsPath, "/") {
			r.add(bp+".metricsPath", "metricsPath %q must begin with \"/\"", b.MetricsPath)
		}
		nonNegative(r, bp+".interval", b.Interval)
		nonNegativeInt(r, bp+".prefixBytes", b.PrefixBytes)
	}
}

// checkPoolSubset checks a backendRef's endpoints: only an inferencePool
// takes them, and each must name some of the pool's endpoints.
func checkPoolSubset(b *Backend, subset []string, p string, r *reporter) {
	if b.InferencePool == nil {
		r.add(p, "endpoints apply to an inferencePool backend only")
		return
	}
	addrs := b.InferencePool.Addresses()
	for i, e := range subset {
		found := false
		for _, a := range addrs {
			if a == e || strings.HasPrefix(a, e+":") || strings.HasPrefix(a, "["+e+"]:") {
				found = true
				break
			}
		}
		if !found {
			r.add(fmt.Sprintf("%s[%d]", p, i), "%q names none of the pool's endpoints", e)
		}
	}
}
