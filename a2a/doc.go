// Package a2a is Switchyard's A2A proxy: one agent behind a route. It serves
// the agent's card at the well-known path under the route with the card's
// interface URLs rewritten to the gateway's address (the agent's own path
// replaced by the route's, never appended to it), leaves a signed card
// unchanged or signs the rewritten card again with a configured key, and
// forwards every other request to the agent, relaying streamed (SSE)
// answers event by event.
//
// The package never imports the router: router/a2aroute adapts an Agent to
// a route kind. The server glue speaks fasthttp; the agent is reached with
// net/http.
package a2a
