package config

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// MCP prefix modes: when a federated tool, prompt or resource name carries its target's name.
const (
	PrefixAlways      = "always"
	PrefixConditional = "conditional"
	PrefixNever       = "never"
)

// MCP target transports for a remote server.
const (
	MCPTransportStreamableHTTP = "streamableHTTP"
	MCPTransportSSE            = "sse"
)

// MCP forwarding modes: what a target receives as credentials.
const (
	MCPForwardNone        = "none"
	MCPForwardPassthrough = "passthrough"
)

// MCPBackend is a virtual MCP server over many targets: remote MCP servers
// (streamable HTTP or the older HTTP+SSE transport), local servers started
// as child processes over stdio, and OpenAPI documents turned into tools.
type MCPBackend struct {
	// Targets are the federated servers; names are unique and become tool prefixes.
	Targets []MCPTarget `yaml:"targets" json:"targets"`
	// PrefixMode is always, conditional (default: only names that collide) or never.
	PrefixMode string `yaml:"prefixMode" json:"prefixMode,omitempty"`
	// SessionKey seals the session ids the gateway hands out (AEAD). Gateways
	// sharing the key serve each other's sessions. At least 16 characters;
	// empty: a random key per process (sessions do not survive a restart).
	SessionKey Secret `yaml:"sessionKey" json:"sessionKey,omitempty"`
	// SessionTTL bounds a session's life from its initialize (default 24h).
	SessionTTL Duration `yaml:"sessionTTL" json:"sessionTTL,omitempty"`
	// MaxMessageBytes bounds one JSON-RPC message from the client (default 4 MiB).
	MaxMessageBytes int `yaml:"maxMessageBytes" json:"maxMessageBytes,omitempty"`
	// MaxBatch bounds the messages of one JSON-RPC batch (default 0: batches refused,
	// as the current MCP protocol does).
	MaxBatch int `yaml:"maxBatch" json:"maxBatch,omitempty"`
	// Timeout bounds one call to a target (default 60s).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// ToolAccess are rules, tried in order, that allow or deny tools by the
	// caller's Principal; the first rule matching both the tool and the
	// caller decides. No rule matching: allowed.
	ToolAccess []ToolAccessRule `yaml:"toolAccess" json:"toolAccess,omitempty"`
	// ProtectedResource, when set, is served as the OAuth protected resource
	// metadata (RFC 9728) of the route and named in 401 answers.
	ProtectedResource *ProtectedResource `yaml:"protectedResource" json:"protectedResource,omitempty"`
}

// MCPTarget is one federated server; exactly one of URL, Stdio and OpenAPI is set.
type MCPTarget struct {
	// Name identifies the target and prefixes its names (letters, digits, '-', '_').
	Name string `yaml:"name" json:"name"`
	// URL is a remote MCP server's endpoint.
	URL string `yaml:"url" json:"url,omitempty"`
	// Transport of URL: streamableHTTP (default) or sse.
	Transport string `yaml:"transport" json:"transport,omitempty"`
	// Stdio starts a local MCP server as a child process.
	Stdio *StdioTarget `yaml:"stdio" json:"stdio,omitempty"`
	// OpenAPI turns an OpenAPI 3 document's operations into tools.
	OpenAPI *OpenAPITarget `yaml:"openapi" json:"openapi,omitempty"`
	// Tools filters the target's tools by name before anything else.
	Tools *ToolFilter `yaml:"tools" json:"tools,omitempty"`
	// Auth is what the gateway sends the target as credentials.
	Auth MCPTargetAuth `yaml:"auth" json:"auth"`
}

// StdioTarget is a local MCP server speaking over its stdin and stdout.
type StdioTarget struct {
	// Command is the command line (split on spaces, quotes respected) or, with Args, the program.
	Command string `yaml:"command" json:"command"`
	// Args are extra arguments.
	Args []string `yaml:"args" json:"args,omitempty"`
	// Env adds NAME=value pairs to the child's environment (values redacted in /config).
	Env map[string]Secret `yaml:"env" json:"env,omitempty"`
	// MaxConcurrent bounds the calls in flight to the process (default 16).
	MaxConcurrent int `yaml:"maxConcurrent" json:"maxConcurrent,omitempty"`
}

