// Package config holds Switchyard's resource model as plain Go types: listeners
// (grouped into binds by port), routes, backends and their policies, shaped after
// the Kubernetes Gateway API. It loads YAML with file:line errors, substitutes the
// environment, applies defaults, validates, and compiles an immutable Snapshot.
//
// config is a leaf package: it imports only the standard library and a YAML library.
package config

// Config is one configuration file as the user wrote it (after env substitution).
type Config struct {
	// Server holds process-wide limits and timeouts.
	Server Server `yaml:"server" json:"server"`
	// Listeners are the ports and protocols the gateway accepts traffic on.
	Listeners []Listener `yaml:"listeners" json:"listeners"`
	// Routes match requests and send them to backends.
	Routes []Route `yaml:"routes" json:"routes"`
	// Backends are the destinations, global to all listeners.
	Backends []Backend `yaml:"backends" json:"backends"`
	// Access declares consumers, keys, limits, budgets and prices (nil: none).
	Access *Access `yaml:"access" json:"access,omitempty"`
	// TCPRoutes, TLSRoutes and GRPCRoutes are the other Gateway API route kinds (config/tcp.go, config/grpc.go).
	TCPRoutes  []TCPRoute  `yaml:"tcpRoutes" json:"tcpRoutes,omitempty"`
	TLSRoutes  []TLSRoute  `yaml:"tlsRoutes" json:"tlsRoutes,omitempty"`
	GRPCRoutes []GRPCRoute `yaml:"grpcRoutes" json:"grpcRoutes,omitempty"`
}

// Server holds process-wide limits. Zero values take the defaults of [DefaultServer].
type Server struct {
	// MaxHeaderBytes bounds the request line plus headers (default 16 KiB).
	MaxHeaderBytes int `yaml:"maxHeaderBytes" json:"maxHeaderBytes"`
	// MaxBodyBytes bounds a buffered request body (default 32 MiB). Larger bodies get 413.
	MaxBodyBytes int `yaml:"maxBodyBytes" json:"maxBodyBytes"`
	// ReadTimeout bounds reading one request, headers and body (default 30s).
	ReadTimeout Duration `yaml:"readTimeout" json:"readTimeout"`
	// WriteTimeout bounds writing one non-streamed response (default 0: none, streams may be long).
	WriteTimeout Duration `yaml:"writeTimeout" json:"writeTimeout"`
	// StreamWriteTimeout bounds each write of a streamed response (one SSE
	// event) to a client: a client that stops reading for longer loses the
	// stream, which frees its connection and upstream call (default 30s; 0
	// means the default).
	StreamWriteTimeout Duration `yaml:"streamWriteTimeout" json:"streamWriteTimeout"`
	// IdleTimeout closes keep-alive connections idle for longer (default 90s).
	IdleTimeout Duration `yaml:"idleTimeout" json:"idleTimeout"`
	// DrainTimeout bounds how long shutdown waits for requests in flight (default 30s).
	DrainTimeout Duration `yaml:"drainTimeout" json:"drainTimeout"`
	// AccessLog turns the per-request JSON access log on (default true).
	AccessLog *bool `yaml:"accessLog" json:"accessLog"`
}

// Listener says how a port accepts traffic, like a Gateway API Gateway listener.
type Listener struct {
	// Name is the listener's section name, unique within its gateway.
	Name string `yaml:"name" json:"name"`
	// Namespace of the owning gateway (default "default").
	Namespace string `yaml:"namespace" json:"namespace"`
	// Gateway is the owning gateway's name (default "switchyard").
	Gateway string `yaml:"gateway" json:"gateway"`
	// Address is the IP to bind (default 0.0.0.0).
	Address string `yaml:"address" json:"address"`
	// Port is the TCP port.
	Port int `yaml:"port" json:"port"`
	// Protocol is HTTP, HTTPS, TCP or TLS.
	Protocol string `yaml:"protocol" json:"protocol"`
	// Hostname optionally restricts the listener to a host or wildcard (*.example.com).
	Hostname string `yaml:"hostname" json:"hostname,omitempty"`
	// TLS configures HTTPS and TLS listeners.
	TLS *ListenerTLS `yaml:"tls" json:"tls,omitempty"`
	// H2C makes an HTTP listener also accept HTTP/2 without TLS (prior
	// knowledge), for gRPC clients. HTTPS listeners offer h2 by ALPN always.
	H2C bool `yaml:"h2c" json:"h2c,omitempty"`
}

