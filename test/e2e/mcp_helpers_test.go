package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/switchyard-ai/switchyard/internal/testutil"
)

// echoIn is the input of the test servers' tools.
type echoIn struct {
	Text string `json:"text" jsonschema:"the text"`
}

// startMCPServer runs a streamable HTTP MCP server (the official SDK) whose
// tools answer "<name>:<text>": echo on every server, and each of extra.
// It records the Authorization header each request carried.
func startMCPServer(t *testing.T, name string, extra ...string) (*httptest.Server, *atomic.Value) {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, nil)
	for _, tool := range append([]string{"echo"}, extra...) {
		mcp.AddTool(s, &mcp.Tool{Name: tool, Description: tool + " of " + name},
			func(_ context.Context, _ *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + ":" + in.Text}}}, nil, nil
			})
	}
	// progress reports its progress twice, then answers.
	mcp.AddTool(s, &mcp.Tool{Name: "progress", Description: "reports progress"},
		func(ctx context.Context, req *mcp.CallToolRequest, in echoIn) (*mcp.CallToolResult, any, error) {
			if tok := req.Params.GetProgressToken(); tok != nil {
				for i := 1; i <= 2; i++ {
					_ = req.Session.NotifyProgress(ctx, &mcp.ProgressNotificationParams{ProgressToken: tok, Progress: float64(i), Total: 2, Message: in.Text})
				}
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "done"}}}, nil, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "greet", Description: "a greeting of " + name},
		func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: "hello from " + name}}}}, nil
		})
	auth := &atomic.Value{}
	auth.Store("")
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, auth
}

var (
	stdioOnce sync.Once
	stdioBin  string
	stdioErr  error
)

// mcpStdioServer builds testdata/mcpstdio once and returns its path.
func mcpStdioServer(t *testing.T) string {
	t.Helper()
	stdioOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mcpstdio")
		if err != nil {
			stdioErr = err
			return
		}
		stdioBin = filepath.Join(dir, "mcpstdio")
		out, err := exec.Command("go", "build", "-o", stdioBin, "./testdata/mcpstdio").CombinedOutput()
		if err != nil {
			stdioErr = fmt.Errorf("build mcpstdio: %v: %s", err, out)
		}
	})
	if stdioErr != nil {
		t.Fatal(stdioErr)
	}
	return stdioBin
}

// petAPI is the HTTP API behind testdata/petstore.yaml; it records the last request.
type petAPI struct {
	*httptest.Server
	mu   sync.Mutex
	last struct{ method, path, query, trace, body, key string }
}

func startPetAPI(t *testing.T) *petAPI {
	t.Helper()
	p := &petAPI{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		p.mu.Lock()
		p.last.method, p.last.path, p.last.query, p.last.trace, p.last.body = r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("X-Trace"), string(b)
		p.last.key = r.Header.Get("X-Api-Key")
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/openapi.yaml": // the document, its server relative to it
			spec, err := os.ReadFile("testdata/petstore.yaml")
			if err != nil {
				w.WriteHeader(500)
				return
			}
			_, _ = w.Write([]byte(strings.Replace(string(spec), "http://pets.invalid/v1", "/v1", 1)))
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/pets/"):
			_, _ = fmt.Fprintf(w, `{"id":%q,"name":"rex"}`, strings.TrimPrefix(r.URL.Path, "/v1/pets/"))
		case r.Method == "POST" && r.URL.Path == "/v1/pets":
			w.WriteHeader(201)
			_, _ = w.Write(b)
		default:
			w.WriteHeader(404)
			_, _ = fmt.Fprint(w, `{"error":"no such pet route"}`)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

// mcpConnect opens a session of the official Go client on endpoint.
func mcpConnect(t *testing.T, endpoint string, hc *http.Client) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, MaxRetries: -1}, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", endpoint, err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	return cs
}

// toolNames lists the session's tools, sorted.
func toolNames(t *testing.T, cs *mcp.ClientSession) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	sort.Strings(names)
	return names
}

// callText calls a tool and returns its text, or the error.
func callText(t *testing.T, cs *mcp.ClientSession, tool string, args any) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return "", err
	}
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	if res.IsError {
		return strings.Join(parts, ""), fmt.Errorf("tool error: %s", strings.Join(parts, ""))
	}
	return strings.Join(parts, ""), nil
}

// rpc posts one raw JSON-RPC body and returns the status, the session header and the decoded answer.
func rpc(t *testing.T, url, session, body string, hdr ...string) (int, string, map[string]any) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw := drain(resp)
	var out map[string]any
	if i := strings.Index(raw, "data: "); strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") && i >= 0 {
		raw = strings.TrimSpace(raw[i+6:])
	}
	_ = json.Unmarshal([]byte(raw), &out)
	return resp.StatusCode, resp.Header.Get("Mcp-Session-Id"), out
}

// switchHost sends every request to the host:port set last, whatever its URL says.
type switchHost struct {
	mu sync.Mutex
	to string
}

func (s *switchHost) set(addr string) {
	s.mu.Lock()
	s.to = addr
	s.mu.Unlock()
}

// RoundTrip implements [http.RoundTripper].
func (s *switchHost) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	to := s.to
	s.mu.Unlock()
	r = r.Clone(r.Context())
	r.URL.Host, r.Host = to, to
	return http.DefaultTransport.RoundTrip(r)
}

// bearerClient sends token as a bearer credential on every request.
func bearerClient(token string) *http.Client {
	return &http.Client{Transport: bearer{token: token}}
}

type bearer struct{ token string }

// RoundTrip implements [http.RoundTripper].
func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// newJWKS makes an RSA key and a JWKS file holding its public half (kid k1).
func newJWKS(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, testutil.RSAJWKS(t, map[string]*rsa.PublicKey{"k1": &key.PublicKey}), 0o600); err != nil {
		t.Fatal(err)
	}
	return key, path
}

// signToken signs claims (plus issuer, audience and times) with key as k1.
func signToken(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	now := time.Now().Unix()
	c := map[string]any{"iss": "https://idp.example", "aud": "switchyard", "exp": now + 600, "iat": now}
	for k, v := range claims {
		c[k] = v
	}
	return testutil.SignJWT(t, "RS256", "k1", key, c)
}

func itoa(n int) string { return strconv.Itoa(n) }

// mcpRoute is a gateway configuration with one route at /mcp to the backend
// tools, followed by backends (YAML list items, "  - name: tools\n    mcp: ...").
func mcpRoute(backends string) string {
	return `
listeners: [{name: web, address: 127.0.0.1, port: {{PORT}}}]
routes:
  - name: tools
    rules: [{matches: [{path: {value: /mcp}}], backendRefs: [{name: tools}]}]
backends:
` + backends
}
