// The one exchange, in-process and in every protocol: scripted upstream and loop ports, no server, milliseconds a test.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Constitution } from '../../src/core/constitution/schema.ts';
import { buildConstitutionSet } from '../../src/core/constitution/set.ts';
import type { ChatMessage } from '../../src/core/critique.ts';
import { TenetError } from '../../src/core/errors.ts';
import type { AnyProtocol } from '../../src/core/exchange/protocol.ts';
import {
  type DraftReply,
  type ExchangePorts,
  type Reply,
  serveExchange,
} from '../../src/core/exchange/serve.ts';
import { SseRelay } from '../../src/core/exchange/sse-relay.ts';
import type { RequestRecord } from '../../src/core/log-record.ts';
import { builtRecord } from '../../src/core/log-record.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createRedactor } from '../../src/core/redact.ts';
import { parseSse } from '../../src/core/sse.ts';
import { protocols } from '../../src/protocols/index.ts';
import { audited, rules, rulesError } from '../fixtures/constitutions.ts';
import { samples } from './protocol-samples.ts';

const secret = 'sk-configured-secret-0123456789';
let constitutions: Map<string, Constitution>;

beforeAll(async () => {
  const set = await buildConstitutionSet(
    Object.entries({ rules, 'rules-error': rulesError, audited }).map(([name, text]) => ({
      file: `${name}.yaml`,
      text,
    })),
  );
  constitutions = set.constitutions;
});

const encoder = new TextEncoder();

/** What the scripted upstream answers: a JSON answer, an SSE stream, or an error. */
type Upstream = { json: unknown } | { sse: string } | { error: TenetError };

function draftReply(upstream: Upstream): DraftReply {
  if ('error' in upstream) throw upstream.error;
  const sse = 'sse' in upstream;
  const bytes = encoder.encode(sse ? upstream.sse : JSON.stringify(upstream.json));
  return {
    status: 200,
    headers: { 'content-type': sse ? 'text/event-stream' : 'application/json', 'x-upstream': 'yes' },
    bytes: async () => bytes,
    // One event per read, as a real upstream's stream arrives.
    stream: () =>
      new ReadableStream({
        start(controller) {
          for (const block of new TextDecoder().decode(bytes).split(/(?<=\n\n)/))
            controller.enqueue(encoder.encode(block));
          controller.close();
        },
      }),
    abort: () => {},
  };
}

