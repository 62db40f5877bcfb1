// Drives the real `@modelcontextprotocol/sdk` npm client against a
// Switchyard MCP route for the Go end-to-end tests (test/e2e/mcp_node_test.go).
//
// Input (argv[2] or stdin): {"url": "...", "url2": "..." (optional),
//   "token": "..." (optional), "calls": [{"name": "...", "arguments": {...}}]}
// It connects to url, lists the tools and makes the calls; with url2 it then
// resumes the same session on url2 (no initialize) and makes the calls again.
// Output: {"session": "...", "tools": [...], "results": [...], "resumed": [...]}
// where a result is {"text": "...", "isError": bool} or {"failed": "message"}.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

async function readScenario() {
  if (process.argv[2]) return JSON.parse(process.argv[2]);
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function transport(url, token, sessionId) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  return new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, sessionId });
}

async function calls(client, list) {
  const out = [];
  for (const c of list) {
    try {
      const r = await client.callTool({ name: c.name, arguments: c.arguments ?? {} });
      out.push({ text: (r.content ?? []).filter((p) => p.type === 'text').map((p) => p.text).join(''), isError: !!r.isError });
    } catch (e) {
      out.push({ failed: String(e?.message ?? e) });
    }
  }
  return out;
}

const s = await readScenario();
const result = {};
const client = new Client({ name: 'switchyard-e2e', version: '1.0.0' });
const t1 = transport(s.url, s.token);
await client.connect(t1);
result.session = t1.sessionId;
result.tools = (await client.listTools()).tools.map((t) => t.name).sort();
result.results = await calls(client, s.calls ?? []);
if (s.url2) {
  const again = new Client({ name: 'switchyard-e2e', version: '1.0.0' });
  await again.connect(transport(s.url2, s.token, t1.sessionId));
  result.resumed = await calls(again, s.calls ?? []);
  await again.close();
}
await client.close();
process.stdout.write(JSON.stringify(result));
