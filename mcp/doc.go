// Package mcp is Switchyard's MCP gateway: a virtual MCP server (the
// streamable HTTP transport) over many targets — remote MCP servers, local
// servers run as child processes over stdio, and OpenAPI documents turned
// into tools. It merges the targets' tools, prompts and resources (names
// prefixed with the target's name when they collide), routes each call to
// its target, filters tools per target and authorizes them per caller, and
// hands out session ids that seal the targets' own session ids with an AEAD
// key, so that any gateway sharing the key serves any session with no shared
// store.
//
// The package never imports the router: router/mcproute adapts a Backend to
// a route kind. The server glue speaks fasthttp; targets are reached with
// net/http (remote servers and APIs) and the official Go SDK (stdio).
package mcp
