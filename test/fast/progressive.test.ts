// stream: progressive in-process, in every protocol: windows released only once judged, a violation mid-answer
// revised by a continuation or refused, tool calls held until judged, keep-alives while a window is judged.
import Anthropic from '@anthropic-ai/sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Constitution } from '../../src/core/constitution/schema.ts';
import type { ChatMessage } from '../../src/core/critique.ts';
import { windowCut } from '../../src/core/exchange/progressive.ts';
import type { AnyProtocol, ProtocolId } from '../../src/core/exchange/protocol.ts';
import type { DraftReply } from '../../src/core/exchange/serve.ts';
import type { RequestRecord } from '../../src/core/log-record.ts';
import { builtRecord } from '../../src/core/log-record.ts';
import { parseSse } from '../../src/core/sse.ts';
import { protocols } from '../../src/protocols/index.ts';
import { schemaErrors } from '../openai-schema.ts';
import { samples } from './protocol-samples.ts';
import { constitutionsOf, runExchange } from './run-exchange.ts';
import { critic, type Finding } from './scripted-critic.ts';

const principles = `principles:
  - id: no-medical-claims
    severity: major
    action: revise
    critique: Does the answer claim a cure?
    revision: Say what the evidence supports instead.
  - id: no-weapons
    severity: critical
    action: block
    critique: Does the answer explain how to build a weapon?
`;
const files = {
  progressive: `name: progressive\nstream: progressive\nwindow: { chars: 100 }\n${principles}`,
  'progressive-once': `name: progressive-once\nstream: progressive\nwindow: { chars: 100 }\ncritic: { max_revisions: 1 }\n${principles}`,
  'progressive-tools': `name: progressive-tools
stream: progressive
window: { chars: 100 }
principles:
  - id: refund-limit
    targets: [tool_calls]
    severity: critical
    action: block
    check: { pattern: '"amount":\\s*[5-9]\\d{2,}' }
`,
};

let constitutions: Map<string, Constitution>;
beforeAll(async () => {
  constitutions = await constitutionsOf(files);
});

const sentences = [
  'Sleep matters more than most people think. ',
  'Adults need seven to nine hours a night, and teenagers need more. ',
  'A regular schedule helps the body clock settle. ',
  'Herbal tea cures insomnia for good in one week. ',
  'Keep the bedroom dark, cool and quiet. ',
  'Screens an hour before bed make sleep come later. ',
  'If sleeplessness lasts for weeks, see a doctor.',
];
const clean = sentences.filter((s) => !s.includes('cures')).join('');
const withClaim = sentences.join('');
const continuation =
  'Some people find a warm drink relaxing, though no tea cures insomnia. Keep the bedroom dark and quiet.';

const usage = { prompt_tokens: 20, completion_tokens: 30, total_tokens: 50 };
const protocolOf = (id: ProtocolId) => protocols.find((p) => p.id === id) as AnyProtocol;

/** What the client read: its SSE events folded by the protocol's own assembler. */
function clientAnswer(protocol: AnyProtocol, sse: string): unknown {
  const assembler = protocol.assembler();
  for (const event of parseSse(sse)) assembler.add(event);
  return assembler.result();
}

interface Run {
  protocol: ProtocolId;
  constitution?: string;
  text: string;
  /** The upstream's answer (defaults to the protocol's sample saying `text`). */
  answer?: Record<string, unknown>;
  find?: (view: { blocks: Array<{ label: string; body: string }> }) => Finding[];
  revisions?: string[];
  criticDelayMs?: number | ((call: number) => number);
  keepAliveMs?: number;
  secrets?: string[];
  /** The upstream breaks off after this many events. */
  breakAfter?: number;
  /** The client goes away once it has read some text. */
  leaveEarly?: boolean;
  /** Continuations are streamed, a piece every few ms (the default reviser answers whole). */
  streamRevisions?: boolean;
}

