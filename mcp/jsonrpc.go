package mcp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
)

// JSON-RPC and MCP error codes the gateway answers with.
const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
	codeInternal       = -32603
	// codeTargetError: a target failed or is unreachable.
	codeTargetError = -32000
	// codeSession: the session is unknown, expired or forged.
	codeSession = -32001
	// codeForbidden: the caller may not use the tool.
	codeForbidden = -32003
)

// message is one JSON-RPC message from the client.
type message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
	// raw is the message as the client sent it, forwarded as it is when
	// nothing in it changed (nil once it has).
	raw []byte
}

// encode returns the message's bytes: as the client sent them, or encoded.
func (m *message) encode() ([]byte, error) {
	if m.raw != nil {
		return m.raw, nil
	}
	return json.Marshal(m)
}

// isRequest reports whether m is a request (a method and an id).
func (m *message) isRequest() bool { return m.Method != "" && len(m.ID) > 0 && string(m.ID) != "null" }

// rpcError is a JSON-RPC error object.
type rpcError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Error implements error.
func (e *rpcError) Error() string { return fmt.Sprintf("json-rpc error %d: %s", e.Code, e.Message) }

func errorf(code int, format string, args ...any) *rpcError {
	return &rpcError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// response is one JSON-RPC response to the client.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// encodeResponse encodes the answer to the request id: result, or err.
func encodeResponse(id json.RawMessage, result json.RawMessage, err *rpcError) []byte {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	r := response{JSONRPC: "2.0", ID: id}
	if err != nil {
		r.Error = err
	} else {
		if len(result) == 0 {
			result = json.RawMessage("{}")
		}
		r.Result = result
	}
	b, mErr := json.Marshal(r)
	if mErr != nil { // a target's result that is not JSON
		b, _ = json.Marshal(response{JSONRPC: "2.0", ID: id, Error: errorf(codeInternal, "a target answered with invalid JSON")})
	}
	return b
}

// maxEventBytes bounds one SSE event read from a target.
const maxEventBytes = 16 << 20

// errNoReply is a target stream that ended without the answer.
var errNoReply = errors.New("mcp: the target's stream ended without an answer")

// readReply reads the answer to the request id from a target's HTTP body:
// a JSON object (or a batch holding it) or an SSE stream whose events carry
// it. It returns the answer's result or its error.
func readReply(contentType string, body io.Reader, id json.RawMessage) (json.RawMessage, *rpcError, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "text/event-stream" {
		return readSSEReply(body, id)
	}
	b, err := io.ReadAll(io.LimitReader(body, maxEventBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("mcp: read target answer: %w", err)
	}
	if len(b) > maxEventBytes {
		return nil, nil, errors.New("mcp: target answer too large")
	}
	return matchReply(b, id)
}

// readSSEReply reads SSE events until one is the answer to id.
func readSSEReply(body io.Reader, id json.RawMessage) (json.RawMessage, *rpcError, error) {
	var res json.RawMessage
	var rerr *rpcError
	found := false
	err := eachEvent(body, func(data []byte, _ string) bool {
		r, e, err := matchReply(data, id)
		if err != nil {
			return true
		}
		res, rerr, found = r, e, true
		return false
	})
	switch {
	case found:
		return res, rerr, nil
	case err != nil:
		return nil, nil, err
	}
	return nil, nil, errNoReply
}

// eachEvent calls fn with the data (its lines joined) and the last event id
// of each SSE event read from r, until fn returns false or r ends.
func eachEvent(r io.Reader, fn func(data []byte, id string) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), maxEventBytes)
	var data bytes.Buffer
	id := ""
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 {
			if data.Len() > 0 && !fn(data.Bytes(), id) {
				return nil
			}
			data.Reset()
			continue
		}
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.Write(bytes.TrimPrefix(v, []byte(" ")))
		} else if v, ok := bytes.CutPrefix(line, []byte("id:")); ok {
			id = string(bytes.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("mcp: read target stream: %w", err)
	}
	if data.Len() > 0 {
		fn(data.Bytes(), id)
	}
	return nil
}

// matchReply returns the result or error of the answer to id in b.
func matchReply(b []byte, id json.RawMessage) (json.RawMessage, *rpcError, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var ms []message
		if err := json.Unmarshal(b, &ms); err != nil {
			return nil, nil, fmt.Errorf("mcp: decode target answer: %w", err)
		}
		for i := range ms {
			if sameID(ms[i].ID, id) && ms[i].Method == "" {
				return replyOf(&ms[i])
			}
		}
		return nil, nil, errNoReply
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, fmt.Errorf("mcp: decode target answer: %w", err)
	}
	if m.Method != "" || !sameID(m.ID, id) {
		return nil, nil, errNoReply
	}
	return replyOf(&m)
}

func replyOf(m *message) (json.RawMessage, *rpcError, error) {
	if len(m.Error) > 0 && string(m.Error) != "null" {
		var e rpcError
		if err := json.Unmarshal(m.Error, &e); err != nil {
			return nil, nil, fmt.Errorf("mcp: decode target error: %w", err)
		}
		return nil, &e, nil
	}
	return m.Result, nil, nil
}

// sameID compares two JSON-RPC ids as JSON values.
func sameID(a, b json.RawMessage) bool {
	return strings.TrimSpace(string(a)) == strings.TrimSpace(string(b))
}
