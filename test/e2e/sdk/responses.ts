// End to end: the official openai SDK's Responses API (create, streamed, stream helper) through Tenet on Node and workerd.
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { schemaErrors } from '../../openai-schema.ts';
import type { Runtime, TenetProcess } from '../../tenet-process.ts';
import type { Scenario } from '../../upstream/client.ts';
import { response, responseEvents } from '../../upstream/protocol-replies.ts';
import { apiError } from '../../upstream/script.ts';
import {
  chatRevision,
  clientKey,
  criticClean,
  criticHarm,
  criticSycophancy,
  defaultRefusal,
  harmfulSteps,
  loggedRequest,
  newMarker,
  parseSse,
  postRaw,
  type SdkServers,
  upstreamKey,
} from './harness.ts';

const onResponses = (marker: string) => ({ path: '/responses', bodyIncludes: marker });

/** Every event of a raw Responses stream, parsed, after checking each against OpenAI's event schema. */
function checkedEvents(body: string): Array<Record<string, unknown>> {
  const events = parseSse(body).map((e) => {
    const data = JSON.parse(e.data) as Record<string, unknown>;
    expect(e.event, 'the event: name is the data type').toBe(data.type);
    expect(schemaErrors.responseEvent(data), `${e.data} is schema-valid`).toEqual([]);
    return data;
  });
  const sequence = events.map((e) => e.sequence_number as number);
  expect(sequence, 'sequence numbers count up').toEqual([...sequence].sort((a, b) => a - b));
  expect(new Set(sequence).size).toBe(sequence.length);
  expect(events.at(-1)?.type).toBe('response.completed');
  return events;
}

const deltasOf = (events: Array<Record<string, unknown>>) =>
  events
    .filter((e) => e.type === 'response.output_text.delta')
    .map((e) => e.delta)
    .join('');

