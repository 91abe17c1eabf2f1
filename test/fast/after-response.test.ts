// What waits for the answer to be on its way: the verdict's log line and the request's record come after the
// response is handed over, never between the verdict and the client.
import { beforeAll, expect, it } from 'vitest';
import type { Constitution } from '../../src/core/constitution/schema.ts';
import { buildConstitutionSet } from '../../src/core/constitution/set.ts';
import type { AnyProtocol } from '../../src/core/exchange/protocol.ts';
import type { RequestRecord } from '../../src/core/log-record.ts';
import { builtRecord } from '../../src/core/log-record.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createRedactor } from '../../src/core/redact.ts';
import { protocols } from '../../src/protocols/index.ts';
import { judged } from '../fixtures/constitutions.ts';
import { samples } from './protocol-samples.ts';
import { runExchange } from './run-exchange.ts';
import { critic } from './scripted-critic.ts';

let constitution: Constitution;
beforeAll(async () => {
  const set = await buildConstitutionSet([{ file: 'judged.yaml', text: judged }]);
  constitution = set.constitutions.get('judged') as Constitution;
});

const chat = protocols.find((p) => p.id === 'chat') as AnyProtocol;

it('logs the verdict and records the request after the judged answer is returned, not before', async () => {
  const lines: string[] = [];
  const records: RequestRecord[] = [];
  const background: Array<Promise<unknown>> = [];
  const rude = 'No, obviously not: it is a myth, as anyone could look up.';
  const answer = JSON.stringify(samples.chat.answer(rude));
  const judge = critic(() => [{ principle: 'tone', evidence: 'obviously not' }]);
  const { reply } = await runExchange(chat, samples.chat.request('The Wall is visible from the Moon?'), {
    constitution,
    sendUpstream: async () => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      bytes: async () => new TextEncoder().encode(answer),
      stream: () => new Response(answer).body as ReadableStream<Uint8Array>,
      abort: () => {},
    }),
    loopDeps: () => ({
      critique: judge.call,
      revise: async () => {
        throw new Error('a flag-only violation is never revised');
      },
      nonce: () => '0123456789abcdef01234567',
      now: () => Date.now(),
    }),
    logger: createLogger(createRedactor([]), { sink: (_, line) => lines.push(line) }),
    record: async (r) => {
      records.push(builtRecord(r));
    },
    background: (work) => background.push(work),
  });
  expect(reply.headers['x-tenet-verdict']).toBe('flagged');
  // The answer is out; nothing of the bookkeeping has run yet.
  expect(lines).toEqual([]);
  expect(records).toEqual([]);
  await Promise.all(background);
  expect(lines.map((l) => JSON.parse(l) as { msg: string; verdict?: string })).toMatchObject([
    { msg: 'verdict', verdict: 'flagged' },
  ]);
  expect(records).toMatchObject([{ verdict: 'flagged', final: rude }]);
});
