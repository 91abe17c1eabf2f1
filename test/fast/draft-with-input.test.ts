// The draft asked for while the input is judged (draft_with_input), in-process: when it starts, what a blocked
// input does to it, and what the record says it cost.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Constitution } from '../../src/core/constitution/schema.ts';
import type { AnyProtocol } from '../../src/core/exchange/protocol.ts';
import type { DraftReply } from '../../src/core/exchange/serve.ts';
import type { RequestRecord } from '../../src/core/log-record.ts';
import { protocols } from '../../src/protocols/index.ts';
import { samples } from './protocol-samples.ts';
import { constitutionsOf, runExchange } from './run-exchange.ts';
import { critic } from './scripted-critic.ts';

const inputPrinciple = `principles:
  - id: no-weapons-input
    applies_to: input
    severity: critical
    action: block
    critique: Does the user ask for instructions to build a weapon?
`;
const files = {
  'judged-input': `name: judged-input\n${inputPrinciple}`,
  'judged-input-never': `name: judged-input-never\ndraft_with_input: never\n${inputPrinciple}`,
  'judged-input-always': `name: judged-input-always\ndraft_with_input: always\n${inputPrinciple}`,
  'judged-input-progressive': `name: judged-input-progressive\nstream: progressive\n${inputPrinciple}`,
  'checked-input': `name: checked-input
principles:
  - id: no-dump-requests
    applies_to: input
    severity: critical
    action: block
    check: { keywords: [password dump] }
`,
};

let constitutions: Map<string, Constitution>;
beforeAll(async () => {
  constitutions = await constitutionsOf(files);
});

const chat = protocols.find((p) => p.id === 'chat') as AnyProtocol;
const encoder = new TextEncoder();
const usage = { prompt_tokens: 20, completion_tokens: 30, total_tokens: 50 };

/** What happened, in order: `upstream` (the draft asked for), `verdict` (the input critic answered), `aborted`. */
type Event = 'upstream' | 'verdict' | 'aborted';

interface Script {
  constitution: string;
  stream?: boolean;
  /** The input critic finds the request breaks the input principle. */
  blocks?: boolean;
  /** The critic answers only after the draft has been asked for (or 300 ms, whichever is first). */
  criticWaitsForDraft?: boolean;
  /** The upstream answers only when aborted (a draft still being written). */
  upstreamHangs?: boolean;
}

async function run(script: Script) {
  const events: Event[] = [];
  let draftAsked: () => void = () => {};
  const asked = new Promise<void>((resolve) => {
    draftAsked = resolve;
  });
  const judge = critic(() =>
    script.blocks ? [{ principle: 'no-weapons-input', evidence: 'build a crossbow at home' }] : [],
  );
  const request = samples.chat.request('How do I build a crossbow at home?', {
    stream: script.stream === true,
  });
  const answer = { ...(samples.chat.answer('Here is a safe overview.') as Record<string, unknown>), usage };
  const { reply, text, records } = await runExchange(chat, request, {
    requestId: 'req_draft_with_input',
    constitution: constitutions.get(script.constitution) as Constitution,
    async sendUpstream(_body, signal) {
      events.push('upstream');
      draftAsked();
      signal.addEventListener('abort', () => events.push('aborted'), { once: true });
      if (script.upstreamHangs)
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      const sse = script.stream === true;
      const bytes = encoder.encode(
        sse ? chat.toSse(answer, chat.parse(JSON.stringify(request))) : JSON.stringify(answer),
      );
      return {
        status: 200,
        headers: { 'content-type': sse ? 'text/event-stream' : 'application/json' },
        bytes: async () => bytes,
        stream: () => new Response(bytes).body as ReadableStream<Uint8Array>,
        abort: () => {},
      } satisfies DraftReply;
    },
    loopDeps: () => ({
      critique: async (messages) => {
        if (script.criticWaitsForDraft) await Promise.race([asked, new Promise((r) => setTimeout(r, 300))]);
        const reply = await judge.call(messages);
        events.push('verdict');
        return reply;
      },
      revise: async () => ({ content: 'unused', usage }),
      nonce: () => '0123456789abcdef01234567',
      now: () => Date.now(),
    }),
  });
  return { reply, text, events, record: records[0] as RequestRecord };
}

