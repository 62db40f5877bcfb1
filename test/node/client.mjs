// Drives the real `openai` npm client against a Switchyard gateway for the Go
// end-to-end tests (test/e2e/ai_node_test.go).
//
// Input: one JSON scenario as argv[2] or on stdin:
//   {"baseURL": "http://127.0.0.1:8080/v1", "apiKey": "...", "model": "...",
//    "embedModel": "...", "calls": ["chat", "stream", "tools", "streamTools",
//    "embeddings", "models", "error"]}
// Output: one JSON object on stdout, a key per call with its results (or
// {"failed": "message"} when the call threw unexpectedly).
import OpenAI, { NotFoundError } from 'openai';

async function readScenario() {
  if (process.argv[2]) return JSON.parse(process.argv[2]);
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', description: 'the city' } },
      required: ['city'],
    },
  },
};

const weatherQuestion = [{ role: 'user', content: 'What is the weather in Paris?' }];

function usageOf(u) {
  if (!u) return null;
  return { prompt: u.prompt_tokens, completion: u.completion_tokens, total: u.total_tokens };
}

// collect drains a chat stream: chunk count, text, finish reason, usage and
// the first tool call reassembled from its deltas.
async function collect(stream) {
  const out = { chunks: 0, content: '', finish: null, usage: null, usageChunks: 0, usageLast: false,
    tool: { id: '', name: '', arguments: '' }, toolIndexes: [] };
  for await (const chunk of stream) {
    out.chunks++;
    out.usageLast = false;
    if (chunk.usage) {
      out.usageChunks++;
      out.usage = usageOf(chunk.usage);
      out.usageLast = chunk.choices.length === 0;
    }
    for (const choice of chunk.choices) {
      if (choice.delta?.content) out.content += choice.delta.content;
      if (choice.finish_reason) out.finish = choice.finish_reason;
      for (const tc of choice.delta?.tool_calls ?? []) {
        if (!out.toolIndexes.includes(tc.index)) out.toolIndexes.push(tc.index);
        if (tc.index !== 0) continue;
        if (tc.id) out.tool.id = tc.id;
        if (tc.function?.name) out.tool.name = tc.function.name;
        if (tc.function?.arguments) out.tool.arguments += tc.function.arguments;
      }
    }
  }
  return out;
}

const calls = {
  async chat(client, sc) {
    const r = await client.chat.completions.create({
      model: sc.model, messages: [{ role: 'user', content: 'Say hello to the end-to-end test' }],
    });
    return { content: r.choices[0].message.content, finish: r.choices[0].finish_reason, usage: usageOf(r.usage) };
  },
  async stream(client, sc) {
    const s = await client.chat.completions.create({
      model: sc.model, messages: [{ role: 'user', content: 'Say hello to the end-to-end test' }],
      stream: true, stream_options: { include_usage: true },
    });
    return collect(s);
  },
  async tools(client, sc) {
    const first = await client.chat.completions.create({ model: sc.model, messages: weatherQuestion, tools: [weatherTool] });
    const msg = first.choices[0].message;
    const call = msg.tool_calls?.[0];
    const out = { finish: first.choices[0].finish_reason, calls: msg.tool_calls?.length ?? 0,
      name: call?.function?.name ?? '', arguments: call?.function?.arguments ?? '', usage: usageOf(first.usage) };
    if (!call) return out;
    const second = await client.chat.completions.create({
      model: sc.model, tools: [weatherTool],
      messages: [...weatherQuestion, msg, { role: 'tool', tool_call_id: call.id, content: 'Sunny, 22C' }],
    });
    out.final = second.choices[0].message.content;
    out.finalFinish = second.choices[0].finish_reason;
    out.finalUsage = usageOf(second.usage);
    return out;
  },
  async streamTools(client, sc) {
    const s = await client.chat.completions.create({
      model: sc.model, messages: weatherQuestion, tools: [weatherTool],
      stream: true, stream_options: { include_usage: true },
    });
    return collect(s);
  },
  async embeddings(client, sc) {
    const r = await client.embeddings.create({ model: sc.embedModel, input: 'the quick brown fox' });
    return { count: r.data.length, dims: r.data[0]?.embedding?.length ?? 0, usage: r.usage?.prompt_tokens ?? 0 };
  },
  async models(client) {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    return { ids };
  },
  async error(client) {
    try {
      await client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] });
      return { thrown: false };
    } catch (e) {
      return { thrown: true, notFound: e instanceof NotFoundError, name: e?.constructor?.name, status: e?.status,
        code: e?.code ?? null, type: e?.type ?? null, message: e?.error?.message ?? null };
    }
  },
};

async function main() {
  const sc = await readScenario();
  const client = new OpenAI({ apiKey: sc.apiKey, baseURL: sc.baseURL, maxRetries: 0, timeout: 15000 });
  const out = {};
  for (const name of sc.calls) {
    const fn = calls[name];
    if (!fn) {
      out[name] = { failed: `unknown call ${name}` };
      continue;
    }
    try {
      out[name] = await fn(client, sc);
    } catch (e) {
      out[name] = { failed: String(e?.message ?? e), status: e?.status ?? null };
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`client.mjs: ${e?.stack ?? e}\n`);
  process.exit(1);
});
