// End to end: the Vercel AI SDK (ai 6 generateText/streamText) with @ai-sdk/openai's default Responses provider and @ai-sdk/anthropic through Tenet on Node and workerd.
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, type LanguageModel, stepCountIs, streamText, tool } from 'ai';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Runtime, TenetProcess } from '../../tenet-process.ts';
import type { ReplySpec, Scenario } from '../../upstream/client.ts';
import {
  anthropicError,
  anthropicEvents,
  anthropicMessage,
  response,
  responseEvents,
} from '../../upstream/protocol-replies.ts';
import { apiError } from '../../upstream/script.ts';
import {
  chatRevision,
  clientKey,
  criticClean,
  criticHarm,
  criticSycophancy,
  defaultRefusal,
  loggedRequest,
  newMarker,
  type SdkServers,
} from './harness.ts';

/** How one provider's upstream answers look, and where its revisions are asked for. */
interface ProviderCase {
  name: string;
  protocol: 'responses' | 'messages';
  model(tenet: TenetProcess): LanguageModel;
  path: string;
  json(text: string): unknown;
  /** An answer calling the `weather` tool with `{ city }`. */
  toolCall(city: string): unknown;
  events(text: string): string[];
  revision(marker: string, text: string): ReplySpec;
  badRequest: ReplySpec;
  serverError: ReplySpec;
}

const cases: ProviderCase[] = [
  {
    name: '@ai-sdk/openai (Responses)',
    protocol: 'responses',
    // The default provider: `openai(model)` speaks the Responses API.
    model: (tenet) => createOpenAI({ baseURL: `${tenet.url}/v1`, apiKey: clientKey })('gpt-test'),
    path: '/v1/responses',
    json: (text) => response(text),
    toolCall: (city) =>
      response([{ function_call: { name: 'weather', arguments: { city }, call_id: 'call_w1' } }]),
    events: (text) => responseEvents(text),
    revision: chatRevision,
    badRequest: apiError(400, 'Invalid value for input.', { param: 'input' }),
    serverError: apiError(500, 'The model crashed.'),
  },
  {
    name: '@ai-sdk/anthropic',
    protocol: 'messages',
    model: (tenet) => createAnthropic({ baseURL: `${tenet.url}/v1`, apiKey: clientKey })('claude-sonnet-4-6'),
    path: '/v1/messages',
    json: (text) => anthropicMessage(text),
    toolCall: (city) =>
      anthropicMessage([{ tool_use: { id: 'toolu_w1', name: 'weather', input: { city } } }]),
    events: (text) => anthropicEvents(text),
    revision: (marker, text) => ({
      match: { path: '/v1/messages', bodyIncludes: marker },
      json: anthropicMessage(text),
    }),
    badRequest: anthropicError(400, 'invalid_request_error', 'messages: at least one message is required'),
    serverError: anthropicError(500, 'api_error', 'Internal server error'),
  },
];

