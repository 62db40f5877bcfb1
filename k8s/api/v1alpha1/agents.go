package v1alpha1

import "github.com/switchyard-ai/switchyard/config"

// MCPBackend is config.MCPBackend with its credentials taken from Secrets
// and OpenAPI documents from ConfigMaps or URLs.
type MCPBackend struct {
	// Targets are the federated servers; names are unique and become tool prefixes.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	Targets []MCPTarget `json:"targets"`
	// PrefixMode is always, conditional (default) or never.
	// +kubebuilder:validation:Enum=always;conditional;never
	PrefixMode string `json:"prefixMode,omitempty"`
	// SessionKeySecretRef names the Secret key holding the key sealing session
	// ids (at least 16 characters); every replica shares it. None: sessions
	// work only on the replica that began them.
	SessionKeySecretRef *SecretKeyRef `json:"sessionKeySecretRef,omitempty"`
	// SessionTTL bounds a session's life (default 24h).
	SessionTTL config.Duration `json:"sessionTTL,omitempty"`
	// MaxMessageBytes bounds one JSON-RPC message from the client (default 4 MiB).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=268435456
	MaxMessageBytes int `json:"maxMessageBytes,omitempty"`
	// MaxBatch bounds the messages of one JSON-RPC batch (default 0: refused).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	MaxBatch int `json:"maxBatch,omitempty"`
	// Timeout bounds one call to a target (default 60s).
	Timeout config.Duration `json:"timeout,omitempty"`
	// ToolAccess are rules, tried in order, allowing or denying tools by caller.
	// +kubebuilder:validation:MaxItems=1024
	ToolAccess []config.ToolAccessRule `json:"toolAccess,omitempty"`
	// ProtectedResource is served as OAuth protected resource metadata (RFC 9728).
	ProtectedResource *config.ProtectedResource `json:"protectedResource,omitempty"`
}

// MCPTarget is one federated server; exactly one of URL, Stdio and OpenAPI is set.
//
// +kubebuilder:validation:XValidation:rule="[has(self.url), has(self.stdio), has(self.openapi)].filter(x, x).size() == 1",message="a target sets exactly one of url, stdio and openapi"
// +kubebuilder:validation:XValidation:rule="!has(self.transport) || has(self.url)",message="transport is only for url targets"
type MCPTarget struct {
	// Name identifies the target and prefixes its names.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`
	Name string `json:"name"`
	// URL is a remote MCP server's endpoint.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('http://') || self.startsWith('https://')",message="url must be an http or https URL"
	URL string `json:"url,omitempty"`
	// Transport of URL: streamableHTTP (default) or sse.
	// +kubebuilder:validation:Enum=streamableHTTP;sse
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
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Command string `json:"command"`
	// Args are extra arguments.
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=4096
	Args []string `json:"args,omitempty"`
	// Env adds variables to the child's environment, values inline or from Secrets.
	// +kubebuilder:validation:MaxItems=256
	// +listType=map
	// +listMapKey=name
	Env []EnvVar `json:"env,omitempty"`
	// MaxConcurrent bounds the calls in flight to the process (default 16).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	MaxConcurrent int `json:"maxConcurrent,omitempty"`
}

// EnvVar is one environment variable: Value, or a Secret key.
//
// +kubebuilder:validation:XValidation:rule="has(self.value) != has(self.secretKeyRef)",message="an env entry sets exactly one of value and secretKeyRef"
type EnvVar struct {
	// Name is the variable's name.
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`
	// Value is the variable's value.
	// +kubebuilder:validation:MaxLength=32768
	Value string `json:"value,omitempty"`
	// SecretKeyRef takes the value from a Secret in the Backend's namespace.
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
}

// OpenAPITarget is an OpenAPI 3 document, at a URL or in a ConfigMap, whose
// operations become tools.
//
// +kubebuilder:validation:XValidation:rule="has(self.url) != has(self.configMapRef)",message="an openapi target sets exactly one of url and configMapRef"
type OpenAPITarget struct {
	// URL is where the gateway fetches the document (http or https).
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('http://') || self.startsWith('https://')",message="url must be an http or https URL"
	URL string `json:"url,omitempty"`
	// ConfigMapRef names the ConfigMap key holding the document.
	ConfigMapRef *ConfigMapKeyRef `json:"configMapRef,omitempty"`
	// BaseURL overrides the document's first server URL.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('http://') || self.startsWith('https://')",message="baseURL must be an http or https URL"
	BaseURL string `json:"baseURL,omitempty"`
}

// ConfigMapKeyRef names one key of a ConfigMap in the referring resource's namespace.
type ConfigMapKeyRef struct {
	// Name of the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key within the ConfigMap's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// TargetAuth is what an MCP target or an A2A agent receives as credentials:
// the client's own Authorization header (forward: passthrough), a static key
// in a header, or a bearer token, the latter two from Secrets.
//
// +kubebuilder:validation:XValidation:rule="[has(self.forward) && self.forward == 'passthrough', has(self.apiKeySecretRef), has(self.tokenSecretRef)].filter(x, x).size() <= 1",message="set at most one of forward passthrough, apiKeySecretRef and tokenSecretRef"
type TargetAuth struct {
	// Forward is none (default) or passthrough.
	// +kubebuilder:validation:Enum=none;passthrough
	Forward string `json:"forward,omitempty"`
	// Header names the header the API key goes in (default Authorization, as "Bearer <key>").
	// +kubebuilder:validation:MaxLength=256
	Header string `json:"header,omitempty"`
	// APIKeySecretRef names the Secret key holding a static key sent in Header.
	APIKeySecretRef *SecretKeyRef `json:"apiKeySecretRef,omitempty"`
	// TokenSecretRef names the Secret key holding a bearer token.
	TokenSecretRef *SecretKeyRef `json:"tokenSecretRef,omitempty"`
}

// A2ABackend is config.A2ABackend with its signing key and credentials taken from Secrets.
//
// +kubebuilder:validation:XValidation:rule="(has(self.signing) && self.signing == 'resign') == has(self.signingKeySecretRef)",message="signingKeySecretRef is required with signing resign and only used with it"
type A2ABackend struct {
	// URL is the agent's JSON-RPC endpoint as its card names it.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('http://') || self.startsWith('https://')",message="url must be an http or https URL"
	URL string `json:"url"`
	// CardPath is where the agent serves its card: a path or a full URL.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('/') || self.startsWith('http://') || self.startsWith('https://')",message="cardPath must be a path beginning with / or an http or https URL"
	CardPath string `json:"cardPath,omitempty"`
	// Signing is keep (default) or resign.
	// +kubebuilder:validation:Enum=keep;resign
	Signing string `json:"signing,omitempty"`
	// SigningKeySecretRef names the Secret key holding the PEM private key
	// (EC P-256 or RSA) cards are signed with (signing: resign).
	SigningKeySecretRef *SecretKeyRef `json:"signingKeySecretRef,omitempty"`
	// KeyID is the signature's kid header.
	// +kubebuilder:validation:MaxLength=256
	KeyID string `json:"keyID,omitempty"`
	// JWKSURL is the jku header of the gateway's signatures.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('http://') || self.startsWith('https://')",message="jwksURL must be an http or https URL"
	JWKSURL string `json:"jwksURL,omitempty"`
	// Auth is what the agent receives as credentials.
	Auth *TargetAuth `json:"auth,omitempty"`
	// Timeout bounds an answer's headers from the agent (default 60s).
	Timeout config.Duration `json:"timeout,omitempty"`
}
