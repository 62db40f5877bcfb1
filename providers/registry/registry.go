// Package registry is the one table of provider adapters: which adapter
// serves each provider name of an `ai` backend (Claude models on Vertex go to
// the Anthropic translator, every other Vertex model to Gemini), and which
// providers answer in-process. It is the only package that imports every
// provider; the router asks it by name and never sees a concrete provider.
package registry

import (
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/anthropic"
	"github.com/switchyard-ai/switchyard/providers/bedrock"
	"github.com/switchyard-ai/switchyard/providers/openai"
	"github.com/switchyard-ai/switchyard/providers/sim"
	"github.com/switchyard-ai/switchyard/providers/vertex"
)

// Registry maps provider names to adapters. It is immutable once built and
// safe for concurrent use; one serves the whole process, so adapters with
// state (the sim's metrics) keep it across reloads.
type Registry struct {
	adapters map[string]providers.Adapter
	direct   map[string]providers.Direct
}

// New returns the registry of every built-in provider. direct adds or
// replaces in-process adapters by provider name; without a "sim" entry the
// sim provider gets an adapter of its own (no token counter, no metrics).
func New(direct map[string]providers.Direct) *Registry {
	oa := openai.New()
	r := &Registry{
		adapters: map[string]providers.Adapter{
			config.ProviderOpenAI:           oa,
			config.ProviderAzure:            oa,
			config.ProviderOpenAICompatible: oa,
			config.ProviderBedrock:          bedrock.New(),
			config.ProviderVertex:           &vertexDispatch{gemini: vertex.NewAdapter(), claude: anthropic.NewVertexAdapter()},
			config.ProviderGemini:           vertex.NewGeminiAdapter(),
			config.ProviderAnthropic:        anthropic.NewAdapter(),
		},
		direct: map[string]providers.Direct{},
	}
	for name, d := range direct {
		r.direct[name] = d
	}
	if r.direct[config.ProviderSim] == nil {
		r.direct[config.ProviderSim] = sim.NewAdapter(nil)
	}
	return r
}

// Adapter returns the adapter of provider, nil when there is none.
func (r *Registry) Adapter(provider string) providers.Adapter { return r.adapters[provider] }

// Direct returns the in-process adapter of provider, nil when it has none.
func (r *Registry) Direct(provider string) providers.Direct { return r.direct[provider] }

// Credential says in which header, with which prefix, provider expects an API key.
func (r *Registry) Credential(provider string) (header, prefix string) {
	return providers.Credential(provider)
}
