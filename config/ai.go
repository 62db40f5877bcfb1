package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// AI providers an [AIBackend] may name.
const (
	ProviderOpenAI           = "openai"
	ProviderAzure            = "azure"
	ProviderOpenAICompatible = "openai-compatible"
	ProviderSim              = "sim"
	ProviderBedrock          = "bedrock"
	ProviderVertex           = "vertex"
	ProviderGemini           = "gemini"
	ProviderAnthropic        = "anthropic"
)

// AIBackend is a model provider. Model routing picks an AI backend by the
// request's model among a rule's backendRefs.
type AIBackend struct {
	// Provider is openai, azure, openai-compatible, sim, bedrock, vertex, gemini or anthropic.
	Provider string `yaml:"provider" json:"provider"`
	// BaseURL overrides the provider's endpoint (scheme://host[:port][/path]).
	BaseURL string `yaml:"baseURL" json:"baseURL,omitempty"`
	// Model, when set, is the upstream model every request is sent to, whatever the client asked.
	Model string `yaml:"model" json:"model,omitempty"`
	// Models are the client-facing model names this backend serves. Empty with no Model means
	// any model is passed through (the backend is a catch-all for its rule).
	Models []string `yaml:"models" json:"models,omitempty"`
	// Aliases maps a client-facing name to the upstream model name.
	Aliases map[string]string `yaml:"aliases" json:"aliases,omitempty"`
	// Auth is how the gateway authenticates to the provider.
	Auth BackendAuth `yaml:"auth" json:"auth"`

	// Region is the AWS region (bedrock) or, for vertex, the location (e.g. us-central1).
	Region string `yaml:"region" json:"region,omitempty"`
	// Project is the GCP project (vertex).
	Project string `yaml:"project" json:"project,omitempty"`
	// APIVersion is Azure's api-version query parameter or Anthropic's anthropic-version header.
	APIVersion string `yaml:"apiVersion" json:"apiVersion,omitempty"`

	// Timeout bounds one upstream attempt before the first byte (default 60s; streams then run on).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// StreamIdleTimeout ends a streamed response when the upstream sends nothing for this long
	// once the response headers have arrived (0: the backend's Timeout).
	StreamIdleTimeout Duration `yaml:"streamIdleTimeout" json:"streamIdleTimeout,omitempty"`
	// MaxConnections to the provider (default 1024).
	MaxConnections int `yaml:"maxConnections" json:"maxConnections,omitempty"`
	// TLS adjusts how an https baseURL is verified: trusted roots (caFile),
	// the verified name (serverName), no verification (insecureSkipVerify,
	// tests only). Default: the system roots and the URL's host.
	TLS *BackendTLS `yaml:"tls" json:"tls,omitempty"`
	// HealthCheck, when set, probes GET baseURL+path (signed like a request)
	// on an interval, as a static endpoint's check does; an unhealthy backend
	// is skipped (its failover candidates serve) until it passes again.
	HealthCheck *HealthCheck `yaml:"healthCheck" json:"healthCheck,omitempty"`

	// Sim configures the built-in simulated model (provider sim).
	Sim *SimConfig `yaml:"sim" json:"sim,omitempty"`
}

// BackendAuth is the Backend Auth policy: how the gateway authenticates upstream.
// At most one of APIKey/APIKeyFile, Passthrough, AWS and GCP is set; none means no auth.
type BackendAuth struct {
	// APIKey is the provider key (usually "${OPENAI_API_KEY}"). Redacted in /config.
	APIKey Secret `yaml:"apiKey" json:"apiKey,omitempty"`
	// APIKeyFile reads the key from a file (trailing whitespace trimmed).
	APIKeyFile string `yaml:"apiKeyFile" json:"apiKeyFile,omitempty"`
	// Passthrough forwards the client's own credential (Authorization, x-api-key, api-key).
	Passthrough bool `yaml:"passthrough" json:"passthrough,omitempty"`
	// AWS signs requests with SigV4 (bedrock).
	AWS *AWSAuth `yaml:"aws" json:"aws,omitempty"`
	// GCP uses Google credentials (vertex).
	GCP *GCPAuth `yaml:"gcp" json:"gcp,omitempty"`
}

// AWSAuth selects AWS credentials; with no field set the standard chain is used
// (env, shared profile, web identity, container and instance metadata).
type AWSAuth struct {
	AccessKeyID     string `yaml:"accessKeyID" json:"accessKeyID,omitempty"`
	SecretAccessKey Secret `yaml:"secretAccessKey" json:"secretAccessKey,omitempty"`
	SessionToken    Secret `yaml:"sessionToken" json:"sessionToken,omitempty"`
	Profile         string `yaml:"profile" json:"profile,omitempty"`
	// RoleARN is assumed with STS on top of the base credentials.
	RoleARN string `yaml:"roleARN" json:"roleARN,omitempty"`
}

// GCPAuth selects Google credentials; with no field set Application Default
// Credentials are used (GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata server).
type GCPAuth struct {
	// CredentialsFile is a service account or external account JSON file.
	CredentialsFile string `yaml:"credentialsFile" json:"credentialsFile,omitempty"`
}

// SimConfig shapes the built-in simulated model's output and timing.
type SimConfig struct {
	// TimeToFirstToken delays the first token (default 0).
	TimeToFirstToken Duration `yaml:"timeToFirstToken" json:"timeToFirstToken,omitempty"`
	// InterTokenLatency delays each following token (default 0).
	InterTokenLatency Duration `yaml:"interTokenLatency" json:"interTokenLatency,omitempty"`
	// OutputTokens is the completion length unless max_tokens asks for fewer (default 16).
	OutputTokens int `yaml:"outputTokens" json:"outputTokens,omitempty"`
	// Mode is "lorem" (default: deterministic text) or "echo" (repeats the last user message).
	Mode string `yaml:"mode" json:"mode,omitempty"`
	// MaxRunning bounds the requests the simulated model serves at once, per model name;
	// requests beyond it wait in a queue (vllm:num_requests_waiting). 0 means unbounded.
	MaxRunning int `yaml:"maxRunning" json:"maxRunning,omitempty"`
}

// Secret is a string that is redacted whenever it is marshalled to JSON.
type Secret string

var (
	_ json.Marshaler = Secret("")
	_ fmt.Stringer   = Secret("")
)

// MarshalJSON implements [json.Marshaler]: a set secret is shown as "<redacted>".
func (s Secret) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte(`""`), nil
	}
	return []byte(`"<redacted>"`), nil
}

// String implements [fmt.Stringer] without revealing the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<redacted>"
}

// Value returns the secret itself; call it only where the secret is used.
func (s Secret) Value() string { return string(s) }

// MarshalJSON implements json.Marshaler. Credentials written into baseURL
// (https://user:password@proxy) are redacted, like every Secret.
func (b AIBackend) MarshalJSON() ([]byte, error) {
	type plain AIBackend // no methods: no recursion
	p := plain(b)
	p.BaseURL = redactURL(b.BaseURL)
	return json.Marshal(p)
}

// redactURL replaces a URL's userinfo with "<redacted>". A URL that does not
// parse is redacted by hand: everything between "://" and the last "@".
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err == nil {
		if u.User == nil {
			return s
		}
		u.User = url.User("<redacted>")
		return u.String()
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + 3
	}
	// A password may hold "/", "?" or "#": redact up to the last "@" anywhere
	// (too much, at worst, of a URL that is invalid anyway).
	if at := strings.LastIndexByte(s[start:], '@'); at >= 0 {
		return s[:start] + "<redacted>" + s[start+at:]
	}
	return s
}

var _ json.Marshaler = AIBackend{}