// Protocols a listener may speak.
const (
	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"
	ProtocolTCP   = "TCP"
	ProtocolTLS   = "TLS"
)

// ListenerTLS holds a listener's TLS mode and certificates.
type ListenerTLS struct {
	// Mode is Terminate (default) or Passthrough.
	Mode string `yaml:"mode" json:"mode"`
	// Certificates are chosen by SNI; the first is the default.
	Certificates []Certificate `yaml:"certificates" json:"certificates"`
}

// Certificate is a PEM certificate chain and key: files on disk, or the PEM
// itself (CertPEM and KeyPEM, as the Kubernetes controller delivers Secrets,
// in memory). One of the two pairs.
type Certificate struct {
	CertFile string `yaml:"certFile" json:"certFile,omitempty"`
	KeyFile  string `yaml:"keyFile" json:"keyFile,omitempty"`
	// CertPEM and KeyPEM are the chain and key themselves (redacted in /config).
	CertPEM Secret `yaml:"certPEM" json:"certPEM,omitempty"`
	KeyPEM  Secret `yaml:"keyPEM" json:"keyPEM,omitempty"`
}

// Route is an HTTPRoute: hostnames and rules attached to listeners.
type Route struct {
	// Name is namespace/name; a bare name takes namespace "default".
	Name string `yaml:"name" json:"name"`
	// Listeners names the listeners (section names) the route attaches to; empty means every HTTP(S) listener.
	Listeners []string `yaml:"listeners" json:"listeners,omitempty"`
	// Hostnames restricts the route to these hosts (exact or *.wildcard); empty means any.
	Hostnames []string `yaml:"hostnames" json:"hostnames,omitempty"`
	// Rules are tried by Gateway API precedence, not in order.
	Rules []RouteRule `yaml:"rules" json:"rules"`
	// Policies attach to every rule of the route; a rule's or a backend's own
	// attachment of the same policy wins.
	Policies *Policies `yaml:"policies" json:"policies,omitempty"`
}

// RouteRule is one HTTPRoute rule.
type RouteRule struct {
	// Name optionally names the rule (Gateway API sectionName for rules).
	Name string `yaml:"name" json:"name,omitempty"`
	// Matches: a request matching any of them selects this rule. Empty means PathPrefix "/".
	Matches []RouteMatch `yaml:"matches" json:"matches,omitempty"`
	// Filters run in order on matched requests.
	Filters []Filter `yaml:"filters" json:"filters,omitempty"`
	// BackendRefs are the destinations, chosen by weight (and, for AI backends, by model and priority).
	BackendRefs []BackendRef `yaml:"backendRefs" json:"backendRefs,omitempty"`
	// Timeouts bound the whole request and each backend attempt.
	Timeouts *Timeouts `yaml:"timeouts" json:"timeouts,omitempty"`
	// Retry retries failed attempts on other endpoints.
	Retry *Retry `yaml:"retry" json:"retry,omitempty"`
	// Policies attaches Switchyard policies (CORS, ...) to the rule; they win
	// over the route's and lose to its backends'.
	Policies *Policies `yaml:"policies" json:"policies,omitempty"`
}

// RouteMatch is one HTTPRouteMatch; all its conditions must hold.
type RouteMatch struct {
	Path        *PathMatch   `yaml:"path" json:"path,omitempty"`
	Headers     []ValueMatch `yaml:"headers" json:"headers,omitempty"`
	QueryParams []ValueMatch `yaml:"queryParams" json:"queryParams,omitempty"`
	Method      string       `yaml:"method" json:"method,omitempty"`
}

