package mcp

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// TestSSERelay rewrites the ids of a target's requests in its SSE answer and
// leaves everything else as it is; the client's answer finds the target.
func TestSSERelay(t *testing.T) {
	in := "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}\n\n" +
		"event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"elicitation/create\",\"params\":{}}\n\n" +
		"id: 3\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"
	r := &sseRelay{src: bufio.NewReader(strings.NewReader(in)), body: io.NopCloser(nil), target: "asker", cancel: func() {}}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	events := strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n")
	if len(events) != 3 || !strings.Contains(events[0], `"notifications/progress"`) || events[2] != "id: 3\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}" {
		t.Fatalf("relayed:\n%s", out)
	}
	var m message
	if err := json.Unmarshal([]byte(strings.TrimPrefix(strings.Split(events[1], "\n")[1], "data: ")), &m); err != nil {
		t.Fatal(err)
	}
	target, id, ok := unwrapServerID(m.ID)
	if !ok || target != "asker" || string(id) != "7" || m.Method != "elicitation/create" {
		t.Fatalf("request id %s: %s %s %v", m.ID, target, id, ok)
	}
	for _, bad := range []string{`7`, `"sy~x"`, `"sy~x~!!!"`, `"other"`, `"sy~x~bm90IGpzb24"`} {
		if _, _, ok := unwrapServerID(json.RawMessage(bad)); ok {
			t.Errorf("unwrapServerID(%s) accepted", bad)
		}
	}
}
