package config

import "time"

// Snapshot is a loaded, defaulted, validated and compiled configuration. It is
// immutable once built: a reload builds a new Snapshot and swaps it atomically.
type Snapshot struct {
	// Source is the file the snapshot was loaded from ("<embedded>" for the default).
	Source string `json:"source"`
	// Loaded is when the snapshot was compiled.
	Loaded time.Time `json:"loaded"`
	// Config is the defaulted configuration. Treat it as read-only.
	Config *Config `json:"config"`
	// Binds groups listeners by port, one Bind per unique port.
	Binds []Bind `json:"binds"`
	// Listeners, by key namespace/gateway.listener.
	Listeners []ListenerInfo `json:"listeners"`
	// Routes, one entry per route, with disabled routes and why.
	Routes []RouteInfo `json:"routes"`
	// Backends by key namespace/name.
	Backends map[string]*Backend `json:"backends"`
	// Problems are route-level problems that did not stop the load: each disabled a route
	// (see RouteInfo.Reason). `switchyard validate` fails on them; `run` serves the rest.
	Problems Errors `json:"problems,omitempty"`
	// TCPRoutes, TLSRoutes and GRPCRoutes are the other route kinds, in
	// configuration order, with their keys and listeners.
	TCPRoutes  []RouteStatus `json:"tcpRoutes,omitempty"`
	TLSRoutes  []RouteStatus `json:"tlsRoutes,omitempty"`
	GRPCRoutes []RouteStatus `json:"grpcRoutes,omitempty"`

	// pos maps field paths to source lines (nil for a Config built in code).
	pos *positions
}

// Line returns the source line of a field path such as backends[2].ai.auth
// (the nearest enclosing field's line), or 0 when unknown.
func (s *Snapshot) Line(path string) int {
	if s == nil || s.pos == nil {
		return 0
	}
	return s.pos.lineOf(path)
}

// Bind is the set of listeners sharing one port; key port/namespace/name.
type Bind struct {
	Key       string   `json:"key"`
	Address   string   `json:"address"`
	Port      int      `json:"port"`
	Protocol  string   `json:"protocol"`
	Listeners []string `json:"listeners"`
	// H2C is true when a listener of an HTTP bind accepts h2c.
	H2C bool `json:"h2c,omitempty"`
}

// ListenerInfo is a listener with its key namespace/gateway.listener.
type ListenerInfo struct {
	Key      string    `json:"key"`
	BindKey  string    `json:"bind"`
	Listener *Listener `json:"listener"`
}

// RouteInfo is a route with its rules' keys namespace.name.rule.match and its status.
type RouteInfo struct {
	// Key is the route name namespace/name.
	Key string `json:"key"`
	// RuleKeys are namespace.name.rule.match for every rule and match (match index 0 when a rule has none).
	RuleKeys []string `json:"ruleKeys"`
	// Listeners are the listener keys the route attaches to.
	Listeners []string `json:"listeners"`
	// Disabled is true when the route cannot be served; Reason says why.
	Disabled bool   `json:"disabled,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Route    *Route `json:"route"`
}

// Backend returns the backend with key namespace/name, or nil.
func (s *Snapshot) Backend(key string) *Backend { return s.Backends[key] }