// OpenAPITarget is an OpenAPI 3 document whose operations become tools.
type OpenAPITarget struct {
	// Spec is a file path or an http(s) URL.
	Spec string `yaml:"spec" json:"spec,omitempty"`
	// Document is the document itself (YAML or JSON), instead of Spec: the
	// Kubernetes controller delivers a ConfigMap's document so.
	Document string `yaml:"document" json:"document,omitempty"`
	// BaseURL overrides the document's first server URL.
	BaseURL string `yaml:"baseURL" json:"baseURL,omitempty"`
}

// ToolFilter keeps a target's tools by name: exact names and regular
// expressions (anchored at both ends). Include empty: every tool; Exclude wins.
//
// +kubebuilder:object:generate=true
type ToolFilter struct {
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=1024
	Include []string `yaml:"include" json:"include,omitempty"`
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=1024
	Exclude []string `yaml:"exclude" json:"exclude,omitempty"`
	// IncludeRegex and ExcludeRegex are regular expressions matched against whole names.
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=1024
	IncludeRegex []string `yaml:"includeRegex" json:"includeRegex,omitempty"`
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=1024
	ExcludeRegex []string `yaml:"excludeRegex" json:"excludeRegex,omitempty"`
}

// MCPTargetAuth says what credentials a target receives: nothing (default),
// the client's own Authorization header (forward: passthrough), a static
// key in a header, or a bearer token.
type MCPTargetAuth struct {
	// Forward is none (default) or passthrough.
	Forward string `yaml:"forward" json:"forward,omitempty"`
	// Header names the header APIKey goes in (default Authorization, as "Bearer <key>").
	Header string `yaml:"header" json:"header,omitempty"`
	// APIKey is a static key sent in Header.
	APIKey Secret `yaml:"apiKey" json:"apiKey,omitempty"`
	// Token is a bearer token sent as Authorization.
	Token Secret `yaml:"token" json:"token,omitempty"`
}

// ToolAccessRule allows or denies the tools it names to the callers it matches.
//
// +kubebuilder:object:generate=true
type ToolAccessRule struct {
	// Tools are the federated tool names (as clients see them) or, between
	// slashes, regular expressions (/^github_.*/). Empty: every tool.
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=1024
	Tools []string `yaml:"tools" json:"tools,omitempty"`
	// Action is allow or deny.
	// +kubebuilder:validation:Enum=allow;deny
	Action string `yaml:"action" json:"action"`
	// Consumers, Teams and Claims select callers; every set condition must
	// hold, none set matches every caller (anonymous ones included).
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=512
	Consumers []string `yaml:"consumers" json:"consumers,omitempty"`
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=256
	Teams []string `yaml:"teams" json:"teams,omitempty"`
	// Claims maps a JWT claim to accepted values (a list claim matches when it holds one).
	Claims map[string][]string `yaml:"claims" json:"claims,omitempty"`
}

// ProtectedResource is OAuth protected resource metadata (RFC 9728).
//
// +kubebuilder:object:generate=true
type ProtectedResource struct {
	// Resource is the resource identifier (default: the route's URL as the client reached it).
	// +kubebuilder:validation:MaxLength=2048
	Resource string `yaml:"resource" json:"resource,omitempty"`
	// AuthorizationServers are the issuers clients get tokens from.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=2048
	AuthorizationServers []string `yaml:"authorizationServers" json:"authorizationServers"`
	// Scopes are the scopes the resource understands.
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=256
	Scopes []string `yaml:"scopes" json:"scopes,omitempty"`
}

// validMCPName matches target names.
var validMCPName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// validateMCP checks an mcp backend.
func validateMCP(m *MCPBackend, p string, r *reporter) {
	switch m.PrefixMode {
	case "", PrefixAlways, PrefixConditional, PrefixNever:
	default:
		r.add(p+".prefixMode", "unknown prefixMode %q (use always, conditional or never)", m.PrefixMode)
	}
	if k := m.SessionKey; k != "" && len(k) < 16 {
		r.add(p+".sessionKey", "sessionKey must be at least 16 characters")
	}
	nonNegative(r, p+".sessionTTL", m.SessionTTL)
	nonNegative(r, p+".timeout", m.Timeout)
	nonNegativeInt(r, p+".maxMessageBytes", m.MaxMessageBytes)
	nonNegativeInt(r, p+".maxBatch", m.MaxBatch)
	if len(m.Targets) == 0 {
		r.add(p+".targets", "mcp backend needs at least one target")
	}
	names := map[string]int{}
	for i := range m.Targets {
		validateMCPTarget(&m.Targets[i], fmt.Sprintf("%s.targets[%d]", p, i), names, i, r)
	}
	for i, a := range m.ToolAccess {
		ap := fmt.Sprintf("%s.toolAccess[%d]", p, i)
		if a.Action != "allow" && a.Action != "deny" {
			r.add(ap+".action", "action must be allow or deny, not %q", a.Action)
		}
		for j, t := range a.Tools {
			if re, ok := Slashed(t); ok {
				if _, err := regexp.Compile(re); err != nil {
					r.add(fmt.Sprintf("%s.tools[%d]", ap, j), "invalid regular expression: %v", err)
				}
			}
		}
	}
	if pr := m.ProtectedResource; pr != nil && len(pr.AuthorizationServers) == 0 {
		r.add(p+".protectedResource.authorizationServers", "protected resource metadata needs at least one authorization server")
	}
}

