package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// mcpProtocol is the MCP protocol version the load negotiates.
const mcpProtocol = "2025-06-18"

// mcpSession opens an MCP session at url (initialize, then
// notifications/initialized) and returns the file of a tools/call body and
// the headers every call of the session sends.
func mcpSession(ctx context.Context, url, dir string) (string, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	post := func(session, body string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader([]byte(body)))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", mcpProtocol)
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("harness: mcp %s: %w", url, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode >= 300 {
			return nil, fmt.Errorf("harness: mcp %s: HTTP %d", url, resp.StatusCode)
		}
		return resp, nil
	}
	resp, err := post("", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"`+mcpProtocol+
		`","capabilities":{},"clientInfo":{"name":"loadgen","version":"1"}}}`)
	if err != nil {
		return "", nil, err
	}
	session := resp.Header.Get("Mcp-Session-Id")
	if session == "" {
		return "", nil, fmt.Errorf("harness: mcp %s: no session id", url)
	}
	if _, err := post(session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
		return "", nil, err
	}
	file := filepath.Join(dir, "mcp-call.json")
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello from the load generator"}}}`
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		return "", nil, fmt.Errorf("harness: write %s: %w", file, err)
	}
	return file, []string{"Content-Type: application/json", "Accept: application/json, text/event-stream",
		"Mcp-Protocol-Version: " + mcpProtocol, "Mcp-Session-Id: " + session}, nil
}
