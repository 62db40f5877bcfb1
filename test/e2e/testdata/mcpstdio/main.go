// Command mcpstdio is an MCP server over stdio for the end-to-end tests,
// built with the official Go SDK: shout (upper-cases its text), pid (the
// process id, to see restarts) and crash (exits at once, to see the gateway
// restart it). It writes one line to stderr when it starts. With
// MCPSTDIO_GROW=1 it also has grow, which adds a tool (grown): the server
// sends notifications/tools/list_changed.
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type text struct {
	Text string `json:"text" jsonschema:"the text"`
}

type none struct{}

func main() {
	s := mcp.NewServer(&mcp.Implementation{Name: "mcpstdio", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "shout", Description: "Upper-cases a text"},
		func(_ context.Context, _ *mcp.CallToolRequest, in text) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strings.ToUpper(in.Text)}}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "pid", Description: "The server's process id"},
		func(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: strconv.Itoa(os.Getpid())}}}, nil, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "crash", Description: "Exits the server"},
		func(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, any, error) {
			go func() { time.Sleep(10 * time.Millisecond); os.Exit(3) }()
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "bye"}}}, nil, nil
		})
	if os.Getenv("MCPSTDIO_GROW") == "1" {
		mcp.AddTool(s, &mcp.Tool{Name: "grow", Description: "Adds the tool grown"},
			func(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, any, error) {
				mcp.AddTool(s, &mcp.Tool{Name: "grown", Description: "A tool added by grow"},
					func(context.Context, *mcp.CallToolRequest, none) (*mcp.CallToolResult, any, error) {
						return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "grown"}}}, nil, nil
					})
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "grew"}}}, nil, nil
			})
	}
	fmt.Fprintln(os.Stderr, "mcpstdio ready, pid", os.Getpid())
	if err := s.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		fmt.Fprintln(os.Stderr, "mcpstdio:", err)
		os.Exit(1)
	}
}