// Path match types.
const (
	PathExact             = "Exact"
	PathPrefix            = "PathPrefix"
	PathRegularExpression = "RegularExpression"
)

// PathMatch matches the request path.
type PathMatch struct {
	// Type is Exact, PathPrefix (default) or RegularExpression.
	Type  string `yaml:"type" json:"type"`
	Value string `yaml:"value" json:"value"`
}

// Value match types for headers and query parameters.
const (
	MatchExact             = "Exact"
	MatchRegularExpression = "RegularExpression"
)

// ValueMatch matches a header or query parameter by name.
type ValueMatch struct {
	// Type is Exact (default) or RegularExpression.
	Type  string `yaml:"type" json:"type,omitempty"`
	Name  string `yaml:"name" json:"name"`
	Value string `yaml:"value" json:"value"`
}

// Filter types (Gateway API HTTPRouteFilter).
const (
	FilterRequestHeaderModifier  = "RequestHeaderModifier"
	FilterResponseHeaderModifier = "ResponseHeaderModifier"
	FilterRequestRedirect        = "RequestRedirect"
	FilterURLRewrite             = "URLRewrite"
	FilterRequestMirror          = "RequestMirror"
)

// Filter is one HTTPRouteFilter; the field named by Type is set.
type Filter struct {
	Type                   string          `yaml:"type" json:"type"`
	RequestHeaderModifier  *HeaderModifier `yaml:"requestHeaderModifier" json:"requestHeaderModifier,omitempty"`
	ResponseHeaderModifier *HeaderModifier `yaml:"responseHeaderModifier" json:"responseHeaderModifier,omitempty"`
	RequestRedirect        *Redirect       `yaml:"requestRedirect" json:"requestRedirect,omitempty"`
	URLRewrite             *URLRewrite     `yaml:"urlRewrite" json:"urlRewrite,omitempty"`
	RequestMirror          *Mirror         `yaml:"requestMirror" json:"requestMirror,omitempty"`
}

// HeaderModifier sets, adds and removes headers.
type HeaderModifier struct {
	Set    []Header `yaml:"set" json:"set,omitempty"`
	Add    []Header `yaml:"add" json:"add,omitempty"`
	Remove []string `yaml:"remove" json:"remove,omitempty"`
}

// Header is a header name and value.
type Header struct {
	Name  string `yaml:"name" json:"name"`
	Value string `yaml:"value" json:"value"`
}

// Path modifier types.
const (
	ReplaceFullPath    = "ReplaceFullPath"
	ReplacePrefixMatch = "ReplacePrefixMatch"
)

// PathModifier rewrites a path in a redirect or rewrite.
type PathModifier struct {
	Type               string `yaml:"type" json:"type"`
	ReplaceFullPath    string `yaml:"replaceFullPath" json:"replaceFullPath,omitempty"`
	ReplacePrefixMatch string `yaml:"replacePrefixMatch" json:"replacePrefixMatch,omitempty"`
}

// Redirect answers with a redirect at the gateway.
type Redirect struct {
	Scheme   string        `yaml:"scheme" json:"scheme,omitempty"`
	Hostname string        `yaml:"hostname" json:"hostname,omitempty"`
	Port     int           `yaml:"port" json:"port,omitempty"`
	Path     *PathModifier `yaml:"path" json:"path,omitempty"`
	// StatusCode is 301 or 302 (default).
	StatusCode int `yaml:"statusCode" json:"statusCode,omitempty"`
}

// URLRewrite rewrites the host and path before forwarding.
type URLRewrite struct {
	Hostname string        `yaml:"hostname" json:"hostname,omitempty"`
	Path     *PathModifier `yaml:"path" json:"path,omitempty"`
}

// Mirror sends a copy of a percentage of requests to another backend, fire and forget.
type Mirror struct {
	BackendRef BackendRef `yaml:"backendRef" json:"backendRef"`
	// Percent of requests mirrored, 0-100 (default 100).
	Percent *int `yaml:"percent" json:"percent,omitempty"`
}

