// Drives the real `@a2a-js/sdk` npm client against a Switchyard A2A route for
// the Go end-to-end tests (test/e2e/a2a_node_test.go): it resolves the agent
// card under the route (base ends with "/": the SDK resolves the card path
// relative to it), then streams a task.
//
// Input (argv[2] or stdin): {"base": "http://127.0.0.1:8080/agents/echo", "text": "ping"}
// Output: {"card": {...}, "events": ["task", "statusUpdate", ...],
//   "states": [...], "artifact": "..."} or {"failed": "message"}.
import { ClientFactory } from '@a2a-js/sdk/client';
import { randomUUID } from 'node:crypto';

async function readScenario() {
  if (process.argv[2]) return JSON.parse(process.argv[2]);
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const s = await readScenario();
const out = { events: [], states: [], artifact: '' };
try {
  const client = await new ClientFactory().createFromUrl(s.base);
  const message = { messageId: randomUUID(), role: 1, parts: [{ content: { $case: 'text', value: s.text } }] };
  for await (const ev of client.sendMessageStream({ message })) {
    const p = ev.payload;
    if (!p) continue;
    out.events.push(p.$case);
    if (p.$case === 'task' || p.$case === 'statusUpdate') out.states.push(p.value.status?.state);
    if (p.$case === 'artifactUpdate') {
      for (const part of p.value.artifact?.parts ?? []) {
        if (part.content?.$case === 'text') out.artifact += part.content.value;
      }
    }
  }
} catch (e) {
  out.failed = String(e?.stack ?? e);
}
process.stdout.write(JSON.stringify(out));
