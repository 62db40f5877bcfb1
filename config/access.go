package config

import "time"

// Access declares who may use the gateway and what they may spend:
// consumers (an app or a person) grouped in teams, their API keys, their
// rate limits and budgets, the price table that turns tokens into money,
// and where that state is kept. Routes opt in with a clientAuth policy;
// every request a metered route admits is charged to its Principal.
type Access struct {
	// Teams group consumers; a team's limits and budgets are shared by all of them.
	Teams []Team `yaml:"teams" json:"teams,omitempty"`
	// Consumers are the apps and people that hold keys.
	Consumers []Consumer `yaml:"consumers" json:"consumers,omitempty"`
	// Prices are USD per million tokens by model (client-facing name or upstream name).
	Prices map[string]Price `yaml:"prices" json:"prices,omitempty"`
	// DefaultMaxTokens is the output reserved at admission for a request
	// that sets neither max_tokens nor max_completion_tokens (default 4096).
	DefaultMaxTokens int `yaml:"defaultMaxTokens" json:"defaultMaxTokens,omitempty"`
	// TimeZone is the default time zone of calendar budgets (default UTC).
	TimeZone string `yaml:"timeZone" json:"timeZone,omitempty"`
	// KeyPrefix starts every key the admin API makes (default "sk-sy-").
	KeyPrefix string `yaml:"keyPrefix" json:"keyPrefix,omitempty"`
	// Store says where keys, counters and usage records live.
	Store Store `yaml:"store" json:"store"`
	// Admin protects the admin API's writing endpoints.
	Admin AdminAuth `yaml:"admin" json:"admin"`
}

// Team is a group of consumers.
type Team struct {
	Name    string   `yaml:"name" json:"name"`
	Limits  []Limit  `yaml:"limits" json:"limits,omitempty"`
	Budgets []Budget `yaml:"budgets" json:"budgets,omitempty"`
}

// Consumer is an app or a person.
type Consumer struct {
	Name string `yaml:"name" json:"name"`
	// Team is the team's name ("" for none).
	Team    string   `yaml:"team" json:"team,omitempty"`
	Keys    []APIKey `yaml:"keys" json:"keys,omitempty"`
	Limits  []Limit  `yaml:"limits" json:"limits,omitempty"`
	Budgets []Budget `yaml:"budgets" json:"budgets,omitempty"`
}

// APIKey is a key declared in the configuration: its value (hashed when the
// configuration loads) or its hash, never both.
type APIKey struct {
	// ID names the key in usage records and logs (default: derived from the hash).
	ID string `yaml:"id" json:"id,omitempty"`
	// Value is the key itself, usually ${ENV}.
	Value Secret `yaml:"value" json:"value,omitempty"`
	// Hash is "sha256:<hex>" of the key, for configurations that must not hold keys.
	Hash string `yaml:"hash" json:"hash,omitempty"`
	// ExpiresAt, when set, is when the key stops working (RFC 3339).
	ExpiresAt *time.Time `yaml:"expiresAt" json:"expiresAt,omitempty"`
	// Models, when set, are the only models the key may use.
	Models  []string `yaml:"models" json:"models,omitempty"`
	Limits  []Limit  `yaml:"limits" json:"limits,omitempty"`
	Budgets []Budget `yaml:"budgets" json:"budgets,omitempty"`
}

// The kubebuilder markers on Limit and on the other types the Kubernetes
// resources embed (k8s/api/v1alpha1) give their CRD schema, validation and
// deep copies (zz_generated.deepcopy.go): `make generate` runs controller-gen.

// Limit is a request or token rate limit. On a team, consumer or key it
// limits that subject; in a route's rateLimits policy, By says which
// subjects each get their own counter.
//
// +kubebuilder:object:generate=true
type Limit struct {
	// Name labels the limit in errors and metrics (default: derived).
	Name string `yaml:"name" json:"name,omitempty"`
	// Requests per Per (0: no request limit).
	// +kubebuilder:validation:Minimum=0
	Requests int64 `yaml:"requests" json:"requests,omitempty"`
	// Tokens per Per (0: no token limit), counted as TokenType.
	// +kubebuilder:validation:Minimum=0
	Tokens int64 `yaml:"tokens" json:"tokens,omitempty"`
	// TokenType is what Tokens counts: total (default), input or output.
	// +kubebuilder:validation:Enum=total;input;output
	TokenType string `yaml:"tokenType" json:"tokenType,omitempty"`
	// Per is the window: minute, hour, day, or a duration ("10s").
	Per string `yaml:"per" json:"per"`
	// By, in a route policy, lists the subjects with a counter each: key,
	// consumer, team, model, route (default: route, one counter for all).
	// +kubebuilder:validation:items:Enum=key;consumer;team;model;route
	By []string `yaml:"by" json:"by,omitempty"`
	// OnExceeded is Block (default) or Audit (count and report, let through).
	// +kubebuilder:validation:Enum=Block;Audit
	OnExceeded string `yaml:"onExceeded" json:"onExceeded,omitempty"`
}

// Budget caps what a key, consumer or team spends, in money or tokens,
// over a calendar period or a rolling window.
//
// +kubebuilder:validation:XValidation:rule="has(self.usd) != has(self.tokens)",message="a budget sets one of usd and tokens"
// +kubebuilder:validation:XValidation:rule="has(self.period) != has(self.window)",message="a budget sets one of period and window"
type Budget struct {
	Name string `yaml:"name" json:"name,omitempty"`
	// USD is the money budget (priced by Access.Prices); Tokens a token budget. One of the two.
	// +kubebuilder:validation:Minimum=0
	USD float64 `yaml:"usd" json:"usd,omitempty"`
	// +kubebuilder:validation:Minimum=0
	Tokens int64 `yaml:"tokens" json:"tokens,omitempty"`
	// Period is day, week (from Monday) or month, in TimeZone; Window a
	// rolling duration instead ("24h"). One of the two.
	// +kubebuilder:validation:Enum=day;week;month
	Period   string   `yaml:"period" json:"period,omitempty"`
	Window   Duration `yaml:"window" json:"window,omitempty"`
	TimeZone string   `yaml:"timeZone" json:"timeZone,omitempty"`
	// OnExceeded is Block (default) or Audit.
	// +kubebuilder:validation:Enum=Block;Audit
	OnExceeded string `yaml:"onExceeded" json:"onExceeded,omitempty"`
}