// BackendRef names a backend with a weight.
type BackendRef struct {
	// Name is the backend's namespace/name; a bare name takes the route's namespace.
	Name string `yaml:"name" json:"name"`
	// Weight within its priority group (default 1; 0 disables).
	Weight *int `yaml:"weight" json:"weight,omitempty"`
	// Priority group for AI failover: lower is tried first (default 0).
	Priority int `yaml:"priority" json:"priority,omitempty"`
	// Endpoints, for an inferencePool backend, restricts the rule to these of
	// the pool's endpoints (host:port, or a host for any port): the picker
	// gets them as its subset hint.
	Endpoints []string `yaml:"endpoints" json:"endpoints,omitempty"`
	// Invalid, when set, says why this reference does not resolve (a
	// translated Gateway API backendRef to a missing Service, say): the rule
	// stays and the requests this reference's weight would get answer 500,
	// as Gateway API requires. Name is then informational.
	Invalid string `yaml:"invalid" json:"invalid,omitempty"`
}

// Timeouts are HTTPRouteTimeouts.
type Timeouts struct {
	// Request bounds the whole request including retries.
	Request Duration `yaml:"request" json:"request,omitempty"`
	// BackendRequest bounds one attempt.
	BackendRequest Duration `yaml:"backendRequest" json:"backendRequest,omitempty"`
}

// Retry retries a failed attempt, on another endpoint when there is one.
//
// +kubebuilder:object:generate=true
type Retry struct {
	// Attempts is the number of retries after the first try.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	Attempts int `yaml:"attempts" json:"attempts"`
	// Backoff is the base wait between attempts (doubles each time, with jitter).
	Backoff Duration `yaml:"backoff" json:"backoff,omitempty"`
	// Codes are the response statuses that are retried (default 502, 503, 504); connect errors always are.
	// +kubebuilder:validation:items:Minimum=100
	// +kubebuilder:validation:items:Maximum=599
	Codes []int `yaml:"codes" json:"codes,omitempty"`
}

// Policies are Switchyard policies attached to a route, a rule or a backend.
// Each field is one policy; for each, the most specific attachment wins
// (backend, then rule, then route), as Gateway API policy attachment does.
type Policies struct {
	CORS *CORS `yaml:"cors" json:"cors,omitempty"`
	// ClientAuth authenticates clients (API keys, JWT); a metered route needs it.
	ClientAuth *ClientAuth `yaml:"clientAuth" json:"clientAuth,omitempty"`
	// RateLimits are request and token rate limits with By subjects.
	RateLimits []Limit `yaml:"rateLimits" json:"rateLimits,omitempty"`
}

// CORS answers preflights at the gateway and decorates responses.
//
// +kubebuilder:object:generate=true
type CORS struct {
	AllowOrigins     []string `yaml:"allowOrigins" json:"allowOrigins,omitempty"`
	AllowMethods     []string `yaml:"allowMethods" json:"allowMethods,omitempty"`
	AllowHeaders     []string `yaml:"allowHeaders" json:"allowHeaders,omitempty"`
	ExposeHeaders    []string `yaml:"exposeHeaders" json:"exposeHeaders,omitempty"`
	AllowCredentials bool     `yaml:"allowCredentials" json:"allowCredentials,omitempty"`
	MaxAge           Duration `yaml:"maxAge" json:"maxAge,omitempty"`
}

// Backend is a destination; exactly one kind is set.
type Backend struct {
	// Name is namespace/name; a bare name takes namespace "default".
	Name   string         `yaml:"name" json:"name"`
	Static *StaticBackend `yaml:"static" json:"static,omitempty"`
	AI     *AIBackend     `yaml:"ai" json:"ai,omitempty"`
	// InferencePool is a set of model servers chosen by an endpoint picker.
	InferencePool *InferencePool `yaml:"inferencePool" json:"inferencePool,omitempty"`
	// MCP is a virtual MCP server over many targets (see config/mcp.go).
	MCP *MCPBackend `yaml:"mcp" json:"mcp,omitempty"`
	// A2A is an agent proxied over the A2A protocol (see config/a2a.go).
	A2A *A2ABackend `yaml:"a2a" json:"a2a,omitempty"`
	// Policies attach to every rule that routes to this backend and win over
	// the rule's and the route's. A rule's backends must agree on them.
	Policies *Policies `yaml:"policies" json:"policies,omitempty"`
}