async function run(r: Run) {
  const protocol = protocolOf(r.protocol);
  const request = samples[r.protocol].request('How can I sleep better?', { stream: true });
  const parsed = protocol.parse(JSON.stringify(request));
  const answer = r.answer ?? samples[r.protocol].answer(r.text);
  const events = parseSse(protocol.toSse(protocol.readAnswer(JSON.stringify(answer)), parsed)).map(
    (e) => `${e.event ? `event: ${e.event}\n` : ''}data: ${e.data}\n\n`,
  );
  let upstreamAborted = false;
  let upstreamSent = 0;
  /** What the client had read when each critic call came in. */
  const seenAtCritic: string[] = [];
  const criticSpans: Array<{ call: number; end: number }> = [];
  let clientText = '';
  const judge = critic((view) => r.find?.(view) ?? []);
  const revisionCalls: ChatMessage[][] = [];
  /** What the client had read when each streamed continuation finished. */
  const revisionEnded: string[] = [];
  const revisions = [...(r.revisions ?? [])];
  const records: RequestRecord[] = [];
  const result = await runExchange(
    protocol,
    request,
    {
      requestId: 'req_progressive',
      constitution: constitutions.get(r.constitution ?? 'progressive') as Constitution,
      streamKeepAliveMs: r.keepAliveMs ?? 5_000,
      secrets: r.secrets ?? [],
      record: async (rec) => {
        records.push(builtRecord(rec));
      },
      async sendUpstream() {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            return new Promise<void>((resolve) => {
              timer = setTimeout(() => {
                if (r.breakAfter !== undefined && upstreamSent >= r.breakAfter) {
                  controller.error(new Error('connection reset'));
                  resolve();
                  return;
                }
                const next = events[upstreamSent++];
                if (next === undefined) controller.close();
                else controller.enqueue(new TextEncoder().encode(next));
                resolve();
              }, 2);
            });
          },
          cancel() {
            clearTimeout(timer);
          },
        });
        return {
          status: 200,
          headers: { 'content-type': 'text/event-stream' },
          bytes: async () => new Uint8Array(),
          stream: () => body,
          abort: () => {
            upstreamAborted = true;
            clearTimeout(timer);
          },
        } satisfies DraftReply;
      },
      loopDeps: () => ({
        critique: async (messages) => {
          const call = seenAtCritic.push(clientText) - 1;
          const delay = typeof r.criticDelayMs === 'function' ? r.criticDelayMs(call) : r.criticDelayMs;
          if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
          const reply = await judge.call(messages);
          criticSpans.push({ call, end: Date.now() });
          return reply;
        },
        revise: async (messages) => {
          revisionCalls.push(messages);
          return { content: revisions.shift() ?? 'no more revisions', usage };
        },
        reviseStream: r.streamRevisions
          ? async (messages, onText) => {
              revisionCalls.push(messages);
              const content = revisions.shift() ?? 'no more revisions';
              for (const piece of content.match(/[^ ]+ ?/g) ?? []) {
                await new Promise((resolve) => setTimeout(resolve, 3));
                onText(piece);
              }
              revisionEnded.push(clientText);
              return { content, usage };
            }
          : undefined,
        nonce: () => '0123456789abcdef01234567',
        now: () => Date.now(),
      }),
    },
    {
      // Reads the body as the client does, keeping what it has so far for the critic to compare with.
      read: async (body) => {
        const reader = body.getReader();
        const decoder = new TextDecoder();
        let all = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return all;
          all += decoder.decode(value, { stream: true });
          try {
            const partial = protocol.assembler();
            for (const event of parseSse(all)) partial.add(event);
            clientText = protocol.draftOf(partial.result()).choices[0]?.text ?? '';
          } catch {
            // not an answer yet
          }
          if (r.leaveEarly && clientText) {
            await reader.cancel();
            return all;
          }
        }
      },
    },
  );
  const client = clientAnswer(protocol, result.text);
  return {
    ...result,
    client,
    clientText: samples[r.protocol].textOf(client),
    refused: samples[r.protocol].refused(client),
    views: judge.views,
    seenAtCritic,
    criticSpans,
    revisionCalls,
    revisionEnded,
    upstreamAborted,
    record: records[0] as RequestRecord,
  };
}