describe('the draft alongside the input (draft_with_input)', () => {
  it('asks for the draft before the input critic has answered, and sends it once the input passes', async () => {
    const { reply, text, events, record } = await run({
      constitution: 'judged-input',
      criticWaitsForDraft: true,
    });
    expect(events).toEqual(['upstream', 'verdict']);
    expect(reply.headers['x-tenet-verdict']).toBe('pass');
    expect(samples.chat.textOf(JSON.parse(text))).toBe('Here is a safe overview.');
    expect(record.draftCall).toMatchObject({ withInput: true, usage });
    expect(record.modelTokens).toBe(usage.total_tokens);
  });

  it('cancels a draft still being written when the input is blocked, and records that its tokens are unknown', async () => {
    const { reply, text, events, record } = await run({
      constitution: 'judged-input',
      blocks: true,
      upstreamHangs: true,
    });
    expect(events).toEqual(['upstream', 'verdict', 'aborted']);
    expect(reply.headers['x-tenet-verdict']).toBe('blocked');
    expect(text).not.toContain('safe overview');
    expect(record.draftCall).toMatchObject({ withInput: true, cancelled: true, usage: null });
    expect(record.reason).toContain('the draft asked for alongside the input was cancelled');
  });

  it('counts the tokens of a draft that was complete before the input was blocked, and never sends it', async () => {
    const { text, events, record } = await run({
      constitution: 'judged-input',
      blocks: true,
      criticWaitsForDraft: true,
    });
    expect(events.slice(0, 2)).toEqual(['upstream', 'verdict']);
    expect(text).not.toContain('safe overview');
    expect(record.verdict).toBe('blocked');
    expect(record.draftCall).toMatchObject({ withInput: true, usage });
    expect(record.draftCall?.cancelled).toBeUndefined();
    expect(record.modelTokens).toBe(usage.total_tokens);
    expect(record.reason).toContain('was not sent (50 tokens spent)');
  });

  it('keeps the input first with draft_with_input: never: a blocked input costs no draft', async () => {
    const blocked = await run({
      constitution: 'judged-input-never',
      blocks: true,
      criticWaitsForDraft: true,
    });
    expect(blocked.events).toEqual(['verdict']);
    expect(blocked.record.draftCall).toBeNull();
    const passed = await run({ constitution: 'judged-input-never', criticWaitsForDraft: true });
    expect(passed.events).toEqual(['verdict', 'upstream']);
    expect(passed.record.draftCall?.withInput).toBeUndefined();
  });

  it('leaves streams input-first by default (auto), and starts them alongside with always', async () => {
    const auto = await run({ constitution: 'judged-input', stream: true, criticWaitsForDraft: true });
    expect(auto.events).toEqual(['verdict', 'upstream']);
    const always = await run({
      constitution: 'judged-input-always',
      stream: true,
      criticWaitsForDraft: true,
    });
    expect(always.events).toEqual(['upstream', 'verdict']);
    expect(always.reply.headers['x-tenet-verdict'] ?? 'pass').toBe('pass');
    expect(always.record.draftCall).toMatchObject({ withInput: true });
  });

  it('starts a progressive stream alongside the input by default (auto): nothing goes out unjudged anyway', async () => {
    const { events, record, text } = await run({
      constitution: 'judged-input-progressive',
      stream: true,
      criticWaitsForDraft: true,
    });
    expect(events).toEqual(['upstream', 'verdict']);
    expect(record.draftCall).toMatchObject({ withInput: true });
    expect(text).toContain('safe overview');
  });

  it('does not start early when input principles are checks only (they take no time)', async () => {
    const { events, record } = await run({ constitution: 'checked-input' });
    expect(events).toEqual(['upstream']);
    expect(record.draftCall?.withInput).toBeUndefined();
  });
});
