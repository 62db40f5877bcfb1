package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/switchyard-ai/switchyard/config"
)

// errSessionGone is a target that no longer knows the session (404).
var errSessionGone = errors.New("mcp: the target no longer knows the session")

// httpTarget is a remote MCP server over the streamable HTTP transport.
type httpTarget struct {
	url     string
	client  *http.Client
	auth    *config.MCPTargetAuth
	timeout time.Duration
	ids     atomic.Uint64
}

var _ target = (*httpTarget)(nil)

// post sends one JSON-RPC message to the target in session c.
func (t *httpTarget) post(ctx context.Context, c *call, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("mcp: target request: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	if c.session[0] != "" {
		h.Set("Mcp-Session-Id", c.session[0])
	}
	if c.session[1] != "" {
		h.Set("Mcp-Protocol-Version", c.session[1])
	}
	authorize(h, t.auth, c.caller)
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mcp: target unreachable: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound && c.session[0] != "":
		drain(resp)
		return nil, errSessionGone
	case resp.StatusCode >= 300:
		drain(resp)
		return nil, fmt.Errorf("mcp: target answered HTTP %d", resp.StatusCode)
	}
	return resp, nil
}

// roundTrip sends a request of the gateway's own and reads its answer.
func (t *httpTarget) roundTrip(ctx context.Context, c *call, method string, params any) (json.RawMessage, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	id := json.RawMessage(`"sy-` + strconv.FormatUint(t.ids.Add(1), 10) + `"`)
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return nil, nil, fmt.Errorf("mcp: encode %s: %w", method, err)
	}
	resp, err := t.post(ctx, c, body)
	if err != nil {
		return nil, nil, err
	}
	defer drain(resp)
	res, rerr, err := readReply(resp.Header.Get("Content-Type"), resp.Body, id)
	if err != nil {
		return nil, nil, err
	}
	if rerr != nil {
		return nil, nil, rerr
	}
	return res, resp.Header, nil
}

// open implements target: initialize, then notifications/initialized.
func (t *httpTarget) open(ctx context.Context, c *call) (string, string, error) {
	caps := c.capabilities
	if len(caps) == 0 {
		caps = json.RawMessage(`{}`)
	}
	res, h, err := t.roundTrip(ctx, c, "initialize", map[string]any{
		"protocolVersion": protocolVersion,
		"capabilities":    caps,
		"clientInfo":      map[string]any{"name": "switchyard", "version": "1"},
	})
	if err != nil {
		return "", "", err
	}
	var ir struct {
		ProtocolVersion string `json:"protocolVersion"`
	}
	if err := json.Unmarshal(res, &ir); err != nil {
		return "", "", fmt.Errorf("mcp: decode initialize result: %w", err)
	}
	sid := h.Get("Mcp-Session-Id")
	c.session = [2]string{sid, ir.ProtocolVersion}
	nctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	resp, err := t.post(nctx, c, []byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	if err != nil {
		return "", "", err
	}
	drain(resp)
	return sid, ir.ProtocolVersion, nil
}

// close implements target: DELETE the session.
func (t *httpTarget) close(ctx context.Context, c *call) {
	if c.session[0] == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, t.url, nil)
	if err != nil {
		return
	}
	req.Header.Set("Mcp-Session-Id", c.session[0])
	if c.session[1] != "" {
		req.Header.Set("Mcp-Protocol-Version", c.session[1])
	}
	authorize(req.Header, t.auth, c.caller)
	if resp, err := t.client.Do(req); err == nil {
		drain(resp)
	}
}

// list implements target.
func (t *httpTarget) list(ctx context.Context, c *call, kind string) ([]json.RawMessage, error) {
	var out []json.RawMessage
	cursor := ""
	for page := 0; page < maxPages; page++ {
		params := map[string]any{}
		if cursor != "" {
			params["cursor"] = cursor
		}
		res, _, err := t.roundTrip(ctx, c, kind+"/list", params)
		if err != nil {
			return nil, err
		}
		items, next, err := pageItems(res, kind)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
	return out, nil
}

// maxPages bounds the pages read from one target's list.
const maxPages = 100

// pageItems splits a list result into its items and next cursor.
func pageItems(res json.RawMessage, kind string) ([]json.RawMessage, string, error) {
	var page map[string]json.RawMessage
	if err := json.Unmarshal(res, &page); err != nil {
		return nil, "", fmt.Errorf("mcp: decode %s/list: %w", kind, err)
	}
	var items []json.RawMessage
	if raw := page[kind]; len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, "", fmt.Errorf("mcp: decode %s/list: %w", kind, err)
		}
	}
	var next string
	if raw := page["nextCursor"]; len(raw) > 0 {
		_ = json.Unmarshal(raw, &next)
	}
	return items, next, nil
}

// request implements target: the client's message, its name rewritten, is
// posted as it is; the answer is relayed (relay) or read.
func (t *httpTarget) request(ctx context.Context, c *call, m *message, relay bool) (*reply, error) {
	body, err := m.encode()
	if err != nil {
		return nil, fmt.Errorf("mcp: encode request: %w", err)
	}
	// A relayed body outlives the exchange and its pooled context: its
	// context is the gateway's own, cancelled with the client's until the
	// answer's headers arrive.
	rctx, cancel := context.WithTimeout(context.Background(), t.timeout)
	stop := context.AfterFunc(ctx, cancel)
	resp, err := t.post(rctx, c, body)
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	if relay {
		stop()
		return &reply{relay: resp, cancel: cancel}, nil
	}
	defer func() { stop(); cancel(); drain(resp) }()
	res, rerr, err := readReply(resp.Header.Get("Content-Type"), resp.Body, m.ID)
	if err != nil {
		return nil, err
	}
	return &reply{result: res, err: rerr}, nil
}

// notify implements target.
func (t *httpTarget) notify(ctx context.Context, c *call, m *message) {
	body, err := m.encode()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	if resp, err := t.post(ctx, c, body); err == nil {
		drain(resp)
	}
}

// stop implements target.
func (t *httpTarget) stop() {}

// drain reads what is left of a small body and closes it, so that the
// connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}
