// The loop section's floor: the cheapest reasonable critique loop (node:http in and out over keep-alive
// connections, no checks, no record). It makes the calls Tenet makes for the bench's scenarios: the draft, a critic call, and for a `revise`
// verdict a revision and a second critic call. What it adds beyond the model calls is what the machine's hops
// cost any loop here; what Tenet adds beyond that is its own.
import { randomBytes } from 'node:crypto';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

const upstream = (process.argv[2] ?? '').replace(/\/+$/, '');
/** Principle id → action (`revise`, `block`, `flag`), as the bench's constitution says. */
const actions = JSON.parse(process.argv[3] ?? '{}') as Record<string, string>;
const refusal = process.argv[4] ?? 'Refused.';
if (!upstream.startsWith('http://')) {
  console.error('usage: loop-floor.ts http://UPSTREAM/v1 ACTIONS_JSON REFUSAL');
  process.exit(2);
}

type Message = { role: string; content: string };

const agent = new Agent({ keepAlive: true });
const target = new URL(`${upstream}/chat/completions`);

/** One chat completion call: the reply's first message text. */
function chat(body: unknown, auth: string): Promise<string> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      target,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': payload.length,
          authorization: auth,
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => {
          try {
            const json = JSON.parse(Buffer.concat(parts).toString('utf8')) as {
              choices?: { message?: { content?: string } }[];
            };
            resolve(json.choices?.[0]?.message?.content ?? '');
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** One critic call: the principles' verdicts on `answer` (the reply's nonce is not checked). */
async function critique(model: string, prompt: string, answer: string, auth: string): Promise<string[]> {
  const nonce = randomBytes(8).toString('hex');
  const principles = Object.keys(actions).join(', ');
  const content = await chat(
    {
      model: 'critic-model',
      temperature: 0,
      messages: [
        {
          role: 'system',
          content: `Judge the answer against each principle (${principles}). Echo nonce: ${nonce}.`,
        },
        { role: 'user', content: `Request (to ${model}): ${prompt}\n\nAnswer: ${answer}` },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'tenet_critique', strict: true, schema: { type: 'object' } },
      },
    },
    auth,
  );
  const verdicts = (JSON.parse(content) as { verdicts?: { principle: string; violated: boolean }[] })
    .verdicts;
  return (verdicts ?? []).filter((v) => v.violated).map((v) => actions[v.principle] ?? 'flag');
}

const server = createServer(async (req, res) => {
  try {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const auth = req.headers.authorization ?? '';
    const request = JSON.parse(Buffer.concat(parts).toString('utf8')) as {
      model: string;
      messages: Message[];
    };
    const prompt = request.messages.map((m) => m.content).join('\n');
    let answer = await chat(request, auth);
    let verdict = 'pass';
    for (let revisions = 0; ; revisions++) {
      const found = await critique(request.model, prompt, answer, auth);
      if (found.includes('block')) {
        answer = refusal;
        verdict = 'blocked';
        break;
      }
      if (!found.includes('revise')) {
        if (found.length > 0) verdict = verdict === 'revised' ? 'revised' : 'flagged';
        break;
      }
      if (revisions === 2) {
        answer = refusal;
        verdict = 'blocked';
        break;
      }
      answer = await chat(
        {
          ...request,
          messages: [
            ...request.messages,
            { role: 'assistant', content: answer },
            { role: 'user', content: 'Revise the answer: it breaks a principle.' },
          ],
        },
        auth,
      );
      verdict = 'revised';
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-tenet-verdict': verdict });
    res.end(
      JSON.stringify({
        id: 'chatcmpl-floor',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: request.model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: answer },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
      }),
    );
  } catch (err) {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`loop floor failed: ${String(err)}`);
  }
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ msg: 'loop floor listening', url: `http://127.0.0.1:${port}` }));
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
