// A request's after-work (its verdict line and record, queued after the answer) keeps only the record's parts alive:
// not the request's ports, parsed body or upstream reply, while the log writer still holds the record.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Constitution } from '../../src/core/constitution/schema.ts';
import { buildConstitutionSet } from '../../src/core/constitution/set.ts';
import { type DraftReply, type ExchangePorts, serveExchange } from '../../src/core/exchange/serve.ts';
import { SseRelay } from '../../src/core/exchange/sse-relay.ts';
import { builtRecord, type PendingRecord, type RequestRecord } from '../../src/core/log-record.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createRedactor } from '../../src/core/redact.ts';
import { protocolById } from '../../src/protocols/index.ts';
import { open, rules } from '../fixtures/constitutions.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let constitutions: Map<string, Constitution>;
beforeAll(async () => {
  const set = await buildConstitutionSet([
    { file: 'rules.yaml', text: rules },
    { file: 'open.yaml', text: open },
  ]);
  constitutions = set.constitutions;
});

const encoder = new TextEncoder();
const chat = protocolById('chat');
const sse = [
  { choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello' } }] },
  { choices: [{ index: 0, delta: { content: ' there.' }, finish_reason: 'stop' }] },
]
  .map((chunk) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', ...chunk })}\n\n`)
  .concat('data: [DONE]\n\n')
  .join('');
const json = {
  id: 'c1',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there.' }, finish_reason: 'stop' }],
};

function draftReply(stream: boolean): DraftReply {
  const bytes = encoder.encode(stream ? sse : JSON.stringify(json));
  return {
    status: 200,
    headers: { 'content-type': stream ? 'text/event-stream' : 'application/json' },
    bytes: async () => bytes,
    stream: () =>
      new ReadableStream({
        start(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      }),
    abort: () => {},
  };
}

// The app's, as the proxy's are: made once, not by the request (a closure made in serveOne would hold its scope).
const redact = createRedactor([]);
const logger = createLogger(redact, { sink: () => {} });

/**
 * The app's side of the after-work: a log writer that takes each record (pending: built when written) and has not
 * written it yet (it holds it, and what settles its promise, as the real writer's queue does).
 */
function pendingWriter() {
  const records: (RequestRecord | PendingRecord)[] = [];
  const settles: Array<() => void> = [];
  let taken: () => void = () => {};
  const tookOne = new Promise<void>((resolve) => {
    taken = resolve;
  });
  const record = (r: RequestRecord | PendingRecord) => {
    records.push(r);
    taken();
    return new Promise<void>((settle) => settles.push(settle));
  };
  return { records, tookOne, record, settles };
}

/**
 * Serves one request and reads its answer; returns weak references to its ports and its upstream reply (this
 * function keeps neither), and the writer that got its record.
 */
async function serveOne(constitution: Constitution, stream: boolean, logEnabled = true) {
  const writer = pendingWriter();
  const reply = draftReply(stream);
  const ports: ExchangePorts = {
    requestId: 'req_after_work',
    keyId: 'app',
    constitution,
    sendUpstream: async () => reply,
    loopDeps: () => ({
      critique: async () => {
        throw new Error('these constitutions never ask the critic');
      },
      revise: async () => ({
        content: 'Short.',
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
      nonce: () => '0123456789abcdef01234567',
      now: () => Date.now(),
    }),
    criticModel: () => 'critic',
    record: writer.record,
    background: () => {},
    afterResponse: async () => {},
    logger,
    redact,
    signal: new AbortController().signal,
    logEnabled,
    streamIdleTimeoutMs: 5_000,
    streamKeepAliveMs: 5_000,
    secrets: [],
  };
  const raw = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], stream });
  const answer = await serveExchange(chat, chat.parse(raw), raw, ports);
  const body = answer.body instanceof SseRelay ? answer.body.stream() : answer.body;
  const text = await new Response(body as BodyInit).text();
  return { text, writer, ports: new WeakRef(ports), reply: new WeakRef(reply) };
}

/** Collects garbage after the current job (a WeakRef made in it holds its target until the job ends). */
async function collected(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
}

describe("a request's after-work", () => {
  for (const [name, stream] of [
    ['a streamed answer', true],
    ['a JSON answer', false],
  ] as const) {
    for (const constitution of ['open', 'rules']) {
      it(`keeps neither the ports nor the upstream reply alive while the record waits (${name}, ${constitution})`, async () => {
        const served = await serveOne(constitutions.get(constitution) as Constitution, stream);
        expect(served.text).toContain('Hello');
        await served.writer.tookOne;
        // Built as the writer would: the writer still holds it (pending), as it does until its batch is written.
        expect(builtRecord(served.writer.records[0] as PendingRecord).final).toBe('Hello there.');
        await collected();
        expect(served.ports.deref()).toBeUndefined();
        expect(served.reply.deref()).toBeUndefined();
        expect(served.writer.settles).toHaveLength(1);
      });
    }
  }

  it('with the log off, writes no record and keeps nothing alive', async () => {
    const served = await serveOne(constitutions.get('rules') as Constitution, true, false);
    expect(served.text).toContain('Hello');
    await collected();
    expect(served.writer.records).toEqual([]);
    expect(served.ports.deref()).toBeUndefined();
    expect(served.reply.deref()).toBeUndefined();
  });
});