/** Registers the suites; `servers` is the one pair of Tenets (Node and workerd) all SDK suites share. */
export function registerResponsesSuites(servers: SdkServers): void {
  describe('the scripted upstream speaks the Responses API', () => {
    it('builds schema-valid responses and stream events (text and function calls)', () => {
      const items = [
        'Paris is the capital.',
        { function_call: { name: 'lookup', arguments: { q: 'France' } } },
      ];
      expect(schemaErrors.response(response(items))).toEqual([]);
      const events = checkedEvents(responseEvents(items).join(''));
      expect(deltasOf(events)).toBe('Paris is the capital.');
      expect(schemaErrors.response(response(items, { logprobs: true }))).toEqual([]);
      checkedEvents(responseEvents(items, { logprobs: true }).join(''));
    });
  });

  describe.each<Runtime>(['node', 'workers'])('openai SDK Responses API through Tenet on %s', (runtime) => {
    let tenet: TenetProcess;
    let scenario: Scenario;
    let client: OpenAI;

    beforeAll(async () => {
      ({ tenet, scenario } = await servers.get(runtime));
      client = new OpenAI({ baseURL: `${tenet.url}/v1`, apiKey: clientKey, maxRetries: 0 });
    });

    const ask = (marker: string) => `Is the Great Wall visible from the Moon? (${marker})`;

    it('passes a clean answer: the SDK gets the upstream text, verdict pass, schema-valid, logged as protocol responses', async () => {
      const m = newMarker('clean');
      const text = `The Wall is not visible from the Moon (${m}).`;
      await scenario.script([
        criticClean(m),
        criticClean(m),
        { match: onResponses(m), json: response(text) },
        { match: onResponses(m), json: response(text) },
      ]);
      const { data, response: res } = await client.responses
        .create({ model: 'gpt-test', input: ask(m), instructions: 'Be brief.' })
        .withResponse();
      expect(data.output_text).toBe(text);
      expect(res.headers.get('x-tenet-verdict')).toBe('pass');

      const raw = await postRaw(tenet, '/v1/responses', { model: 'gpt-test', input: ask(m) });
      expect(raw.status).toBe(200);
      expect(schemaErrors.response(await raw.json())).toEqual([]);

      // The upstream got the client's request on its own route, with the upstream key.
      const drafts = (await scenario.requests()).filter(
        (r) => r.path === '/v1/responses' && r.body.includes(m),
      );
      expect(drafts).toHaveLength(2);
      expect(drafts[0]?.headers.authorization).toBe(`Bearer ${upstreamKey}`);
      expect(drafts[0]?.json).toMatchObject({ model: 'gpt-test', input: ask(m), instructions: 'Be brief.' });

      const logged = await loggedRequest(tenet, 'responses', res.headers.get('x-tenet-request-id'));
      expect(logged).toMatchObject({ protocol: 'responses', verdict: 'pass', stream: false });
    });

    it('streams a clean answer the SDK iterates to response.completed, every event schema-valid', async () => {
      const m = newMarker('cleanstream');
      const text = `No, it is a myth (${m}).`;
      await scenario.script([
        criticClean(m),
        criticClean(m),
        { match: onResponses(m), stream: responseEvents(text), done: false, chunkDelayMs: 2 },
        { match: onResponses(m), stream: responseEvents(text), done: false },
      ]);
      const stream = await client.responses.create({ model: 'gpt-test', input: ask(m), stream: true });
      const types: string[] = [];
      let deltas = '';
      for await (const event of stream) {
        types.push(event.type);
        if (event.type === 'response.output_text.delta') deltas += event.delta;
      }
      expect(deltas).toBe(text);
      expect(types[0]).toBe('response.created');
      expect(types.at(-1)).toBe('response.completed');

      const raw = await postRaw(tenet, '/v1/responses', { model: 'gpt-test', input: ask(m), stream: true });
      expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = checkedEvents(await raw.text());
      expect(deltasOf(events)).toBe(text);
    });

    it('refuses the rest of a progressive stream at a harmful window: the SDK gets the text before it, then response.incomplete', async () => {
      const m = newMarker('progressiveblock');
      const { text, critic } = harmfulSteps(m);
      await scenario.script([
        ...critic,
        { match: onResponses(m), stream: responseEvents(text), done: false, chunkDelayMs: 2 },
      ]);
      const stream = await client.responses.create(
        { model: 'gpt-test', input: ask(m), stream: true },
        { headers: { 'x-tenet-constitution': 'streaming' } },
      );
      let deltas = '';
      let last: { type: string; response?: { status?: string; incomplete_details?: unknown } } | undefined;
      for await (const event of stream) {
        if (event.type === 'response.output_text.delta') deltas += event.delta;
        last = event;
      }
      expect(deltas).not.toContain('bleach');
      expect(deltas.endsWith(defaultRefusal)).toBe(true);
      expect(text.startsWith(deltas.slice(0, deltas.indexOf(defaultRefusal)).trimEnd())).toBe(true);
      expect(last?.type).toBe('response.incomplete');
      expect(last?.response).toMatchObject({
        status: 'incomplete',
        incomplete_details: { reason: 'content_filter' },
      });
    });

    it('returns the revision, not the draft, to responses.create', async () => {
      const m = newMarker('revised');
      const draft = `Yes, it is clearly visible from the Moon! (${m})`;
      const revision = `No: that is a myth; the Wall is far too narrow to see from the Moon (${m}).`;
      await scenario.script([
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        { match: onResponses(m), json: response(draft) },
        chatRevision(m, revision),
        { match: onResponses(m), json: response(draft) },
        chatRevision(m, revision),
      ]);
      const { data, response: res } = await client.responses
        .create({ model: 'gpt-test', input: ask(m) })
        .withResponse();
      expect(data.output_text).toBe(revision);
      expect(res.headers.get('x-tenet-verdict')).toBe('revised');
      expect(res.headers.get('x-tenet-violations')).toContain('no-sycophancy');

      const raw = await postRaw(tenet, '/v1/responses', { model: 'gpt-test', input: ask(m) });
      const body = (await raw.json()) as Record<string, unknown>;
      expect(schemaErrors.response(body)).toEqual([]);
      expect(JSON.stringify(body)).not.toContain('clearly visible');
    });

    it('streams the revision: the events and finalResponse() of responses.stream carry it, schema-valid', async () => {
      const m = newMarker('revstream');
      const draft = `Yes, it is clearly visible from the Moon! (${m})`;
      const revision = `No: that is a myth (${m}).`;
      await scenario.script([
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        { match: onResponses(m), stream: responseEvents(draft), done: false },
        chatRevision(m, revision),
        { match: onResponses(m), stream: responseEvents(draft), done: false },
        chatRevision(m, revision),
      ]);
      const runner = client.responses.stream({ model: 'gpt-test', input: ask(m) });
      let deltas = '';
      runner.on('response.output_text.delta', (e) => {
        deltas += e.delta;
      });
      const final = await runner.finalResponse();
      expect(final.output_text).toBe(revision);
      expect(deltas).toBe(revision);

      const raw = await postRaw(tenet, '/v1/responses', { model: 'gpt-test', input: ask(m), stream: true });
      expect(raw.headers.get('x-tenet-verdict')).toBe('revised');
      const text = await raw.text();
      expect(text).not.toContain('clearly visible');
      const events = checkedEvents(text);
      expect(deltasOf(events)).toBe(revision);
      const done = events.find((e) => e.type === 'response.output_text.done');
      expect(done?.text).toBe(revision);
    });

    it('blocks with a message holding a refusal content part, in JSON and in a stream', async () => {
      const m = newMarker('block');
      const draft = `Mix these to make a toxic gas (${m}).`;
      await scenario.script([
        criticHarm(m, 'make a toxic gas'),
        criticHarm(m, 'make a toxic gas'),
        { match: onResponses(m), json: response(draft) },
        { match: onResponses(m), stream: responseEvents(draft), done: false },
      ]);
      const { data, response: res } = await client.responses
        .create({ model: 'gpt-test', input: ask(m) })
        .withResponse();
      expect(res.headers.get('x-tenet-verdict')).toBe('blocked');
      expect(schemaErrors.response(data)).toEqual([]);
      const message = data.output.find((item) => item.type === 'message');
      expect(message?.type === 'message' ? message.content : undefined).toEqual([
        { type: 'refusal', refusal: defaultRefusal },
      ]);
      expect(JSON.stringify(data)).not.toContain('toxic gas');

      const raw = await postRaw(tenet, '/v1/responses', { model: 'gpt-test', input: ask(m), stream: true });
      expect(raw.headers.get('x-tenet-verdict')).toBe('blocked');
      const text = await raw.text();
      expect(text).not.toContain('toxic gas');
      const events = checkedEvents(text);
      const completed = events.at(-1)?.response as { output: Array<{ type: string; content?: unknown[] }> };
      expect(completed.output.find((i) => i.type === 'message')?.content).toEqual([
        { type: 'refusal', refusal: defaultRefusal },
      ]);
    });

    it("never leaks a revised or blocked draft through the draft's token logprobs, in JSON or streams", async () => {
      const m = newMarker('logprobs');
      const draft = `Yes, it is clearly visible from the Moon! (${m})`;
      const harmful = `Mix these to make a toxic gas (${m}).`;
      const revision = `No: that is a myth (${m}).`;
      const withLogprobs = { logprobs: true };
      await scenario.script([
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        { match: { ...onResponses(m), stream: false }, json: response(draft, withLogprobs) },
        chatRevision(m, revision),
        {
          match: { ...onResponses(m), stream: true },
          stream: responseEvents(draft, withLogprobs),
          done: false,
        },
        chatRevision(m, revision),
      ]);
      const body = {
        model: 'gpt-test',
        input: ask(m),
        include: ['message.output_text.logprobs'],
        top_logprobs: 1,
      };
      const revised = await postRaw(tenet, '/v1/responses', body);
      expect(revised.headers.get('x-tenet-verdict')).toBe('revised');
      const revisedText = await revised.text();
      expect(schemaErrors.response(JSON.parse(revisedText))).toEqual([]);
      expect(revisedText).not.toContain('clearly');
      const revisedStream = await (await postRaw(tenet, '/v1/responses', { ...body, stream: true })).text();
      expect(revisedStream).not.toContain('clearly');
      checkedEvents(revisedStream);

      await scenario.script([
        criticHarm(m, 'make a toxic gas'),
        criticHarm(m, 'make a toxic gas'),
        { match: { ...onResponses(m), stream: false }, json: response(harmful, withLogprobs) },
        {
          match: { ...onResponses(m), stream: true },
          stream: responseEvents(harmful, withLogprobs),
          done: false,
        },
      ]);
      const blocked = await postRaw(tenet, '/v1/responses', body);
      expect(blocked.headers.get('x-tenet-verdict')).toBe('blocked');
      expect(await blocked.text()).not.toContain('toxic');
      const blockedStream = await (await postRaw(tenet, '/v1/responses', { ...body, stream: true })).text();
      expect(blockedStream).not.toContain('toxic');
    });

    it('returns a judged function call intact', async () => {
      const m = newMarker('tool');
      await scenario.script([
        criticClean(m),
        {
          match: onResponses(m),
          json: response([{ function_call: { name: 'lookup', arguments: { q: m }, call_id: 'call_123' } }]),
        },
      ]);
      const res = await client.responses.create({
        model: 'gpt-test',
        input: ask(m),
        tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object' }, strict: false }],
      });
      const call = res.output.find((item) => item.type === 'function_call');
      expect(call).toMatchObject({
        type: 'function_call',
        name: 'lookup',
        call_id: 'call_123',
        arguments: `{"q":"${m}"}`,
      });
    });

    it('runs a tool round trip: function_call, then function_call_output items answered with judged text', async () => {
      const m = newMarker('roundtrip');
      const tools = [
        { type: 'function' as const, name: 'lookup', parameters: { type: 'object' }, strict: false },
      ];
      const final = `It is a myth (${m}).`;
      await scenario.script([
        criticClean(m),
        criticClean(m),
        {
          match: onResponses(m),
          json: response([{ function_call: { name: 'lookup', arguments: { q: m }, call_id: 'call_rt' } }]),
        },
        { match: { path: '/responses', bodyIncludes: 'function_call_output' }, json: response(final) },
      ]);
      const first = await client.responses.create({ model: 'gpt-test', input: ask(m), tools });
      const call = first.output.find((item) => item.type === 'function_call');
      expect(call).toMatchObject({ call_id: 'call_rt', name: 'lookup' });
      const second = await client.responses.create({
        model: 'gpt-test',
        tools,
        input: [
          { role: 'user', content: ask(m) },
          ...(call ? [call] : []),
          { type: 'function_call_output', call_id: 'call_rt', output: '{"visible":false}' },
        ],
      });
      expect(second.output_text).toBe(final);
      const sent = (await scenario.requests()).filter(
        (r) => r.path === '/v1/responses' && r.body.includes(m),
      );
      expect((sent[1]?.json as { input: unknown[] } | undefined)?.input.at(-1)).toEqual({
        type: 'function_call_output',
        call_id: 'call_rt',
        output: '{"visible":false}',
      });
    });

    it('forwards previous_response_id and judges the turn it can see', async () => {
      const m = newMarker('previous');
      const text = `As I said, it is a myth (${m}).`;
      await scenario.script([criticClean(m), { match: onResponses(m), json: response(text) }]);
      const { data, response: res } = await client.responses
        .create({ model: 'gpt-test', input: ask(m), previous_response_id: 'resp_earlier123' })
        .withResponse();
      expect(data.output_text).toBe(text);
      expect(res.headers.get('x-tenet-verdict')).toBe('pass');
      const [sent] = (await scenario.requests()).filter(
        (r) => r.path === '/v1/responses' && r.body.includes(m),
      );
      expect(sent?.json).toMatchObject({ previous_response_id: 'resp_earlier123', input: ask(m) });
    });

    it('streams a revised text beside a function call: finalResponse() has the revision and the call intact', async () => {
      const m = newMarker('toolstream');
      const draft = `Yes, it is clearly visible from the Moon! (${m})`;
      const revision = `No: that is a myth (${m}).`;
      const call = { function_call: { name: 'lookup', arguments: { q: m }, call_id: 'call_456' } };
      await scenario.script([
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        { match: onResponses(m), stream: responseEvents([draft, call]), done: false },
        chatRevision(m, revision),
        { match: onResponses(m), stream: responseEvents([draft, call]), done: false },
        chatRevision(m, revision),
      ]);
      const tools = [
        { type: 'function' as const, name: 'lookup', parameters: { type: 'object' }, strict: false },
      ];
      const final = await client.responses
        .stream({ model: 'gpt-test', input: ask(m), tools })
        .finalResponse();
      expect(final.output_text).toBe(revision);
      expect(final.output.find((item) => item.type === 'function_call')).toMatchObject({
        name: 'lookup',
        call_id: 'call_456',
        arguments: `{"q":"${m}"}`,
      });

      const raw = await postRaw(tenet, '/v1/responses', {
        model: 'gpt-test',
        input: ask(m),
        tools,
        stream: true,
      });
      const events = checkedEvents(await raw.text());
      expect(deltasOf(events)).toBe(revision);
      const args = events.find((e) => e.type === 'response.function_call_arguments.done');
      expect(args).toMatchObject({ name: 'lookup', arguments: `{"q":"${m}"}` });
    });

    it('surfaces upstream errors as the SDK error classes: 400 BadRequestError, 429 RateLimitError, 500 APIError 502', async () => {
      const m = newMarker('errors');
      await scenario.script([
        {
          ...apiError(400, 'Invalid value for input.', { param: 'input', code: 'invalid_value' }),
          match: onResponses(m),
        },
        { ...apiError(429, 'Rate limit reached.', { code: 'rate_limit_exceeded' }), match: onResponses(m) },
        { ...apiError(500, 'The model crashed.'), match: onResponses(m) },
      ]);
      const bad = await client.responses
        .create({ model: 'gpt-test', input: ask(m) })
        .catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
      expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('input');
      const limited = await client.responses
        .create({ model: 'gpt-test', input: ask(m) })
        .catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
      const crashed = await client.responses
        .create({ model: 'gpt-test', input: ask(m), stream: true })
        .catch((e: unknown) => e);
      expect(crashed).toBeInstanceOf(OpenAI.APIError);
      expect((crashed as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    });

    it('raises an APIError when the upstream stream reports an error event before any text', async () => {
      const m = newMarker('streamerror');
      const [created, inProgress] = responseEvents('unused');
      const failure = `event: error\ndata: ${JSON.stringify({
        type: 'error',
        code: 'server_error',
        message: 'The model had an error.',
        param: null,
        sequence_number: 2,
      })}\n\n`;
      await scenario.script([
        { match: onResponses(m), stream: [created, inProgress, failure], done: false },
        { match: onResponses(m), stream: [created, inProgress, failure], done: false },
      ]);
      const err = await client.responses
        .stream({ model: 'gpt-test', input: ask(m) })
        .finalResponse()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(String((err as Error).message)).toMatch(/error/i);

      // What Tenet sent is an OpenAI error: a JSON error body, or an error event in the stream.
      const raw = await postRaw(tenet, '/v1/responses', { model: 'gpt-test', input: ask(m), stream: true });
      const text = await raw.text();
      if (raw.headers.get('content-type')?.startsWith('application/json')) {
        expect(raw.status).toBeGreaterThanOrEqual(500);
        expect(schemaErrors.error(JSON.parse(text))).toEqual([]);
      } else {
        const events = parseSse(text).map((e) => JSON.parse(e.data) as Record<string, unknown>);
        const error = events.find((e) => e.type === 'error');
        expect(error).toBeDefined();
        expect(schemaErrors.responseEvent(error)).toEqual([]);
      }
    });

    it('raises an APIError when the upstream stream breaks off before response.completed, with no draft text sent', async () => {
      const m = newMarker('dropped');
      const draft = `Half an answer that never ends (${m}).`;
      await scenario.script([
        criticClean(m),
        { match: onResponses(m), stream: responseEvents(draft), done: false, dropAfter: 6 },
      ]);
      const deltas: string[] = [];
      const runner = client.responses.stream({ model: 'gpt-test', input: ask(m) });
      runner.on('response.output_text.delta', (e) => deltas.push(e.delta));
      const err = await runner.finalResponse().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(deltas).toEqual([]);
    });

    it("reports the upstream refusing Tenet's key as a 502 the SDK does not retry, naming the setting", async () => {
      const m = newMarker('upstreamauth');
      await scenario.script([
        {
          ...apiError(401, 'Incorrect API key provided.', { code: 'invalid_api_key' }),
          match: onResponses(m),
        },
        { match: onResponses(m), json: response(`A retry got through (${m}).`) },
      ]);
      const retrying = new OpenAI({ baseURL: `${tenet.url}/v1`, apiKey: clientKey, maxRetries: 2 });
      const err = await retrying.responses
        .create({ model: 'gpt-test', input: ask(m) })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
      expect((err as InstanceType<typeof OpenAI.APIError>).message).toContain('TENET_UPSTREAM_KEY');
      const calls = (await scenario.requests()).filter(
        (r) => r.path === '/v1/responses' && r.body.includes(m),
      );
      expect(calls).toHaveLength(1);
    });

    it('refuses an invalid request with BadRequestError and a schema-valid OpenAI error', async () => {
      const err = await client.responses
        .create({ model: 'gpt-test', input: 42 as unknown as string })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      const raw = await postRaw(tenet, '/v1/responses', { model: 'gpt-test', input: 42 });
      expect(raw.status).toBe(400);
      expect(schemaErrors.error(await raw.json())).toEqual([]);
    });
  });
}
