// End to end: the official openai SDK's chat.completions (the drop-in proxy itself: plain, streamed, tools, errors)
// through Tenet on Node and workerd, under the shipped `passthrough` constitution (the loop has its own suites).
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { schemaErrors } from '../../openai-schema.ts';
import type { Runtime, TenetProcess } from '../../tenet-process.ts';
import type { ReplySpec, Scenario } from '../../upstream/client.ts';
import { apiError, chunks, completion } from '../../upstream/script.ts';
import {
  chatRevision,
  clientKey,
  criticClean,
  criticSycophancy,
  loggedRequest,
  newMarker,
  postRaw,
  type SdkServers,
} from './harness.ts';

const passthrough = { 'x-tenet-constitution': 'passthrough' };

/** Registers the suites; `servers` is the one pair of Tenets (Node and workerd) all SDK suites share. */
export function registerChatSuites(servers: SdkServers): void {
  describe.each<Runtime>(['node', 'workers'])(
    'openai SDK chat completions through Tenet on %s',
    (runtime) => {
      let tenet: TenetProcess;
      let scenario: Scenario;
      let client: OpenAI;

      beforeAll(async () => {
        ({ tenet, scenario } = await servers.get(runtime));
        client = new OpenAI({
          baseURL: `${tenet.url}/v1`,
          apiKey: clientKey,
          maxRetries: 0,
          defaultHeaders: passthrough,
        });
      });

      /** A question unique to one test, and its scripted replies matching on it. */
      const ask = (name: string) => {
        const marker = newMarker(name);
        return {
          messages: [{ role: 'user' as const, content: `What is the capital of France? (${marker})` }],
          on: (reply: ReplySpec): ReplySpec => ({ ...reply, match: { bodyIncludes: marker } }),
        };
      };

      it('answers a plain call with a schema-valid chat.completion and Tenet headers', async () => {
        const { messages, on } = ask('plain');
        await scenario.script([
          on({ json: completion('Paris.') }),
          on({ json: completion('Paris, again.') }),
        ]);
        const { data, response } = await client.chat.completions
          .create({ model: 'gpt-test', messages })
          .withResponse();
        expect(data.choices[0]?.message.content).toBe('Paris.');
        expect(response.headers.get('x-tenet-request-id')).toMatch(/^req_/);
        const json = await (
          await postRaw(tenet, '/v1/chat/completions', { model: 'gpt-test', messages }, passthrough)
        ).json();
        expect(schemaErrors.completion(json)).toEqual([]);
      });

      it('streams a call the SDK iterates to the end, every chunk schema-valid', async () => {
        const { messages, on } = ask('stream');
        await scenario.script([
          on({ stream: chunks('The capital is Paris.', { includeUsage: true }), chunkDelayMs: 5 }),
        ]);
        const stream = await client.chat.completions.create({
          model: 'gpt-test',
          messages,
          stream: true,
          stream_options: { include_usage: true },
        });
        const received: unknown[] = [];
        let text = '';
        for await (const chunk of stream) {
          received.push(chunk);
          text += chunk.choices[0]?.delta.content ?? '';
        }
        expect(text).toBe('The capital is Paris.');
        for (const chunk of received) expect(schemaErrors.chunk(chunk)).toEqual([]);
        expect((received.at(-1) as { usage?: { total_tokens: number } }).usage?.total_tokens).toBeGreaterThan(
          0,
        );
      });

      it('builds the final completion of a stream with finalChatCompletion()', async () => {
        const { messages, on } = ask('final');
        await scenario.script([on({ stream: chunks('Paris it is.') })]);
        const runner = client.chat.completions.stream({ model: 'gpt-test', messages });
        const final = await runner.finalChatCompletion();
        expect(final.choices[0]?.message.content).toBe('Paris it is.');
        expect(final.choices[0]?.finish_reason).toBe('stop');
      });

      it('returns tool calls intact', async () => {
        const { messages, on } = ask('tools');
        await scenario.script([
          on({ json: completion({ tool_calls: [{ name: 'lookup', arguments: { q: 'France' } }] }) }),
        ]);
        const res = await client.chat.completions.create({
          model: 'gpt-test',
          messages,
          tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
        });
        const call = res.choices[0]?.message.tool_calls?.[0];
        expect(call?.type === 'function' ? call.function : undefined).toEqual({
          name: 'lookup',
          arguments: '{"q":"France"}',
        });
      });

      it('surfaces an upstream 5xx as the SDK APIError with status 502', async () => {
        const { messages, on } = ask('crash');
        await scenario.script([on(apiError(500, 'the model crashed'))]);
        const err = await client.chat.completions
          .create({ model: 'gpt-test', messages })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.APIError);
        expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
        expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_error');
      });

      it('surfaces an upstream 429 as RateLimitError and a bad request as BadRequestError naming the param', async () => {
        const { messages, on } = ask('limited');
        await scenario.script([on(apiError(429, 'slow down', { code: 'rate_limit_exceeded' }))]);
        const limited = await client.chat.completions
          .create({ model: 'gpt-test', messages })
          .catch((e: unknown) => e);
        expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
        const bad = await client.chat.completions
          .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }], temperature: 9 })
          .catch((e: unknown) => e);
        expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
        expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('temperature');
        const body = await (
          await postRaw(tenet, '/v1/chat/completions', { model: 'm', messages: [] }, passthrough)
        ).json();
        expect(schemaErrors.error(body)).toEqual([]);
      });

      it('raises an APIError when a pass-through stream breaks mid-way, after the chunks that arrived', async () => {
        const { messages, on } = ask('broken');
        await scenario.script([on({ stream: chunks('one two three four'), dropAfter: 2 })]);
        const stream = await client.chat.completions.create({ model: 'gpt-test', messages, stream: true });
        const seen: string[] = [];
        const err = await (async () => {
          for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
        })().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.APIError);
        expect((err as InstanceType<typeof OpenAI.APIError>).message).toMatch(/broke off|ended the stream/);
        expect(seen.length).toBe(2);
      });

      it('rejects a wrong key with AuthenticationError', async () => {
        const wrong = new OpenAI({ baseURL: `${tenet.url}/v1`, apiKey: 'not-the-key-000000', maxRetries: 0 });
        const err = await wrong.models.list().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      });

      it('raises an APIError with status 502 when a buffered (judged) stream breaks', async () => {
        const { messages, on } = ask('judgedbroken');
        await scenario.script([on({ stream: chunks('one two three four'), dropAfter: 2 })]);
        const err = await client.chat.completions
          .create(
            { model: 'gpt-test', messages, stream: true },
            { headers: { 'x-tenet-constitution': 'default' } },
          )
          .then(async (stream) => {
            for await (const _ of stream);
          })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(OpenAI.APIError);
        expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
      });

      // stream: progressive (the shipped `streaming` constitution: `default`'s principles, 600-character windows).
      const streaming = { headers: { 'x-tenet-constitution': 'streaming' } };
      const sentence = (n: number) =>
        `Point ${n}: a steady routine, daylight in the morning and a cool dark room all help you sleep. `;
      const longAnswer = (claim?: string) =>
        Array.from({ length: 16 }, (_, n) => (claim && n === 9 ? claim : sentence(n))).join('');

      it('streams a progressive answer: the text accumulates as windows pass, every chunk schema-valid', async () => {
        const { messages, on } = ask('progressive');
        const text = longAnswer();
        await scenario.script([
          on({ stream: chunks(text), chunkDelayMs: 4 }),
          // Each window waits for its critic call: releases come at least that far apart, however fast the
          // draft reaches Tenet (on a loaded machine it may arrive in one burst).
          { ...criticClean(messages[0]?.content ?? ''), times: 'always', delayMs: 40 },
        ]);
        const { data: stream, response } = await client.chat.completions
          .create({ model: 'gpt-test', messages, stream: true }, streaming)
          .withResponse();
        expect(response.headers.get('x-tenet-mode')).toBe('progressive');
        let received = '';
        const arrivals: number[] = [];
        for await (const chunk of stream) {
          expect(schemaErrors.chunk(chunk)).toEqual([]);
          const delta = chunk.choices[0]?.delta.content ?? '';
          if (delta) arrivals.push(Date.now());
          received += delta;
        }
        expect(received).toBe(text);
        // Released window by window as each passes, not all at once at the end.
        expect((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(35);
        const critic = (await scenario.requests()).filter((r) =>
          JSON.stringify(r.json).includes('tenet_critique'),
        );
        expect(critic.length).toBeGreaterThanOrEqual(2);
        const logged = await loggedRequest(tenet, 'chat', response.headers.get('x-tenet-request-id'));
        expect(logged?.verdict).toBe('pass');
      });

      it('revises a violation in the middle of a progressive stream: the client never sees it', async () => {
        const { messages, on } = ask('progressivefix');
        const claim =
          'Point 9: honey before bed cures every sleep disorder within a week, exactly as you suspected. ';
        const text = longAnswer(claim);
        const rest = 'Point 9: a wind-down hour without screens helps as well. Sleep well.';
        const marker = messages[0]?.content ?? '';
        await scenario.script([
          on({ stream: chunks(text), chunkDelayMs: 2 }),
          criticSycophancy('cures every sleep disorder', 'honey before bed cures every sleep disorder'),
          { ...criticClean(marker), times: 'always' },
          chatRevision(marker, rest),
        ]);
        const { data: stream, response } = await client.chat.completions
          .create({ model: 'gpt-test', messages, stream: true }, streaming)
          .withResponse();
        let received = '';
        let finish: string | null | undefined;
        for await (const chunk of stream) {
          received += chunk.choices[0]?.delta.content ?? '';
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        expect(received).not.toContain('cures every sleep disorder');
        expect(received.slice(-rest.length)).toBe(rest);
        expect(text.startsWith(received.slice(0, received.length - rest.length))).toBe(true);
        expect(finish).toBe('stop');
        const logged = await loggedRequest(tenet, 'chat', response.headers.get('x-tenet-request-id'));
        expect(logged?.verdict).toBe('revised');
      });

      it('lists models through the pass-through', async () => {
        const models = await client.models.list();
        expect(models.data.map((m) => m.id)).toContain('scripted-model');
      });
    },
  );
}