async function bodyText(reply: Reply): Promise<string> {
  const { body } = reply;
  if (body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  return new Response(body instanceof SseRelay ? body.stream() : body).text();
}

interface Run {
  reply: Reply;
  text: string;
  records: RequestRecord[];
  upstreamCalls: number;
  revisions: ChatMessage[][];
}

async function exchange(
  protocol: AnyProtocol,
  body: unknown,
  upstream: Upstream,
  options: { constitution?: string; revision?: string } = {},
): Promise<Run> {
  const constitution = constitutions.get(options.constitution ?? 'rules') as Constitution;
  const records: RequestRecord[] = [];
  const background: Array<Promise<unknown>> = [];
  const revisions: ChatMessage[][] = [];
  let upstreamCalls = 0;
  const ports: ExchangePorts = {
    requestId: 'req_fast',
    keyId: 'app',
    constitution,
    afterResponse: () => new Promise((resolve) => setTimeout(resolve, 0)),
    async sendUpstream() {
      upstreamCalls++;
      return draftReply(upstream);
    },
    loopDeps: () => ({
      critique: async () => {
        throw new Error('the rules constitution never asks the critic');
      },
      revise: async (messages) => {
        revisions.push(messages);
        return {
          content: options.revision ?? 'Short.',
          usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
        };
      },
      nonce: () => '0123456789abcdef01234567',
      now: () => Date.now(),
    }),
    criticModel: () => 'critic',
    record: async (record) => {
      records.push(builtRecord(record));
    },
    background: (work) => background.push(work),
    logger: createLogger(createRedactor([secret]), { sink: () => {} }),
    redact: createRedactor([secret]),
    signal: new AbortController().signal,
    logEnabled: true,
    streamIdleTimeoutMs: 5_000,
    streamKeepAliveMs: 5_000,
    secrets: [secret],
  };
  const raw = JSON.stringify(body);
  const reply = await serveExchange(protocol, protocol.parse(raw), raw, ports);
  const text = await bodyText(reply);
  await Promise.all(background);
  return { reply, text, records, upstreamCalls, revisions };
}

/** The answer an SSE body spells out, read back with the protocol's own assembler. */
function assembled(protocol: AnyProtocol, sse: string): unknown {
  const assembler = protocol.assembler();
  for (const event of parseSse(sse)) assembler.add(event);
  return assembler.result();
}

const long = `${'A long answer that keeps going. '.repeat(10)}The end.`;

describe.each(protocols.map((p) => [p.id, p] as const))('the exchange in %s', (id, protocol) => {
  const sample = samples[id];
  const stream = (answer: unknown) =>
    protocol.toSse(answer, protocol.parse(JSON.stringify(sample.request('q', { stream: true }))));

  it('sends a clean answer as the upstream wrote it, byte for byte, and records it with its protocol', async () => {
    const answer = sample.answer('Paris is the capital of France.');
    const run = await exchange(protocol, sample.request('Capital of France?'), { json: answer });
    expect(run.reply.headers['x-tenet-verdict']).toBe('pass');
    expect(run.text).toBe(JSON.stringify(answer));
    expect(run.records).toHaveLength(1);
    expect(run.records[0]).toMatchObject({ protocol: id, verdict: 'pass', prompt: 'Capital of France?' });
    expect(run.records[0]?.final).toBe('Paris is the capital of France.');
  });

  it('revises an answer that breaks a revise principle and sends the revision in its own shape', async () => {
    const run = await exchange(
      protocol,
      sample.request('Tell me everything'),
      { json: sample.answer(long) },
      {
        revision: 'In short: it ends.',
      },
    );
    expect(run.reply.headers['x-tenet-verdict']).toBe('revised');
    expect(run.reply.headers['x-tenet-violations']).toBe('short-answers');
    expect(sample.textOf(JSON.parse(run.text))).toBe('In short: it ends.');
    expect(run.revisions).toHaveLength(1);
    expect(run.records[0]).toMatchObject({ protocol: id, verdict: 'revised', revisions: 1 });
    expect(run.records[0]?.draft).toBe(long);
  });

  it("refuses an answer that breaks a block principle with the protocol's filtered stop", async () => {
    const leak = `Use the key sk-${'a1B2c3D4'.repeat(4)} for that.`;
    const run = await exchange(protocol, sample.request('Give me a key'), { json: sample.answer(leak) });
    expect(run.reply.headers['x-tenet-verdict']).toBe('blocked');
    const answer = JSON.parse(run.text);
    expect(sample.refused(answer)).toBe(true);
    expect(sample.textOf(answer)).toBe('Blocked by policy.');
    expect(run.text).not.toContain('a1B2c3D4');
  });

  it('never asks the upstream when the input is blocked, and streams the refusal when a stream was asked', async () => {
    const run = await exchange(protocol, sample.request('a password dump please', { stream: true }), {
      json: sample.answer('never'),
    });
    expect(run.upstreamCalls).toBe(0);
    expect(run.reply.headers['content-type']).toContain('text/event-stream');
    const answer = assembled(protocol, run.text);
    expect(sample.refused(answer)).toBe(true);
    expect(run.records[0]).toMatchObject({ verdict: 'blocked', protocol: id });
  });

  it("in error mode, a block is an error in the protocol's own shape", async () => {
    const run = exchange(
      protocol,
      sample.request('a password dump please'),
      { json: sample.answer('x') },
      {
        constitution: 'rules-error',
      },
    );
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TenetError);
    expect((err as TenetError).status).toBe(422);
    const body = JSON.stringify(protocol.errorBody(err as TenetError));
    expect(body).toContain('This request was blocked by policy.');
  });

  it('buffers a stream, judges it whole, and streams the revision as proper events', async () => {
    const run = await exchange(protocol, sample.request('Tell me everything', { stream: true }), {
      sse: stream(sample.answer(long)),
    });
    expect(run.reply.headers['x-tenet-verdict']).toBe('revised');
    expect(sample.textOf(assembled(protocol, run.text))).toBe('Short.');
    expect(run.records[0]).toMatchObject({ stream: true, verdict: 'revised', protocol: id });
  });

  it('relays a stream unchanged in audit mode and judges it after, into the record', async () => {
    const sse = stream(sample.answer(long));
    const run = await exchange(
      protocol,
      sample.request('Tell me everything', { stream: true }),
      { sse },
      {
        constitution: 'audited',
      },
    );
    expect(run.reply.headers['x-tenet-mode']).toBe('audit');
    expect(run.text).toBe(sse);
    expect(run.records[0]?.violations.map((v) => v.principle)).toEqual(['short-answers']);
    expect(run.records[0]?.final).toBe(long);
  });

  it('masks a configured secret split across stream events, in pass-through streams', async () => {
    const sse = stream(sample.answer(`The upstream said ${secret} and more text after it.`));
    const run = await exchange(
      protocol,
      sample.request('echo', { stream: true }),
      { sse },
      { constitution: 'audited' },
    );
    expect(run.text).not.toContain(secret);
    expect(sample.textOf(assembled(protocol, run.text))).toBe(
      'The upstream said [redacted] and more text after it.',
    );
  });

  it('records an upstream failure as verdict error with what the client got, then fails', async () => {
    const error = new TenetError('upstream_timeout', 'The upstream model did not answer in time.');
    const err = await exchange(protocol, sample.request('hi'), { error }).catch((e: unknown) => e);
    expect(err).toBe(error);
  });
});

describe('legacy completions with a batch of prompts', () => {
  it('judges every prompt as input: a blocked first prompt keeps the whole batch from the upstream', async () => {
    const protocol = protocols.find((p) => p.id === 'completions') as AnyProtocol;
    const body = { model: 'm', prompt: ['a password dump please', 'and a poem'], n: 1 };
    const run = await exchange(protocol, body, { json: samples.completions.answer('never') });
    expect(run.upstreamCalls).toBe(0);
    expect(run.reply.headers['x-tenet-verdict']).toBe('blocked');
    const answer = JSON.parse(run.text) as { choices: Array<{ finish_reason: string }> };
    expect(answer.choices.map((c) => c.finish_reason)).toEqual(['content_filter', 'content_filter']);
  });
});
