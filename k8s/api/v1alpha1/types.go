// Package v1alpha1 holds Switchyard's own Kubernetes resources, API group
// switchyard.dev, for what Gateway API lacks: AI and static backends
// (Backend), Switchyard policies attached by targetRefs (Policy), and
// consumers with their keys, limits and budgets (Consumer). The CRDs in
// k8s/crds and the deep copies in zz_generated.deepcopy.go are generated
// from these types and their kubebuilder markers by controller-gen (`make
// generate`); the translator (k8s/translate) turns them into config types.
//
// +groupName=switchyard.dev
// +kubebuilder:object:generate=true
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/switchyard-ai/switchyard/config"
)

// Group is the API group of Switchyard's resources.
const Group = "switchyard.dev"

// GroupVersion is group switchyard.dev, version v1alpha1.
var GroupVersion = schema.GroupVersion{Group: Group, Version: "v1alpha1"}

// AddToScheme registers the types with a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Backend{}, &BackendList{}, &Policy{}, &PolicyList{}, &Consumer{}, &ConsumerList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}

// Status is the status of every Switchyard resource: Accepted (and for a
// Backend ResolvedRefs) conditions, written by the leader.
type Status struct {
	// Conditions describe the resource's state as the controller last saw it.
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Backend is a Switchyard backend a route's backendRef may name (group
// switchyard.dev, kind Backend): an AI provider, a static set of endpoints,
// a virtual MCP server or an A2A agent.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=switchyard
// +kubebuilder:printcolumn:name="Provider",type=string,JSONPath=".spec.ai.provider"
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=".status.conditions[?(@.type==\"Accepted\")].status"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type Backend struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec BackendSpec `json:"spec"`
	// +optional
	Status Status `json:"status,omitempty"`
}

// BackendSpec sets exactly one of AI, Static, MCP and A2A.
//
// +kubebuilder:validation:XValidation:rule="[has(self.ai), has(self.static), has(self.mcp), has(self.a2a)].filter(x, x).size() == 1",message="set exactly one of ai, static, mcp and a2a"
type BackendSpec struct {
	// AI is a model provider.
	AI *AIBackend `json:"ai,omitempty"`
	// Static is a set of host:port endpoints.
	Static *StaticBackend `json:"static,omitempty"`
	// MCP is a virtual MCP server over many targets (agents.go).
	MCP *MCPBackend `json:"mcp,omitempty"`
	// A2A is an agent proxied over the A2A protocol (agents.go).
	A2A *A2ABackend `json:"a2a,omitempty"`
}

// AIBackend is config.AIBackend with its credentials taken from Secrets.
type AIBackend struct {
	// Provider is openai, azure, openai-compatible, sim, bedrock, vertex, gemini or anthropic.
	// +kubebuilder:validation:Enum=openai;azure;openai-compatible;sim;bedrock;vertex;gemini;anthropic
	Provider string `json:"provider"`
	// BaseURL overrides the provider's endpoint.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('http://') || self.startsWith('https://')",message="baseURL must be an http or https URL"
	BaseURL string `json:"baseURL,omitempty"`
	// Model, when set, is the upstream model every request is sent to.
	// +kubebuilder:validation:MaxLength=256
	Model string `json:"model,omitempty"`
	// Models are the client-facing model names this backend serves.
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=256
	Models []string `json:"models,omitempty"`
	// Aliases maps a client-facing name to the upstream model name.
	Aliases map[string]string `json:"aliases,omitempty"`
	// Region is the AWS region (bedrock) or GCP location (vertex).
	Region string `json:"region,omitempty"`
	// Project is the GCP project (vertex).
	Project string `json:"project,omitempty"`
	// APIVersion is Azure's api-version or Anthropic's anthropic-version.
	APIVersion string `json:"apiVersion,omitempty"`
	// Timeout bounds one upstream attempt before the first byte.
	Timeout config.Duration `json:"timeout,omitempty"`
	// Auth is how the gateway authenticates to the provider.
	Auth *AIBackendAuth `json:"auth,omitempty"`
}

// AIBackendAuth takes provider credentials from Secrets in the Backend's namespace.
type AIBackendAuth struct {
	// APIKeySecretRef names the Secret key holding the provider API key.
	APIKeySecretRef *SecretKeyRef `json:"apiKeySecretRef,omitempty"`
	// Passthrough forwards the client's own credential.
	Passthrough bool `json:"passthrough,omitempty"`
	// AWS signs with SigV4; with no Secret, the pod's credential chain (IRSA) is used.
	AWS *AWSAuth `json:"aws,omitempty"`
}

// AWSAuth is SigV4 credentials: a Secret with the keys accessKeyID,
// secretAccessKey and (optionally) sessionToken, and a role to assume.
type AWSAuth struct {
	// SecretName names the Secret; empty uses the pod's credential chain.
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName,omitempty"`
	// RoleARN is assumed with STS on top of the base credentials.
	RoleARN string `json:"roleARN,omitempty"`
}

// SecretKeyRef names one key of a Secret in the referring resource's namespace.
type SecretKeyRef struct {
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// StaticBackend is a set of host:port endpoints.
type StaticBackend struct {
	// Endpoints are host:port pairs with weights.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1024
	Endpoints []Endpoint `json:"endpoints"`
}

// Endpoint is one host:port with a weight.
type Endpoint struct {
	// Host is a DNS name or an IP address.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host"`
	// Port is the TCP port.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int `json:"port"`
	// Weight (default 1).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	Weight int `json:"weight,omitempty"`
}

// BackendList is a list of Backends.
//
// +kubebuilder:object:root=true
type BackendList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Backend `json:"items"`
}