// Price is what a model costs, in USD per million tokens.
type Price struct {
	Input       float64 `yaml:"input" json:"input"`
	Output      float64 `yaml:"output" json:"output"`
	CachedInput float64 `yaml:"cachedInput" json:"cachedInput,omitempty"`
	CacheWrite  float64 `yaml:"cacheWrite" json:"cacheWrite,omitempty"`
	// Reasoning prices reasoning tokens (default: Output).
	Reasoning float64 `yaml:"reasoning" json:"reasoning,omitempty"`
}

// Store says where metering state lives. With neither Redis nor Postgres,
// everything is in the embedded SQLite file at Path.
type Store struct {
	// Path is the SQLite file (default "switchyard.db" in the data directory).
	Path string `yaml:"path" json:"path,omitempty"`
	// Redis holds counters and reservations when set.
	Redis *RedisStore `yaml:"redis" json:"redis,omitempty"`
	// Postgres holds keys and usage records when set.
	Postgres *PostgresStore `yaml:"postgres" json:"postgres,omitempty"`
	// FlushInterval is how often buffered usage records and spend are
	// written (default 1s): what a crash may lose.
	FlushInterval Duration `yaml:"flushInterval" json:"flushInterval,omitempty"`
	// QueueDir holds usage records waiting for an unreachable database
	// (default: Path's directory, "usage-queue"); QueueMaxBytes bounds it (default 1 GiB).
	QueueDir      string `yaml:"queueDir" json:"queueDir,omitempty"`
	QueueMaxBytes int64  `yaml:"queueMaxBytes" json:"queueMaxBytes,omitempty"`
}

// RedisStore is a Redis server shared by the replicas. An empty Address
// turns Redis off, so that one file (address: ${REDIS_ADDRESS:-}) serves
// both one node and many.
type RedisStore struct {
	Address  string `yaml:"address" json:"address"`
	Username string `yaml:"username" json:"username,omitempty"`
	Password Secret `yaml:"password" json:"password,omitempty"`
	DB       int    `yaml:"db" json:"db,omitempty"`
	// Timeout bounds each call (default 100ms).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// FailureMode is FailOpen (default: admit, unmetered, while Redis is
	// down) or FailClose (refuse with 503).
	FailureMode string `yaml:"failureMode" json:"failureMode,omitempty"`
}

// PostgresStore is a PostgreSQL database shared by the replicas. An empty
// URL turns it off, as for RedisStore.
type PostgresStore struct {
	// URL is a libpq connection string or URL, usually ${POSTGRES_URL}.
	URL Secret `yaml:"url" json:"url"`
	// Timeout bounds each call (default 2s).
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// AdminAuth is the credential the admin API's writing endpoints require
// (Authorization: Bearer). Without one they are served only on loopback.
type AdminAuth struct {
	Token     Secret `yaml:"token" json:"token,omitempty"`
	TokenFile string `yaml:"tokenFile" json:"tokenFile,omitempty"`
}

// ClientAuth authenticates clients: by API key, by JWT, or either.
//
// +kubebuilder:object:generate=true
type ClientAuth struct {
	// APIKeys accepts the keys of the access block (Authorization: Bearer or x-api-key).
	APIKeys *APIKeyAuth `yaml:"apiKeys" json:"apiKeys,omitempty"`
	// JWT accepts bearer tokens signed by the JWKS's keys.
	JWT *JWTAuth `yaml:"jwt" json:"jwt,omitempty"`
	// Optional lets requests without any credential through, anonymous
	// (a credential that is present must still be valid).
	Optional bool `yaml:"optional" json:"optional,omitempty"`
}

// APIKeyAuth configures key auth (empty: the defaults).
type APIKeyAuth struct{}

// JWTAuth verifies bearer JWTs.
//
// +kubebuilder:object:generate=true
type JWTAuth struct {
	Issuer    string   `yaml:"issuer" json:"issuer"`
	Audiences []string `yaml:"audiences" json:"audiences,omitempty"`
	JWKS      JWKS     `yaml:"jwks" json:"jwks"`
	// Algorithms allowed (default RS256, ES256); never none, and no HMAC.
	Algorithms []string `yaml:"algorithms" json:"algorithms,omitempty"`
	// ClockSkew allowed on exp, nbf and iat (default 60s).
	ClockSkew Duration `yaml:"clockSkew" json:"clockSkew,omitempty"`
	// ConsumerClaim names the claim that is the consumer (default "sub");
	// TeamClaim the team's (default "team").
	ConsumerClaim string `yaml:"consumerClaim" json:"consumerClaim,omitempty"`
	TeamClaim     string `yaml:"teamClaim" json:"teamClaim,omitempty"`
}

// JWKS is where a JWT's verification keys come from: a URL (fetched, cached
// and refreshed) or a file. One of the two.
type JWKS struct {
	URL  string `yaml:"url" json:"url,omitempty"`
	File string `yaml:"file" json:"file,omitempty"`
	// Refresh is how often the URL is fetched again (default 5m).
	Refresh Duration `yaml:"refresh" json:"refresh,omitempty"`
}