func validateMCPTarget(t *MCPTarget, tp string, names map[string]int, i int, r *reporter) {
	if !validMCPName.MatchString(t.Name) {
		r.add(tp+".name", "target name %q must be 1-64 letters, digits, '-' or '_'", t.Name)
	} else if j, dup := names[t.Name]; dup {
		r.add(tp+".name", "duplicate target name %q (also targets[%d])", t.Name, j)
	} else {
		names[t.Name] = i
	}
	set := 0
	if t.URL != "" {
		set++
		if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.add(tp+".url", "url must be an http(s) URL, not %q", redactURL(t.URL))
		}
	}
	switch t.Transport {
	case "", MCPTransportStreamableHTTP, MCPTransportSSE:
	default:
		r.add(tp+".transport", "unknown transport %q (use streamableHTTP or sse)", t.Transport)
	}
	if s := t.Stdio; s != nil {
		set++
		if strings.TrimSpace(s.Command) == "" {
			r.add(tp+".stdio.command", "stdio target needs a command")
		}
		nonNegativeInt(r, tp+".stdio.maxConcurrent", s.MaxConcurrent)
	}
	if o := t.OpenAPI; o != nil {
		set++
		if (o.Spec == "") == (o.Document == "") {
			r.add(tp+".openapi.spec", "openapi target needs exactly one of spec (a file or an http(s) URL) and document")
		}
		if o.BaseURL != "" {
			if u, err := url.Parse(o.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
				r.add(tp+".openapi.baseURL", "baseURL must be an http(s) URL, not %q", redactURL(o.BaseURL))
			}
		}
	}
	if set != 1 {
		r.add(tp, "target must set exactly one of url, stdio or openapi")
	}
	if f := t.Tools; f != nil {
		for j, re := range append(append([]string{}, f.IncludeRegex...), f.ExcludeRegex...) {
			if _, err := regexp.Compile(re); err != nil {
				r.add(fmt.Sprintf("%s.tools", tp), "regular expression %d %q is invalid: %v", j, re, err)
			}
		}
	}
	a := t.Auth
	switch a.Forward {
	case "", MCPForwardNone, MCPForwardPassthrough:
	default:
		r.add(tp+".auth.forward", "unknown forward %q (use none or passthrough)", a.Forward)
	}
	n := 0
	for _, set := range []bool{a.Forward == MCPForwardPassthrough, a.APIKey != "", a.Token != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		r.add(tp+".auth", "set at most one of forward: passthrough, apiKey and token")
	}
}

// Slashed reports whether a tool access entry is a /regular expression/ and returns it.
func Slashed(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '/' && s[len(s)-1] == '/' {
		return s[1 : len(s)-1], true
	}
	return "", false
}

// Apply sets the credentials a target (or an agent) receives on h:
// clientAuthorization, the client's own Authorization header, with forward:
// passthrough; else the token or the key; else nothing.
func (a *MCPTargetAuth) Apply(h http.Header, clientAuthorization string) {
	switch {
	case a.Forward == MCPForwardPassthrough:
		if clientAuthorization != "" {
			h.Set("Authorization", clientAuthorization)
		}
	case a.Token != "":
		h.Set("Authorization", "Bearer "+string(a.Token))
	case a.APIKey != "":
		if a.Header == "" || http.CanonicalHeaderKey(a.Header) == "Authorization" {
			h.Set("Authorization", "Bearer "+string(a.APIKey))
		} else {
			h.Set(a.Header, string(a.APIKey))
		}
	}
}