/** Every event of `sse` checked against the vendor's own schema (OpenAI), or read by the official SDK (Anthropic). */
async function vendorErrors(id: ProtocolId, sse: string): Promise<string[]> {
  const events = parseSse(sse).filter((e) => e.data !== '[DONE]');
  if (id === 'messages') {
    const client = new Anthropic({
      apiKey: 'test',
      baseURL: 'http://tenet.test',
      maxRetries: 0,
      fetch: async () => new Response(sse, { headers: { 'content-type': 'text/event-stream' } }),
    });
    const stream = client.messages.stream({
      model: 'claude',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const message = await stream.finalMessage();
    return message.content.every((b) => b.type === 'text') ? [] : ['a block that is not text'];
  }
  const check =
    id === 'chat'
      ? schemaErrors.chunk
      : id === 'completions'
        ? schemaErrors.textCompletionChunk
        : schemaErrors.responseEvent;
  return events.flatMap((e) => check(JSON.parse(e.data)).map((err) => `${e.data.slice(0, 120)}: ${err}`));
}

const answerBlock = (view: { blocks: Array<{ label: string; body: string }> }) =>
  view.blocks.find((b) => b.label === 'ANSWER')?.body ?? '';
const findsClaim = (view: { blocks: Array<{ label: string; body: string }> }): Finding[] =>
  answerBlock(view).includes('cures insomnia for good')
    ? [{ principle: 'no-medical-claims', evidence: 'Herbal tea cures insomnia for good' }]
    : [];

describe('windowCut', () => {
  it('waits for a window of text, then cuts at its last sentence or line end', () => {
    expect(windowCut('Short. ', 100, false)).toBe(0);
    const text = `${'a'.repeat(60)}. ${'b'.repeat(30)}.\n${'c'.repeat(20)}`;
    expect(windowCut(text, 100, false)).toBe(text.indexOf('c'));
    expect(windowCut(text, 100, true)).toBe(text.length);
  });

  it('cuts a long text without a sentence end at a word end, once it is twice a window', () => {
    const words = 'word '.repeat(30);
    expect(windowCut(words, 100, false)).toBe(0);
    expect(windowCut(words + words, 100, false)).toBe(300);
  });
});

describe.each(['chat', 'responses', 'completions', 'messages'] as const)('stream: progressive (%s)', (id) => {
  it('releases a clean answer window by window, each only after it was judged', async () => {
    const { clientText, refused, views, seenAtCritic, record, reply } = await run({
      protocol: id,
      text: clean,
    });
    expect(clientText).toBe(clean);
    expect(refused).toBe(false);
    expect(reply.headers['x-tenet-mode']).toBe('progressive');
    // Several windows, each judged before any of it reached the client, the released text as its context.
    const windows = views.map(answerBlock);
    expect(windows.length).toBeGreaterThanOrEqual(3);
    expect(windows.join('')).toBe(clean);
    windows.forEach((window, i) => {
      const before = windows.slice(0, i).join('');
      // The critic judged exactly this window, with nothing of it (nor anything after it) at the client.
      expect(clean.slice(before.length, before.length + window.length)).toBe(window);
      // Judged alongside the windows before it: at most those had reached the client, none of this one.
      expect(before.startsWith(seenAtCritic[i] ?? '-')).toBe(true);
      if (i > 0) expect(views[i]?.user).toContain(before.slice(-40));
      expect(views[i]?.system).toContain('streamed to the user part by part');
    });
    expect(record.verdict).toBe('pass');
    const rounds = record.stages.find((s) => s.stage === 'output')?.rounds ?? [];
    expect(rounds.map((r) => r.span?.released)).toEqual(windows.map(() => true));
    expect(record.final).toBe(clean);
  });

  it('revises a violation in the middle with a continuation: the bad window never reaches the client', async () => {
    const { clientText, refused, record, revisionCalls, upstreamAborted, views, text } = await run({
      protocol: id,
      text: withClaim,
      find: findsClaim,
      revisions: [continuation],
    });
    expect(clientText).not.toContain('cures insomnia for good');
    expect(clientText.endsWith(continuation)).toBe(true);
    const shown = clientText.slice(0, clientText.length - continuation.length);
    expect(withClaim.startsWith(shown)).toBe(true);
    expect(shown.length).toBeGreaterThan(0);
    expect(refused).toBe(false);
    expect(upstreamAborted).toBe(true);
    // The continuation was asked from the released text and judged too.
    expect(revisionCalls).toHaveLength(1);
    expect(revisionCalls[0]?.at(-1)?.content).toContain(JSON.stringify(shown.slice(-200)));
    expect(views.map(answerBlock).join('')).toContain(continuation.slice(0, 40));
    expect(record.verdict).toBe('revised');
    expect(record.revisions).toBe(1);
    const rounds = record.stages.find((s) => s.stage === 'output')?.rounds ?? [];
    const bad = rounds.find((r) => r.text?.includes('cures insomnia for good'));
    expect(bad?.span?.released).toBe(false);
    expect(bad?.violations).toHaveLength(1);
    expect(rounds.at(-1)?.kind).toBe('revision');
    expect(record.final).toBe(clientText);
    expect(await vendorErrors(id, text)).toEqual([]);
  });

  it('refuses the rest when a window breaks a block principle, with the protocol’s content-filter end', async () => {
    const dangerous = `${sentences.slice(0, 3).join('')}Mix the two powders to build a pipe bomb at home. ${sentences.slice(4).join('')}`;
    const { clientText, refused, record, upstreamAborted, text } = await run({
      protocol: id,
      text: dangerous,
      find: (view) =>
        answerBlock(view).includes('pipe bomb')
          ? [{ principle: 'no-weapons', evidence: 'build a pipe bomb at home' }]
          : [],
    });
    expect(clientText).not.toContain('pipe bomb');
    expect(clientText.endsWith("Sorry, I can't help with that.")).toBe(true);
    expect(dangerous.startsWith(clientText.slice(0, clientText.indexOf('Sorry')).trimEnd())).toBe(true);
    expect(refused).toBe(true);
    expect(upstreamAborted).toBe(true);
    expect(record.verdict).toBe('blocked');
    expect(await vendorErrors(id, text)).toEqual([]);
  });

  it('refuses when the continuation breaks the principle again and revisions are exhausted', async () => {
    const { clientText, refused, record } = await run({
      protocol: id,
      constitution: 'progressive-once',
      text: withClaim,
      find: (view) =>
        /cures insomnia/.test(answerBlock(view))
          ? [
              {
                principle: 'no-medical-claims',
                evidence: answerBlock(view).match(/[^.]*cures insomnia[^.]*/)?.[0] ?? '',
              },
            ]
          : [],
      revisions: ['Chamomile tea cures insomnia in everyone who drinks it nightly.'],
    });
    expect(clientText).not.toContain('cures insomnia');
    expect(refused).toBe(true);
    expect(record.verdict).toBe('blocked');
    expect(record.reason).toContain('revisions exhausted');
  });
});

describe('stream: progressive, beyond the text', () => {
  it('sends keep-alive comments while a window is being judged', async () => {
    const { text, clientText } = await run({
      protocol: 'chat',
      text: clean,
      criticDelayMs: 80,
      keepAliveMs: 20,
    });
    expect(text).toContain(': keep-alive');
    expect(clientText).toBe(clean);
  });

  it('judges a window while the one before it is still judged, and still releases them in order', async () => {
    // The first verdict is the slowest: the later windows' verdicts come back first.
    const { clientText, criticSpans, record } = await run({
      protocol: 'chat',
      text: clean,
      criticDelayMs: (call) => (call === 0 ? 150 : 5),
    });
    expect(clientText).toBe(clean);
    expect(criticSpans.length).toBeGreaterThanOrEqual(3);
    expect(criticSpans[0]?.call).not.toBe(0);
    const rounds = record.stages.find((s) => s.stage === 'output')?.rounds ?? [];
    expect(rounds.map((r) => r.span?.start)).toEqual(
      [...rounds.map((r) => r.span?.start)].sort((a, b) => (a ?? 0) - (b ?? 0)),
    );
  });

  it('holds tool calls until they are complete and judged: a call over the limit never goes out', async () => {
    const chat = protocolOf('chat');
    const answer = (amount: number) => {
      const base = samples.chat.answer('I will refund your order now. ') as Record<string, unknown>;
      const [choice] = base['choices'] as Array<Record<string, unknown>>;
      const message = choice?.['message'] as Record<string, unknown>;
      message['tool_calls'] = [
        {
          id: 'call_1',
          type: 'function',
          function: { name: 'refund', arguments: `{"order":"A1","amount": ${amount}}` },
        },
      ];
      if (choice) choice['finish_reason'] = 'tool_calls';
      return base;
    };
    const over = await run({
      protocol: 'chat',
      constitution: 'progressive-tools',
      text: '',
      answer: answer(900),
    });
    expect(over.text).not.toContain('refund"');
    expect(over.refused).toBe(true);
    expect(over.record.verdict).toBe('blocked');
    const fine = await run({
      protocol: 'chat',
      constitution: 'progressive-tools',
      text: '',
      answer: answer(40),
    });
    const calls = chat.draftOf(fine.client).choices[0]?.toolCalls ?? [];
    expect(calls.map((c) => c.name)).toEqual(['refund']);
    expect(fine.clientText).toBe('I will refund your order now. ');
  });

  it('ends with the protocol’s error event when the upstream breaks off, after the windows that passed', async () => {
    const { text, clientText, record } = await run({ protocol: 'chat', text: clean, breakAfter: 8 });
    const errors = parseSse(text).filter((e) => e.data.includes('"error"'));
    expect(errors).toHaveLength(1);
    expect(clean.startsWith(clientText)).toBe(true);
    expect(clientText.length).toBeLessThan(clean.length);
    expect(record.verdict).toBe('error');
    expect(record.reason).toContain('upstream stream broken');
  });

  it('stops the upstream when the client goes away, and records how far it went', async () => {
    const { upstreamAborted, record, clientText } = await run({
      protocol: 'chat',
      text: clean,
      leaveEarly: true,
    });
    expect(clientText.length).toBeGreaterThan(0);
    expect(clientText.length).toBeLessThan(clean.length);
    expect(upstreamAborted).toBe(true);
    expect(record.reason).toContain('client disconnected');
  });

  it('streams a continuation: its first windows reach the client while it is still being written', async () => {
    const long = Array.from(
      { length: 6 },
      (_, n) => `Tip ${n}: keep the same wake-up time, even on weekends. `,
    ).join('');
    const { clientText, revisionEnded, record } = await run({
      protocol: 'chat',
      text: withClaim,
      find: findsClaim,
      revisions: [long],
      streamRevisions: true,
    });
    expect(clientText.endsWith(long)).toBe(true);
    // When the continuation's last piece was written, part of it had already gone out.
    const shown = clientText.slice(0, clientText.length - long.length);
    expect(revisionEnded[0]?.length ?? 0).toBeGreaterThan(shown.length);
    expect(record.verdict).toBe('revised');
    const rounds = record.stages.find((s) => s.stage === 'output')?.rounds ?? [];
    expect(rounds.filter((r) => r.kind === 'revision').length).toBeGreaterThanOrEqual(2);
    expect(rounds.find((r) => r.revision)?.revision?.usage.total_tokens).toBe(usage.total_tokens);
  });

  it('asks again when a continuation brings in a link the answer never had, and never sends that window', async () => {
    const { clientText, record, revisionCalls } = await run({
      protocol: 'chat',
      text: withClaim,
      find: findsClaim,
      revisions: ['For more, see https://sleep-cure.example.com today. ', continuation],
    });
    expect(clientText).not.toContain('sleep-cure.example.com');
    expect(clientText.endsWith(continuation)).toBe(true);
    expect(revisionCalls).toHaveLength(2);
    const rounds = record.stages.find((s) => s.stage === 'output')?.rounds ?? [];
    expect(rounds.some((r) => r.failedRevision?.includes('sleep-cure.example.com'))).toBe(true);
  });

  it('keeps a configured secret out of the released text', async () => {
    const secret = 'sk-live-0123456789abcdefghij';
    const { clientText, text } = await run({
      protocol: 'chat',
      text: `${clean.slice(0, 150)} The key is ${secret} for now. ${clean.slice(150)}`,
      secrets: [secret],
    });
    expect(text).not.toContain(secret);
    expect(clientText).toContain('[redacted]');
  });
});
