// Package meter is token-metered access: client auth by API key or JWT
// (producing the Principal), request and token rate limits and money or
// token budgets reserved at admission and settled with the real usage, and
// one usage record per request. The limits' state lives in a
// store.Counters (memory or Redis), keys in a store.Keys (SQLite or
// PostgreSQL) and usage records go through a store.Recorder.
//
// A Service lives as long as the process: it holds the stores, the key
// cache and the JWT verifiers, and implements policies.Builder, compiling
// each snapshot's access block into a directory of subjects (keys,
// consumers, teams) whose counters are built once, so that admitting a
// request allocates little.
package meter
