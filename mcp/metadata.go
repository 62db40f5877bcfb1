package mcp

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/valyala/fasthttp"
)

// wellKnown is the path of OAuth protected resource metadata (RFC 9728).
const wellKnown = "/.well-known/oauth-protected-resource"

// ServeMetadata answers a GET of the protected resource metadata, at the
// endpoint's path followed by the well-known suffix or at the well-known
// path followed by the endpoint's path (RFC 9728's form). It reports
// whether the request was one; false when the backend is not configured
// with protectedResource or the path is another.
func (b *Backend) ServeMetadata(rc *fasthttp.RequestCtx) bool {
	if b.resource == nil || !rc.IsGet() {
		return false
	}
	path := rc.Path()
	var resourcePath []byte
	switch {
	case bytes.HasSuffix(path, []byte(wellKnown)):
		resourcePath = path[:len(path)-len(wellKnown)]
	case bytes.HasPrefix(path, []byte(wellKnown+"/")):
		resourcePath = path[len(wellKnown):]
	default:
		return false
	}
	resource := b.resource.Resource
	if resource == "" {
		resource = origin(rc) + string(resourcePath)
	}
	body, _ := json.Marshal(map[string]any{
		"resource":                 resource,
		"authorization_servers":    b.resource.AuthorizationServers,
		"scopes_supported":         b.resource.Scopes,
		"bearer_methods_supported": []string{"header"},
	})
	rc.SetStatusCode(http.StatusOK)
	rc.SetContentType("application/json")
	rc.Response.Header.Set("Cache-Control", "max-age=300")
	rc.SetBody(body)
	return true
}

// Challenge sets the WWW-Authenticate header of a 401 answer: it names the
// protected resource metadata so that an MCP client finds the authorization
// server. It does nothing without protectedResource.
func (b *Backend) Challenge(rc *fasthttp.RequestCtx) {
	if b.resource == nil {
		return
	}
	rc.Response.Header.Set("WWW-Authenticate", `Bearer resource_metadata="`+origin(rc)+string(rc.Path())+wellKnown+`"`)
}

// origin is scheme://host as the client reached the gateway.
func origin(rc *fasthttp.RequestCtx) string {
	scheme := "http"
	if rc.IsTLS() || string(rc.Request.Header.Peek("X-Forwarded-Proto")) == "https" {
		scheme = "https"
	}
	return scheme + "://" + string(rc.Host())
}
