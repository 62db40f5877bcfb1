package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"

	"github.com/switchyard-ai/switchyard/auth"
	"github.com/switchyard-ai/switchyard/config"
	"github.com/switchyard-ai/switchyard/providers"
	"github.com/switchyard-ai/switchyard/providers/anthropic"
	"github.com/switchyard-ai/switchyard/providers/bedrock"
	"github.com/switchyard-ai/switchyard/providers/schema"
	"github.com/switchyard-ai/switchyard/providers/sim"
	"github.com/switchyard-ai/switchyard/providers/tokens"
	"github.com/switchyard-ai/switchyard/providers/vertex"
)

// providerWiring holds the process-wide provider adapters and a cache of
// upstream signers, so that credentials survive configuration reloads.
type providerWiring struct {
	ctx      context.Context
	log      *slog.Logger
	adapters map[string]providers.Adapter
	direct   map[string]providers.Direct

	mu      sync.Mutex
	signers map[string]auth.Signer
}

func newProviderWiring(ctx context.Context, log *slog.Logger, reg prometheus.Registerer) *providerWiring {
	simAdapter := sim.NewAdapter(tokens.New())
	if reg != nil {
		if err := simAdapter.Register(reg); err != nil {
			log.Warn("sim metrics not registered", "err", err.Error())
		}
	}
	return &providerWiring{
		ctx: ctx,
		log: log,
		adapters: map[string]providers.Adapter{
			config.ProviderBedrock:   bedrock.New(),
			config.ProviderVertex:    &vertexDispatch{gemini: vertex.NewAdapter(), claude: anthropic.NewVertexAdapter()},
			config.ProviderGemini:    vertex.NewGeminiAdapter(),
			config.ProviderAnthropic: anthropic.NewAdapter(),
		},
		direct:  map[string]providers.Direct{config.ProviderSim: simAdapter},
		signers: map[string]auth.Signer{},
	}
}

// keyHeader is where each provider expects an API key.
func keyHeader(provider string) (header, prefix string) {
	switch provider {
	case config.ProviderAzure:
		return "api-key", ""
	case config.ProviderAnthropic:
		return "x-api-key", ""
	case config.ProviderGemini:
		return "x-goog-api-key", ""
	}
	return "Authorization", "Bearer "
}

// signer returns the upstream signer of an AI backend, built once per distinct
// provider and auth settings and reused across reloads.
func (w *providerWiring) signer(b *config.AIBackend) (auth.Signer, error) {
	id, _ := json.Marshal(struct {
		P, R string
		A    config.BackendAuth
		K    string
		F    [2][32]byte // contents of the key and credentials files: a rotated file makes a new signer
	}{b.Provider, b.Region, b.Auth, b.Auth.APIKey.Value(), fileDigests(b.Auth)})
	key := string(id)
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.signers[key]; ok {
		return s, nil
	}
	s, err := buildSigner(w.ctx, b)
	if err != nil {
		return nil, err
	}
	w.signers[key] = s
	return s, nil
}

func buildSigner(ctx context.Context, b *config.AIBackend) (auth.Signer, error) {
	a := b.Auth
	header, prefix := keyHeader(b.Provider)
	switch {
	case b.Provider == config.ProviderSim:
		return auth.NoneSigner{}, nil
	case a.Passthrough:
		return auth.NewPassthroughSigner(header, prefix), nil
	case a.AWS != nil || (b.Provider == config.ProviderBedrock && a.APIKey == "" && a.APIKeyFile == ""):
		aws := a.AWS
		if aws == nil {
			aws = &config.AWSAuth{}
		}
		s, err := auth.NewAWSSigner(ctx, aws, b.Region)
		if err != nil {
			return nil, err
		}
		return s, nil
	case a.GCP != nil || (b.Provider == config.ProviderVertex && a.APIKey == "" && a.APIKeyFile == ""):
		gcp := a.GCP
		if gcp == nil {
			gcp = &config.GCPAuth{}
		}
		s, err := auth.NewGCPSigner(ctx, gcp)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	k, err := auth.ResolveKey(a)
	if err != nil {
		return nil, err
	}
	if k == "" {
		return auth.NoneSigner{}, nil
	}
	if b.Provider == config.ProviderBedrock {
		return auth.NewKeySigner("Authorization", "Bearer ", k), nil // Bedrock API keys
	}
	return auth.NewKeySigner(header, prefix, k), nil
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
		if _, err := buildSigner(context.Background(), b.AI); err != nil {
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

// vertexDispatch sends claude models on Vertex to the Anthropic translator and
// every other model to Gemini.
type vertexDispatch struct {
	gemini, claude providers.Adapter
}

var _ providers.Adapter = (*vertexDispatch)(nil)

// NewTranslator implements [providers.Adapter.NewTranslator].
func (v *vertexDispatch) NewTranslator(op schema.Operation, b *config.AIBackend) (providers.Translator, error) {
	return &lazyTranslator{v: v, op: op, b: b}, nil
}

// lazyTranslator picks the real translator once the model is known.
type lazyTranslator struct {
	v  *vertexDispatch
	op schema.Operation
	b  *config.AIBackend
	t  providers.Translator
}

var _ providers.Translator = (*lazyTranslator)(nil)

func isClaude(model string) bool {
	m := strings.ToLower(model)
	return strings.HasPrefix(m, "claude") || strings.Contains(m, "anthropic")
}

// Request implements [providers.Translator.Request].
func (l *lazyTranslator) Request(raw []byte, req *schema.ChatRequest) (*schema.Upstream, error) {
	model := gjson.GetBytes(raw, "model").String()
	if req != nil {
		model = req.Model
	}
	a := l.v.gemini
	if isClaude(model) {
		a = l.v.claude
	}
	t, err := a.NewTranslator(l.op, l.b)
	if err != nil {
		return nil, err
	}
	l.t = t
	return t.Request(raw, req)
}

// Response implements [providers.Translator.Response].
func (l *lazyTranslator) Response(status int, body []byte) ([]byte, schema.Usage, error) {
	if l.t == nil {
		return nil, schema.Usage{}, schema.Errorf(500, schema.ErrServer, "vertex: response before request")
	}
	return l.t.Response(status, body)
}

// Stream implements [providers.Translator.Stream].
func (l *lazyTranslator) Stream(src io.Reader, emit func([]byte) error) (schema.Usage, error) {
	if l.t == nil {
		return schema.Usage{}, schema.Errorf(500, schema.ErrServer, "vertex: stream before request")
	}
	return l.t.Stream(src, emit)
}

// fileDigests hashes the API key file and GCP credentials file of a, so that
// a signer is rebuilt when either file's content changes.
func fileDigests(a config.BackendAuth) [2][32]byte {
	var out [2][32]byte
	if a.APIKeyFile != "" {
		if b, err := os.ReadFile(a.APIKeyFile); err == nil {
			out[0] = sha256.Sum256(b)
		}
	}
	if a.GCP != nil && a.GCP.CredentialsFile != "" {
		if b, err := os.ReadFile(a.GCP.CredentialsFile); err == nil {
			out[1] = sha256.Sum256(b)
		}
	}
	return out
}
