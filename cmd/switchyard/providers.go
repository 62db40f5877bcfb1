package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/registry"
	"github.com/switchyard-ai/switchyard/providers/sim"
	"github.com/switchyard-ai/switchyard/providers/tokens"
)

// newProviders returns the process-wide provider registry: every built-in
// adapter, and the sim with a token counter and its metrics registered with
// reg, one instance for the whole process so that its state survives
// reloads.
func newProviders(log *slog.Logger, reg prometheus.Registerer) *registry.Registry {
	simAdapter := sim.NewAdapter(tokens.New())
	if reg != nil {
		if err := simAdapter.Register(reg); err != nil {
			log.Warn("sim metrics not registered", "err", err.Error())
		}
	}
	return registry.New(map[string]providers.Direct{config.ProviderSim: simAdapter})
}

// credentialProblems builds every AI backend's signer and reports those whose
// credentials cannot be loaded, so that `validate` finds them before a request does.
func credentialProblems(snap *config.Snapshot) config.Errors {
	var out config.Errors
	keys := make([]string, 0, len(snap.Backends))
	for k := range snap.Backends {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	index := map[string]int{}
	for i, b := range snap.Config.Backends {
		index[b.Name] = i
	}
	for _, k := range keys {
		b := snap.Backends[k]
		if b.AI == nil {
			continue
		}
		header, prefix := providers.Credential(b.AI.Provider)
		if _, err := auth.NewUpstreamSigner(context.Background(), b.AI, header, prefix); err != nil {
			out = append(out, &config.Error{File: snap.Source, Line: snap.Line(fmt.Sprintf("backends[%d].ai.auth", index[b.Name])),
				Path: fmt.Sprintf("backends[%d].ai.auth", index[b.Name]),
				Msg:  fmt.Sprintf("backend %q: credentials cannot be loaded: %v", k, err)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// needsKey reports the providers that answer 401 to a request without a key
// unless another auth mode is set.
func needsKey(provider string) bool {
	switch provider {
	case config.ProviderOpenAI, config.ProviderAzure, config.ProviderAnthropic, config.ProviderGemini:
		return true
	}
	return false
}

// keyWarnings reports AI backends of providers that need a key but have none,
// most often because the environment variable in `apiKey: "${OPENAI_API_KEY}"`
// is unset: every request would then fail upstream with 401.
func keyWarnings(snap *config.Snapshot) config.Errors {
	var out config.Errors
	for i, b := range snap.Config.Backends {
		a := b.AI
		if a == nil || !needsKey(a.Provider) {
			continue
		}
		if au := a.Auth; au.APIKey != "" || au.APIKeyFile != "" || au.Passthrough || au.AWS != nil || au.GCP != nil {
			continue
		}
		path := fmt.Sprintf("backends[%d].ai.auth.apiKey", i)
		out = append(out, &config.Error{File: snap.Source, Line: snap.Line(path), Path: path,
			Msg: fmt.Sprintf("warning: backend %q has no API key, so provider %s will refuse its requests (401): "+
				"is the environment variable named in auth.apiKey set? (or use auth.apiKeyFile or auth.passthrough)",
				b.Name, a.Provider)})
	}
	return out
}
