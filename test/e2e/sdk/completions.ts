// End to end: the official openai SDK's legacy completions.create (plain and streamed) through Tenet on Node and workerd.
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { schemaErrors } from '../../openai-schema.ts';
import type { Runtime, TenetProcess } from '../../tenet-process.ts';
import type { Scenario } from '../../upstream/client.ts';
import { textCompletion, textCompletionChunks } from '../../upstream/protocol-replies.ts';
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
  parseSse,
  postRaw,
  type SdkServers,
  upstreamKey,
} from './harness.ts';

const onCompletions = (marker: string) => ({ path: '/v1/completions', bodyIncludes: marker });

/** The chunks of a raw completions stream, each checked against OpenAI's completion schema; it ends with [DONE]. */
function checkedChunks(
  body: string,
): Array<{ choices: Array<{ text: string; finish_reason: string | null }> }> {
  const events = parseSse(body);
  expect(events.at(-1)?.data).toBe('[DONE]');
  return events.slice(0, -1).map((e) => {
    const chunk = JSON.parse(e.data) as { choices: Array<{ text: string; finish_reason: string | null }> };
    expect(schemaErrors.textCompletionChunk(chunk), e.data).toEqual([]);
    return chunk;
  });
}

const textOfChunks = (chunks: ReturnType<typeof checkedChunks>) =>
  chunks.map((c) => c.choices.map((choice) => choice.text).join('')).join('');

