package v1alpha1

import "github.com/switchyard-ai/switchyard/config"

// MCPBackend is config.MCPBackend with its credentials taken from Secrets
// and OpenAPI documents from ConfigMaps or URLs.
type MCPBackend struct {
	// Targets are the federated servers; names are unique and become tool prefixes.
	Targets []MCPTarget `json:"targets"`
	// PrefixMode is always, conditional (default) or never.
	PrefixMode string `json:"prefixMode,omitempty"`
	// SessionKeySecretRef names the Secret key holding the key sealing session
	// ids (at least 16 characters); every replica shares it. None: sessions
	// work only on the replica that began them.
	SessionKeySecretRef *SecretKeyRef `json:"sessionKeySecretRef,omitempty"`
	// SessionTTL bounds a session's life (default 24h).
	SessionTTL config.Duration `json:"sessionTTL,omitempty"`
	// MaxMessageBytes bounds one JSON-RPC message from the client (default 4 MiB).
	MaxMessageBytes int `json:"maxMessageBytes,omitempty"`
	// MaxBatch bounds the messages of one JSON-RPC batch (default 0: refused).
	MaxBatch int `json:"maxBatch,omitempty"`
	// Timeout bounds one call to a target (default 60s).
	Timeout config.Duration `json:"timeout,omitempty"`
	// ToolAccess are rules, tried in order, allowing or denying tools by caller.
	ToolAccess []config.ToolAccessRule `json:"toolAccess,omitempty"`
	// ProtectedResource is served as OAuth protected resource metadata (RFC 9728).
	ProtectedResource *config.ProtectedResource `json:"protectedResource,omitempty"`
}

// MCPTarget is one federated server; exactly one of URL, Stdio and OpenAPI is set.
type MCPTarget struct {
	// Name identifies the target and prefixes its names.
	Name string `json:"name"`
	// URL is a remote MCP server's endpoint.
	URL string `json:"url,omitempty"`
	// Transport of URL: streamableHTTP (default) or sse.
	Transport string `json:"transport,omitempty"`
	// Stdio starts a local MCP server as a child process of each gateway
	// replica: the program must be in the gateway's image.
	Stdio *StdioTarget `json:"stdio,omitempty"`
	// OpenAPI turns an OpenAPI 3 document's operations into tools.
	OpenAPI *OpenAPITarget `json:"openapi,omitempty"`
	// Tools filters the target's tools by name.
	Tools *config.ToolFilter `json:"tools,omitempty"`
	// Auth is what the gateway sends the target as credentials.
	Auth *TargetAuth `json:"auth,omitempty"`
}

// StdioTarget is a local MCP server speaking over its stdin and stdout.
type StdioTarget struct {
	// Command is the command line or, with Args, the program.
	Command string `json:"command"`
	// Args are extra arguments.
	Args []string `json:"args,omitempty"`
	// Env adds variables to the child's environment, values inline or from Secrets.
	Env []EnvVar `json:"env,omitempty"`
	// MaxConcurrent bounds the calls in flight to the process (default 16).
	MaxConcurrent int `json:"maxConcurrent,omitempty"`
}

// EnvVar is one environment variable: Value, or a Secret key.
type EnvVar struct {
	Name string `json:"name"`
	// Value is the variable's value.
	Value string `json:"value,omitempty"`
	// SecretKeyRef takes the value from a Secret in the Backend's namespace.
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
}

// OpenAPITarget is an OpenAPI 3 document, at a URL or in a ConfigMap, whose
// operations become tools.
type OpenAPITarget struct {
	// URL is where the gateway fetches the document (http or https).
	URL string `json:"url,omitempty"`
	// ConfigMapRef names the ConfigMap key holding the document.
	ConfigMapRef *ConfigMapKeyRef `json:"configMapRef,omitempty"`
	// BaseURL overrides the document's first server URL.
	BaseURL string `json:"baseURL,omitempty"`
}

// ConfigMapKeyRef names one key of a ConfigMap in the referring resource's namespace.
type ConfigMapKeyRef struct {
	// Name of the ConfigMap.
	Name string `json:"name"`
	// Key within the ConfigMap's data.
	Key string `json:"key"`
}

// TargetAuth is what an MCP target or an A2A agent receives as credentials:
// the client's own Authorization header (forward: passthrough), a static key
// in a header, or a bearer token, the latter two from Secrets.
type TargetAuth struct {
	// Forward is none (default) or passthrough.
	Forward string `json:"forward,omitempty"`
	// Header names the header the API key goes in (default Authorization, as "Bearer <key>").
	Header string `json:"header,omitempty"`
	// APIKeySecretRef names the Secret key holding a static key sent in Header.
	APIKeySecretRef *SecretKeyRef `json:"apiKeySecretRef,omitempty"`
	// TokenSecretRef names the Secret key holding a bearer token.
	TokenSecretRef *SecretKeyRef `json:"tokenSecretRef,omitempty"`
}

// A2ABackend is config.A2ABackend with its signing key and credentials taken from Secrets.
type A2ABackend struct {
	// URL is the agent's JSON-RPC endpoint as its card names it.
	URL string `json:"url"`
	// CardPath is where the agent serves its card: a path or a full URL.
	CardPath string `json:"cardPath,omitempty"`
	// Signing is keep (default) or resign.
	Signing string `json:"signing,omitempty"`
	// SigningKeySecretRef names the Secret key holding the PEM private key
	// (EC P-256 or RSA) cards are signed with (signing: resign).
	SigningKeySecretRef *SecretKeyRef `json:"signingKeySecretRef,omitempty"`
	// KeyID is the signature's kid header.
	KeyID string `json:"keyID,omitempty"`
	// JWKSURL is the jku header of the gateway's signatures.
	JWKSURL string `json:"jwksURL,omitempty"`
	// Auth is what the agent receives as credentials.
	Auth *TargetAuth `json:"auth,omitempty"`
	// Timeout bounds an answer's headers from the agent (default 60s).
	Timeout config.Duration `json:"timeout,omitempty"`
}
