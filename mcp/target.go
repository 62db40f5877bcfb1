package mcp

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"

	"github.com/switchyard-ai/switchyard/config"
)

// protocolVersion is the MCP protocol version the gateway speaks to clients
// and targets (the newest with sessions); older versions a client asks for
// are accepted as they are.
const protocolVersion = "2025-11-25"

// supportedVersions are the versions a client may negotiate.
var supportedVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// Kinds of names a target lists.
const (
	kindTools     = "tools"
	kindPrompts   = "prompts"
	kindResources = "resources"
)

// call is what a target needs to know of the client's request.
type call struct {
	caller *Caller
	// session is the target's own session: its id and protocol version.
	session [2]string
	// capabilities are the client's, passed on at initialize (nil: none), so
	// that a target may ask it for sampling or elicitation.
	capabilities json.RawMessage
}

// target is one federated server.
type target interface {
	// open starts the target's side of a new client session: its session id
	// ("" when it keeps none) and protocol version.
	open(ctx context.Context, c *call) (sid, version string, err error)
	// close ends the target's session.
	close(ctx context.Context, c *call)
	// list returns every item of kind (tools, prompts, resources), all pages.
	list(ctx context.Context, c *call, kind string) ([]json.RawMessage, error)
	// request sends one request (tools/call, prompts/get, resources/read)
	// and returns its answer; a relayable target may return the HTTP
	// response itself, for the gateway to relay as it is.
	request(ctx context.Context, c *call, m *message, relay bool) (*reply, error)
	// notify relays a notification (cancellation, progress).
	notify(ctx context.Context, c *call, m *message)
	// stop frees the target (child processes) once no snapshot uses it.
	stop()
}

// reply is a target's answer to one request.
type reply struct {
	result json.RawMessage
	err    *rpcError
	// relay, when set, is the target's HTTP response, relayed as it is.
	relay *http.Response
	// cancel releases what relay holds (its context).
	cancel context.CancelFunc
	// target names the target whose answer relay is.
	target string
}

// member is a target in its backend: its name, filters and auth, and the
// names it listed last, which resolve the names clients call.
type member struct {
	name   string
	t      target
	filter *nameFilter
	auth   config.MCPTargetAuth
	// names are the target's names by kind as last listed (kept ones only).
	names [3]atomic.Pointer[map[string]bool]
}

// kindIndex indexes member.names.
func kindIndex(kind string) int {
	switch kind {
	case kindTools:
		return 0
	case kindPrompts:
		return 1
	}
	return 2
}

// has reports whether the target listed name as a kind last time.
func (m *member) has(kind, name string) bool {
	p := m.names[kindIndex(kind)].Load()
	return p != nil && (*p)[name]
}

// authorize sets the credentials the target receives on h.
func authorize(h http.Header, a *config.MCPTargetAuth, c *Caller) {
	client := ""
	if c != nil {
		client = c.Authorization
	}
	a.Apply(h, client)
}