/** Registers the suites; `servers` is the one pair of Tenets (Node and workerd) all SDK suites share. */
export function registerCompletionsSuites(servers: SdkServers): void {
  describe('the scripted upstream speaks legacy completions', () => {
    it('builds schema-valid text completions and chunks', () => {
      expect(schemaErrors.textCompletion(textCompletion(['one', 'two']))).toEqual([]);
      expect(schemaErrors.textCompletion(textCompletion('one two', { logprobs: true }))).toEqual([]);
      const body = textCompletionChunks('Paris is the capital.', { includeUsage: true })
        .map((c) => `data: ${JSON.stringify(c)}\n\n`)
        .join('');
      expect(textOfChunks(checkedChunks(`${body}data: [DONE]\n\n`))).toBe('Paris is the capital.');
    });
  });

  describe.each<Runtime>(['node', 'workers'])('openai SDK completions through Tenet on %s', (runtime) => {
    let tenet: TenetProcess;
    let scenario: Scenario;
    let client: OpenAI;

    beforeAll(async () => {
      ({ tenet, scenario } = await servers.get(runtime));
      client = new OpenAI({ baseURL: `${tenet.url}/v1`, apiKey: clientKey, maxRetries: 0 });
    });

    const prompt = (marker: string) => `Q: Is the Great Wall visible from the Moon? (${marker})\nA:`;
    const model = 'gpt-3.5-turbo-instruct';

    it('passes a clean completion: upstream text, finish_reason stop, verdict pass, schema-valid, logged as protocol completions', async () => {
      const m = newMarker('clean');
      const text = ` No, it is far too narrow to see (${m}).`;
      await scenario.script([
        criticClean(m),
        criticClean(m),
        { match: onCompletions(m), json: textCompletion(text) },
        { match: onCompletions(m), json: textCompletion(text) },
      ]);
      const { data, response } = await client.completions
        .create({ model, prompt: prompt(m), max_tokens: 64 })
        .withResponse();
      expect(data.choices[0]?.text).toBe(text);
      expect(data.choices[0]?.finish_reason).toBe('stop');
      expect(response.headers.get('x-tenet-verdict')).toBe('pass');

      const raw = await postRaw(tenet, '/v1/completions', { model, prompt: prompt(m) });
      expect(schemaErrors.textCompletion(await raw.json())).toEqual([]);

      const [draft] = (await scenario.requests()).filter(
        (r) => r.path === '/v1/completions' && r.body.includes(m),
      );
      expect(draft?.headers.authorization).toBe(`Bearer ${upstreamKey}`);
      expect(draft?.json).toMatchObject({ model, prompt: prompt(m), max_tokens: 64 });

      const logged = await loggedRequest(tenet, 'completions', response.headers.get('x-tenet-request-id'));
      expect(logged).toMatchObject({ protocol: 'completions', verdict: 'pass', stream: false });
    });

    it('streams a clean completion the SDK iterates to the end, every chunk schema-valid', async () => {
      const m = newMarker('cleanstream');
      const text = ` No, it is a myth (${m}).`;
      await scenario.script([
        criticClean(m),
        criticClean(m),
        { match: onCompletions(m), stream: textCompletionChunks(text), chunkDelayMs: 2 },
        { match: onCompletions(m), stream: textCompletionChunks(text) },
      ]);
      const stream = await client.completions.create({ model, prompt: prompt(m), stream: true });
      let streamed = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        streamed += chunk.choices[0]?.text ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(streamed).toBe(text);
      expect(finish).toBe('stop');

      const raw = await postRaw(tenet, '/v1/completions', { model, prompt: prompt(m), stream: true });
      expect(textOfChunks(checkedChunks(await raw.text()))).toBe(text);
    });

    it('returns the revision, in JSON and in a stream', async () => {
      const m = newMarker('revised');
      const draft = ` Yes, it is clearly visible from the Moon! (${m})`;
      const revision = ` No: that is a myth (${m}).`;
      await scenario.script([
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        { match: onCompletions(m), json: textCompletion(draft) },
        chatRevision(m, revision),
        { match: onCompletions(m), stream: textCompletionChunks(draft) },
        chatRevision(m, revision),
        { match: onCompletions(m), stream: textCompletionChunks(draft) },
        chatRevision(m, revision),
      ]);
      const { data, response } = await client.completions.create({ model, prompt: prompt(m) }).withResponse();
      expect(data.choices[0]?.text).toBe(revision);
      expect(response.headers.get('x-tenet-verdict')).toBe('revised');
      expect(schemaErrors.textCompletion(data)).toEqual([]);

      const stream = await client.completions.create({ model, prompt: prompt(m), stream: true });
      let streamed = '';
      for await (const chunk of stream) streamed += chunk.choices[0]?.text ?? '';
      expect(streamed).toBe(revision);

      const raw = await postRaw(tenet, '/v1/completions', { model, prompt: prompt(m), stream: true });
      expect(raw.headers.get('x-tenet-verdict')).toBe('revised');
      const body = await raw.text();
      expect(body).not.toContain('clearly visible');
      expect(textOfChunks(checkedChunks(body))).toBe(revision);
    });

    it('judges each prompt of a prompt array on its own: one answer kept, the other revised', async () => {
      const a = newMarker('arrayA');
      const b = newMarker('arrayB');
      const kept = ` Paris (${a}).`;
      const draft = ` Yes, it is clearly visible from the Moon! (${b})`;
      const revision = ` No: that is a myth (${b}).`;
      await scenario.script([
        criticClean(a),
        criticSycophancy(b, 'clearly visible from the Moon'),
        criticClean(b),
        { match: onCompletions(a), json: textCompletion([kept, draft]) },
        chatRevision(b, revision),
      ]);
      const { data, response } = await client.completions
        .create({ model, prompt: [`Q: The capital of France? (${a})\nA:`, prompt(b)] })
        .withResponse();
      expect(data.choices.map((c) => [c.index, c.text])).toEqual([
        [0, kept],
        [1, revision],
      ]);
      expect(response.headers.get('x-tenet-verdict')).toBe('revised');
      expect(schemaErrors.textCompletion(data)).toEqual([]);
    });

    it("never leaks a revised or blocked draft through the draft's token logprobs, in JSON or streams", async () => {
      const m = newMarker('logprobs');
      const draft = ` Yes, it is clearly visible from the Moon! (${m})`;
      const harmful = ` Mix these to make a toxic gas (${m}).`;
      const revision = ` No: that is a myth (${m}).`;
      const withLogprobs = { logprobs: true };
      await scenario.script([
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        criticHarm(m, 'make a toxic gas'),
        criticHarm(m, 'make a toxic gas'),
        { match: onCompletions(m), json: textCompletion(draft, withLogprobs) },
        chatRevision(m, revision),
        { match: onCompletions(m), stream: textCompletionChunks(draft, withLogprobs) },
        chatRevision(m, revision),
        { match: onCompletions(m), json: textCompletion(harmful, withLogprobs) },
        { match: onCompletions(m), stream: textCompletionChunks(harmful, withLogprobs) },
      ]);
      const body = { model, prompt: prompt(m), logprobs: 1 };
      const revised = await postRaw(tenet, '/v1/completions', body);
      expect(revised.headers.get('x-tenet-verdict')).toBe('revised');
      const revisedJson = (await revised.json()) as { choices: Array<{ text: string }> };
      expect(revisedJson.choices[0]?.text).toBe(revision);
      expect(JSON.stringify(revisedJson)).not.toContain('clearly');
      const revisedStream = await (await postRaw(tenet, '/v1/completions', { ...body, stream: true })).text();
      expect(revisedStream).not.toContain('clearly');
      expect(textOfChunks(checkedChunks(revisedStream))).toBe(revision);

      const blocked = await postRaw(tenet, '/v1/completions', body);
      expect(blocked.headers.get('x-tenet-verdict')).toBe('blocked');
      expect(await blocked.text()).not.toContain('toxic');
      const blockedStream = await (await postRaw(tenet, '/v1/completions', { ...body, stream: true })).text();
      expect(blockedStream).not.toContain('toxic');
    });

    it("blocks with finish_reason content_filter and the constitution's refusal, in JSON and in a stream", async () => {
      const m = newMarker('block');
      const draft = ` Mix these to make a toxic gas (${m}).`;
      await scenario.script([
        criticHarm(m, 'make a toxic gas'),
        criticHarm(m, 'make a toxic gas'),
        { match: onCompletions(m), json: textCompletion(draft) },
        { match: onCompletions(m), stream: textCompletionChunks(draft) },
      ]);
      const { data, response } = await client.completions.create({ model, prompt: prompt(m) }).withResponse();
      expect(response.headers.get('x-tenet-verdict')).toBe('blocked');
      expect(data.choices[0]).toMatchObject({ finish_reason: 'content_filter', text: defaultRefusal });
      expect(schemaErrors.textCompletion(data)).toEqual([]);

      const raw = await postRaw(tenet, '/v1/completions', { model, prompt: prompt(m), stream: true });
      const body = await raw.text();
      expect(body).not.toContain('toxic gas');
      const chunks = checkedChunks(body);
      expect(textOfChunks(chunks)).toBe(defaultRefusal);
      expect(chunks.flatMap((c) => c.choices.map((choice) => choice.finish_reason)).filter(Boolean)).toEqual([
        'content_filter',
      ]);
    });

    it('surfaces upstream errors as the SDK error classes: 400 BadRequestError, 429 RateLimitError, 500 APIError 502', async () => {
      const m = newMarker('errors');
      await scenario.script([
        {
          ...apiError(400, "This model's maximum context length is 4097 tokens.", { param: 'prompt' }),
          match: onCompletions(m),
        },
        { ...apiError(429, 'Rate limit reached.', { code: 'rate_limit_exceeded' }), match: onCompletions(m) },
        { ...apiError(500, 'The model crashed.'), match: onCompletions(m) },
      ]);
      const bad = await client.completions.create({ model, prompt: prompt(m) }).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
      expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('prompt');
      const limited = await client.completions.create({ model, prompt: prompt(m) }).catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
      const crashed = await client.completions
        .create({ model, prompt: prompt(m), stream: true })
        .catch((e: unknown) => e);
      expect(crashed).toBeInstanceOf(OpenAI.APIError);
      expect((crashed as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
      const raw = await postRaw(tenet, '/v1/completions', { model });
      expect(raw.status).toBe(400);
      expect(schemaErrors.error(await raw.json())).toEqual([]);
    });
  });
}