/** Registers the suites; `servers` is the one pair of Tenets (Node and workerd) all SDK suites share. */
export function registerVercelSuites(servers: SdkServers): void {
  describe.each<Runtime>(['node', 'workers'])('Vercel AI SDK through Tenet on %s', (runtime) => {
    let tenet: TenetProcess;
    let scenario: Scenario;

    beforeAll(async () => {
      ({ tenet, scenario } = await servers.get(runtime));
    });

    const prompt = (marker: string) => `Is the Great Wall visible from the Moon? (${marker})`;

    describe.each(cases)('$name', (provider) => {
      const on = (marker: string) => ({ path: provider.path, bodyIncludes: marker });

      it('generateText gets a clean answer with verdict pass, logged under its protocol', async () => {
        const m = newMarker('clean');
        const text = `No, it is far too narrow to see (${m}).`;
        await scenario.script([criticClean(m), { match: on(m), json: provider.json(text) }]);
        const result = await generateText({
          model: provider.model(tenet),
          system: 'Be brief.',
          prompt: prompt(m),
          maxRetries: 0,
        });
        expect(result.text).toBe(text);
        expect(result.finishReason).toBe('stop');
        expect(result.response.headers?.['x-tenet-verdict']).toBe('pass');
        const logged = await loggedRequest(
          tenet,
          provider.protocol,
          result.response.headers?.['x-tenet-request-id'] ?? null,
        );
        expect(logged).toMatchObject({ protocol: provider.protocol, verdict: 'pass' });
      });

      it('generateText and streamText get the revision, never the draft', async () => {
        const m = newMarker('revised');
        const draft = `Yes, it is clearly visible from the Moon! (${m})`;
        const revision = `No: that is a myth (${m}).`;
        await scenario.script([
          criticSycophancy(m, 'clearly visible from the Moon'),
          criticClean(m),
          criticSycophancy(m, 'clearly visible from the Moon'),
          criticClean(m),
          { match: on(m), json: provider.json(draft) },
          provider.revision(m, revision),
          { match: on(m), stream: provider.events(draft), done: false },
          provider.revision(m, revision),
        ]);
        const generated = await generateText({
          model: provider.model(tenet),
          system: 'Be brief.',
          prompt: prompt(m),
          maxRetries: 0,
        });
        expect(generated.text).toBe(revision);
        expect(generated.response.headers?.['x-tenet-verdict']).toBe('revised');

        const errors: unknown[] = [];
        const streamed = streamText({
          model: provider.model(tenet),
          system: 'Be brief.',
          prompt: prompt(m),
          maxRetries: 0,
          onError: ({ error }) => {
            errors.push(error);
          },
        });
        let deltas = '';
        for await (const delta of streamed.textStream) deltas += delta;
        expect(errors).toEqual([]);
        expect(deltas).toBe(revision);
        expect(await streamed.text).toBe(revision);
        expect(await streamed.finishReason).toBe('stop');
      });

      it("generateText gets the constitution's refusal with finishReason content-filter when the answer is blocked", async () => {
        const m = newMarker('block');
        await scenario.script([
          criticHarm(m, 'make a toxic gas'),
          { match: on(m), json: provider.json(`Mix these to make a toxic gas (${m}).`) },
        ]);
        const result = await generateText({
          model: provider.model(tenet),
          system: 'Be brief.',
          prompt: prompt(m),
          maxRetries: 0,
        });
        expect(result.text).toBe(defaultRefusal);
        expect(result.finishReason).toBe('content-filter');
        expect(result.response.headers?.['x-tenet-verdict']).toBe('blocked');
      });

      it("streamText gets the constitution's refusal with finishReason content-filter when a stream is blocked", async () => {
        const m = newMarker('blockstream');
        await scenario.script([
          criticHarm(m, 'make a toxic gas'),
          { match: on(m), stream: provider.events(`Mix these to make a toxic gas (${m}).`), done: false },
        ]);
        const errors: unknown[] = [];
        const streamed = streamText({
          model: provider.model(tenet),
          system: 'Be brief.',
          prompt: prompt(m),
          maxRetries: 0,
          onError: ({ error }) => {
            errors.push(error);
          },
        });
        expect(await streamed.text).toBe(defaultRefusal);
        expect(errors).toEqual([]);
        expect(await streamed.finishReason).toBe('content-filter');
      });

      it('runs a multi-step tool round trip: the tool call, then the judged answer to its result', async () => {
        const m = newMarker('tools');
        const final = `Sunny and 22 °C in Paris (${m}).`;
        await scenario.script([
          criticClean(m),
          criticClean(m),
          { match: on(m), json: provider.toolCall('Paris') },
          { match: { path: provider.path, bodyIncludes: 'sunny-22' }, json: provider.json(final) },
        ]);
        const cities: string[] = [];
        const result = await generateText({
          model: provider.model(tenet),
          prompt: `What is the weather in Paris? (${m})`,
          maxRetries: 0,
          stopWhen: stepCountIs(2),
          tools: {
            weather: tool({
              description: 'The weather in a city.',
              inputSchema: z.object({ city: z.string() }),
              execute: async ({ city }) => {
                cities.push(city);
                return 'sunny-22';
              },
            }),
          },
        });
        expect(cities).toEqual(['Paris']);
        expect(result.steps).toHaveLength(2);
        expect(result.text).toBe(final);
        const calls = (await scenario.requests()).filter(
          (r) => r.path === provider.path && r.body.includes(m),
        );
        expect(calls).toHaveLength(2);
        expect(calls[1]?.body).toContain('sunny-22');
      });

      it('raises APICallError for an upstream 400 (the status kept) and an upstream 500 (a 5xx)', async () => {
        const m = newMarker('errors');
        await scenario.script([
          { ...provider.badRequest, match: on(m) },
          { ...provider.serverError, match: on(m) },
        ]);
        const bad = await generateText({
          model: provider.model(tenet),
          system: 'Be brief.',
          prompt: prompt(m),
          maxRetries: 0,
        }).catch((e: unknown) => e);
        expect(APICallError.isInstance(bad)).toBe(true);
        expect((bad as APICallError).statusCode).toBe(400);
        expect((bad as APICallError).isRetryable).toBe(false);
        const crashed = await generateText({
          model: provider.model(tenet),
          system: 'Be brief.',
          prompt: prompt(m),
          maxRetries: 0,
        }).catch((e: unknown) => e);
        expect(APICallError.isInstance(crashed)).toBe(true);
        expect((crashed as APICallError).statusCode).toBeGreaterThanOrEqual(500);
        expect((crashed as APICallError).isRetryable).toBe(true);
      });
    });
  });
}