// Policy attaches Switchyard policies to Gateways, HTTPRoutes (a rule by
// sectionName), Services and Backends, as Gateway API policy attachment does.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=switchyard
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=".status.conditions[?(@.type==\"Accepted\")].status"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type Policy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec PolicySpec `json:"spec"`
	// +optional
	Status Status `json:"status,omitempty"`
}

// PolicySpec is the targets and the policies; each set field is one policy.
//
// +kubebuilder:validation:XValidation:rule="has(self.cors) || has(self.clientAuth) || has(self.rateLimits) || has(self.timeouts) || has(self.retry)",message="a Policy sets at least one policy"
type PolicySpec struct {
	// TargetRefs are the objects the policies attach to, in the Policy's namespace.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	TargetRefs []TargetRef `json:"targetRefs"`
	// CORS answers preflights at the gateway and decorates responses.
	CORS *config.CORS `json:"cors,omitempty"`
	// ClientAuth authenticates clients by API key or JWT.
	ClientAuth *config.ClientAuth `json:"clientAuth,omitempty"`
	// RateLimits are request and token rate limits.
	// +kubebuilder:validation:MaxItems=32
	RateLimits []config.Limit `json:"rateLimits,omitempty"`
	// Timeouts are a rule's timeouts where its HTTPRoute sets none (routes and rules only).
	Timeouts *config.Timeouts `json:"timeouts,omitempty"`
	// Retry is a rule's retry where its HTTPRoute sets none (routes and rules only).
	Retry *config.Retry `json:"retry,omitempty"`
}

// TargetRef names an object in the Policy's namespace; SectionName picks an
// HTTPRoute rule by name.
//
// +kubebuilder:validation:XValidation:rule="(self.group == 'gateway.networking.k8s.io' && (self.kind == 'Gateway' || self.kind == 'HTTPRoute')) || (self.group == \"\" && self.kind == 'Service') || (self.group == 'switchyard.dev' && self.kind == 'Backend')",message="a target is a Gateway or HTTPRoute (gateway.networking.k8s.io), a Service (core) or a Backend (switchyard.dev)"
type TargetRef struct {
	// Group is the target's API group ("" for a Service).
	// +kubebuilder:validation:MaxLength=253
	Group string `json:"group"`
	// Kind is Gateway, HTTPRoute, Service or Backend.
	// +kubebuilder:validation:MaxLength=63
	Kind string `json:"kind"`
	// Name is the target's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// SectionName names an HTTPRoute rule.
	// +kubebuilder:validation:MaxLength=253
	SectionName string `json:"sectionName,omitempty"`
}

// PolicyList is a list of Policies.
//
// +kubebuilder:object:root=true
type PolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Policy `json:"items"`
}

// Consumer is an app or a person: its team, its API keys (Secrets holding
// key hashes, never keys), rate limits and budgets.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,categories=switchyard
// +kubebuilder:printcolumn:name="Team",type=string,JSONPath=".spec.team"
// +kubebuilder:printcolumn:name="Accepted",type=string,JSONPath=".status.conditions[?(@.type==\"Accepted\")].status"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
type Consumer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ConsumerSpec `json:"spec"`
	// +optional
	Status Status `json:"status,omitempty"`
}

// ConsumerSpec is config.Consumer with key hashes from Secrets.
type ConsumerSpec struct {
	// Team is the consumer's team ("" for none); teams are shared across namespaces.
	// +kubebuilder:validation:MaxLength=253
	Team string `json:"team,omitempty"`
	// Keys are the consumer's API keys.
	// +kubebuilder:validation:MaxItems=64
	Keys []ConsumerKey `json:"keys,omitempty"`
	// Limits are the consumer's rate limits.
	// +kubebuilder:validation:MaxItems=32
	Limits []config.Limit `json:"limits,omitempty"`
	// Budgets are the consumer's money and token budgets.
	// +kubebuilder:validation:MaxItems=32
	Budgets []config.Budget `json:"budgets,omitempty"`
}

// ConsumerKey is one API key: its hash (sha256:<hex>) in a Secret.
type ConsumerKey struct {
	// ID names the key in usage records (default: derived from the hash).
	// +kubebuilder:validation:MaxLength=253
	ID string `json:"id,omitempty"`
	// HashSecretRef names the Secret key holding "sha256:<hex>" of the key.
	HashSecretRef SecretKeyRef `json:"hashSecretRef"`
	// ExpiresAt, when set, is when the key stops working.
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// Models, when set, are the only models the key may use.
	Models []string `json:"models,omitempty"`
	// Limits are the key's own rate limits.
	// +kubebuilder:validation:MaxItems=32
	Limits []config.Limit `json:"limits,omitempty"`
	// Budgets are the key's own budgets.
	// +kubebuilder:validation:MaxItems=32
	Budgets []config.Budget `json:"budgets,omitempty"`
}

// ConsumerList is a list of Consumers.
//
// +kubebuilder:object:root=true
type ConsumerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Consumer `json:"items"`
}
