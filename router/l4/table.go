// Package l4 is the gateway's layer-4 proxy: TCP listeners serving a
// TCPRoute and TLS listeners serving TLSRoutes by SNI, either passing the
// TLS stream through untouched (the name read from the ClientHello) or
// terminating TLS and relaying the plaintext to a TCP backend. Backends are
// static backends; each endpoint's health (active connect checks) and
// ejection (consecutive connect failures) live in the upstream State by
// identity, so a reload that keeps an endpoint keeps them. Connections are
// counted in bytes both ways, logged and measured when they end.
//
// l4 imports no HTTP library: it is bytes in, bytes out.
package l4

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/router/upstream"
)

// Table is one snapshot's TCP and TLS routes by port. It is immutable and
// safe for concurrent use; connections keep the Table they began on.
type Table struct {
	ports map[int]*port
	// AccessLog turns the per-connection access log line on.
	AccessLog bool
	// routes are the keys of the rules served, with their backends, for
	// deciding which open connections a reload drops.
	routes map[string]string
}

// port is what one bound TCP or TLS port serves.
type port struct {
	protocol     string // config.ProtocolTCP or config.ProtocolTLS
	terminate    *tls.Config
	tcp          *Route            // a TCP port's route (nil: none attached)
	exact        map[string]*Route // TLS: SNI (lower case) -> route
	wildcards    []wildcard        // TLS: longest suffix first
	handshake    time.Duration     // TLS: the ClientHello deadline
	handshakeSet bool              // a route set handshake
}

type wildcard struct {
	suffix string // ".example.com"
	route  *Route
}

// Route is one compiled TCP or TLS route rule.
type Route struct {
	// Key is the rule key namespace.name.0.0; Name the route's namespace/name.
	Key, Name string
	rule      *config.L4Rule
	backends  []*backend
	total     int // sum of backend weights
	connect   time.Duration
	idle      time.Duration
	proxy     string
}

// Compile builds the Table of snap, drawing endpoint state from gen. certs
// are the terminating TLS listeners' key pairs by port. A nil log discards.
func Compile(snap *config.Snapshot, gen *upstream.Generation, certs map[int][]*tls.Certificate, log *slog.Logger) (*Table, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := snap.Config
	t := &Table{ports: map[int]*port{}, routes: map[string]string{}}
	t.AccessLog = cfg.Server.AccessLog == nil || *cfg.Server.AccessLog
	listeners := map[string]*config.Listener{}
	for _, l := range snap.Listeners {
		listeners[l.Key] = l.Listener
		proto := l.Listener.Protocol
		if proto != config.ProtocolTCP && proto != config.ProtocolTLS {
			continue
		}
		p := t.ports[l.Listener.Port]
		if p == nil {
			p = &port{protocol: proto, exact: map[string]*Route{}, handshake: time.Duration(config.DefaultL4Handshake)}
			t.ports[l.Listener.Port] = p
		}
		if tl := l.Listener.TLS; proto == config.ProtocolTLS && tl != nil && tl.Mode == config.TLSModeTerminate && p.terminate == nil {
			cs := certs[l.Listener.Port]
			if len(cs) == 0 {
				return nil, fmt.Errorf("l4: TLS listener %s terminates but has no certificate", l.Key)
			}
			p.terminate = terminateConfig(cs)
		}
	}
	eps := &endpoints{gen: gen, log: log}
	for i := range cfg.TCPRoutes {
		st := snap.TCPRoutes[i]
		if st.Disabled {
			continue
		}
		r := eps.route(snap, cfg.TCPRoutes[i].Name, st.RuleKeys[0], &cfg.TCPRoutes[i].Rules[0])
		t.routes[r.Key] = r.identity()
		for _, lk := range st.Listeners {
			if p := t.ports[listeners[lk].Port]; p != nil && p.tcp == nil {
				p.tcp = r
			}
		}
	}
	for i := range cfg.TLSRoutes {
		st := snap.TLSRoutes[i]
		if st.Disabled {
			continue
		}
		rt := &cfg.TLSRoutes[i]
		r := eps.route(snap, rt.Name, st.RuleKeys[0], &rt.Rules[0])
		t.routes[r.Key] = r.identity()
		for _, lk := range st.Listeners {
			l := listeners[lk]
			p := t.ports[l.Port]
			if p == nil {
				continue
			}
			// A port reads the ClientHello before it knows the route: it
			// takes the shortest handshake timeout of its routes.
			if h := rt.Rules[0].Timeouts.Handshake.D(); h > 0 && (!p.handshakeSet || h < p.handshake) {
				p.handshake, p.handshakeSet = h, true
			}
			for _, h := range rt.Hostnames {
				h = strings.ToLower(h)
				if !hostAllowed(l.Hostname, h) {
					continue
				}
				if suffix, ok := strings.CutPrefix(h, "*"); ok {
					p.wildcards = append(p.wildcards, wildcard{suffix: suffix, route: r})
				} else if p.exact[h] == nil {
					p.exact[h] = r
				}
			}
		}
	}
	for _, p := range t.ports {
		sortWildcards(p.wildcards)
	}
	if eps.err != nil {
		return nil, eps.err
	}
	return t, nil
}

// hostAllowed reports whether a route hostname fits a listener's hostname
// (empty: any; a wildcard listener takes its subdomains).
func hostAllowed(listener, h string) bool {
	listener = strings.ToLower(listener)
	switch {
	case listener == "" || listener == h:
		return true
	case strings.HasPrefix(listener, "*."):
		return strings.HasSuffix(h, listener[1:])
	}
	return false
}

func sortWildcards(ws []wildcard) {
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && len(ws[j].suffix) > len(ws[j-1].suffix); j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
}

// lookupSNI finds the route for a server name on a TLS port: an exact name
// first, then the longest wildcard whose suffix it ends with.
func (p *port) lookupSNI(name string) *Route {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if r := p.exact[name]; r != nil {
		return r
	}
	for _, w := range p.wildcards {
		if len(name) > len(w.suffix) && strings.HasSuffix(name, w.suffix) {
			return w.route
		}
	}
	return nil
}

// terminateConfig is a terminating TLS listener's server config: the
// certificate by SNI, the first the default.
func terminateConfig(certs []*tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			for _, c := range certs {
				if hello.SupportsCertificate(c) == nil {
					return c, nil
				}
			}
			return certs[0], nil
		},
	}
}

// identity says what a route's open connections depend on: a reload that
// changes it closes them once the drain time is over.
func (r *Route) identity() string {
	var b strings.Builder
	b.WriteString(r.proxy)
	for _, be := range r.backends {
		for _, m := range be.members {
			b.WriteString("|" + be.name + "=" + m.ep.addr + "/" + strconv.Itoa(m.weight))
		}
	}
	return b.String()
}

// Keeps reports whether t still serves a route key with the same identity.
func (t *Table) keeps(key, identity string) bool {
	return t != nil && t.routes[key] == identity
}

// addrOf formats host:port.
func addrOf(e config.Endpoint) string {
	return net.JoinHostPort(e.Host, strconv.Itoa(e.Port))
}