// StaticBackend is a set of host:port endpoints.
type StaticBackend struct {
	Endpoints        []Endpoint        `yaml:"endpoints" json:"endpoints"`
	LoadBalancer     LoadBalancer      `yaml:"loadBalancer" json:"loadBalancer"`
	HealthCheck      *HealthCheck      `yaml:"healthCheck" json:"healthCheck,omitempty"`
	OutlierDetection *OutlierDetection `yaml:"outlierDetection" json:"outlierDetection,omitempty"`
	ConnectionPool   ConnectionPool    `yaml:"connectionPool" json:"connectionPool"`
	// TLS, when set, makes the gateway speak HTTPS to the endpoints.
	TLS *BackendTLS `yaml:"tls" json:"tls,omitempty"`
}

// Endpoint is one host:port with a weight.
type Endpoint struct {
	Host string `yaml:"host" json:"host"`
	Port int    `yaml:"port" json:"port"`
	// Weight (default 1).
	Weight int `yaml:"weight" json:"weight,omitempty"`
}

// Load balancer types.
const (
	LBRoundRobin   = "RoundRobin"
	LBRandom       = "Random"
	LBLeastRequest = "LeastRequest"
)

// LoadBalancer chooses among healthy endpoints.
type LoadBalancer struct {
	// Type is RoundRobin (default), Random or LeastRequest (power of two choices).
	Type string `yaml:"type" json:"type"`
}

// HealthCheck is an active HTTP health check.
type HealthCheck struct {
	Path               string   `yaml:"path" json:"path"`
	Interval           Duration `yaml:"interval" json:"interval"`
	Timeout            Duration `yaml:"timeout" json:"timeout,omitempty"`
	UnhealthyThreshold int      `yaml:"unhealthyThreshold" json:"unhealthyThreshold"`
	HealthyThreshold   int      `yaml:"healthyThreshold" json:"healthyThreshold"`
}

// OutlierDetection ejects endpoints that fail passively.
type OutlierDetection struct {
	Consecutive5xx   int      `yaml:"consecutive5xx" json:"consecutive5xx"`
	BaseEjectionTime Duration `yaml:"baseEjectionTime" json:"baseEjectionTime"`
	// MaxEjectionPercent caps how many endpoints may be ejected at once (default 50; one always stays).
	MaxEjectionPercent int `yaml:"maxEjectionPercent" json:"maxEjectionPercent,omitempty"`
}

// ConnectionPool limits connections to each endpoint.
type ConnectionPool struct {
	// MaxConnections per endpoint (default 1024).
	MaxConnections int `yaml:"maxConnections" json:"maxConnections,omitempty"`
	// MaxIdleTime closes idle upstream connections (default 60s).
	MaxIdleTime Duration `yaml:"maxIdleTime" json:"maxIdleTime,omitempty"`
	// ConnectTimeout bounds dialing (default 5s).
	ConnectTimeout Duration `yaml:"connectTimeout" json:"connectTimeout,omitempty"`
}

// BackendTLS configures TLS to upstream endpoints.
type BackendTLS struct {
	// ServerName overrides SNI and verification name.
	ServerName string `yaml:"serverName" json:"serverName,omitempty"`
	// InsecureSkipVerify disables certificate checks (tests only).
	InsecureSkipVerify bool `yaml:"insecureSkipVerify" json:"insecureSkipVerify,omitempty"`
	// CAFile is a PEM bundle of trusted roots (default: system roots).
	CAFile string `yaml:"caFile" json:"caFile,omitempty"`
}
