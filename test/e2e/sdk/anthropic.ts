// End to end: the official @anthropic-ai/sdk (messages.create, messages.stream, a tool round trip) through Tenet on Node and workerd.
import Anthropic from '@anthropic-ai/sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Runtime, TenetProcess } from '../../tenet-process.ts';
import type { Scenario } from '../../upstream/client.ts';
import { anthropicError, anthropicEvents, anthropicMessage } from '../../upstream/protocol-replies.ts';
import {
  anthropicKey,
  clientKey,
  criticClean,
  criticHarm,
  criticSycophancy,
  defaultRefusal,
  harmfulSteps,
  loggedRequest,
  newMarker,
  parseSse,
  type SdkServers,
} from './harness.ts';

const onMessages = (marker: string) => ({ path: '/v1/messages', bodyIncludes: marker });

/** The names of a raw Anthropic stream's events, after checking each event: line against its data's type. */
function eventNames(body: string): string[] {
  return parseSse(body).map((e) => {
    const data = JSON.parse(e.data) as { type: string };
    expect(e.event).toBe(data.type);
    return data.type;
  });
}

const textOf = (message: Anthropic.Message) =>
  message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');

/** Registers the suites; `servers` is the one pair of Tenets (Node and workerd) all SDK suites share. */
export function registerAnthropicSuites(servers: SdkServers): void {
  describe.each<Runtime>(['node', 'workers'])('@anthropic-ai/sdk through Tenet on %s', (runtime) => {
    let tenet: TenetProcess;
    let scenario: Scenario;
    let client: Anthropic;

    beforeAll(async () => {
      ({ tenet, scenario } = await servers.get(runtime));
      // Base URL only: the SDK appends /v1/messages and sends the key as x-api-key.
      client = new Anthropic({ baseURL: tenet.url, apiKey: clientKey, maxRetries: 0 });
    });

    const ask = (marker: string) => [
      { role: 'user' as const, content: `Is the Great Wall visible from the Moon? (${marker})` },
    ];
    const params = (marker: string) => ({
      model: 'claude-sonnet-4-6',
      max_tokens: 512,
      system: 'Be brief.',
      messages: ask(marker),
    });
    const raw = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${tenet.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': clientKey,
          'anthropic-version': '2023-06-01',
          'content-type': 'application/json',
          ...headers,
        },
        body: JSON.stringify(body),
      });

    it('passes a clean answer to messages.create with verdict pass, the Anthropic upstream called with its own key, logged as protocol messages', async () => {
      const m = newMarker('clean');
      const text = `No, the Wall is far too narrow to see from the Moon (${m}).`;
      await scenario.script([
        criticClean(m),
        criticClean(m),
        { match: onMessages(m), json: anthropicMessage(text) },
        { match: onMessages(m), json: anthropicMessage(text) },
      ]);
      const { data, response } = await client.messages.create(params(m)).withResponse();
      expect(textOf(data)).toBe(text);
      expect(data.stop_reason).toBe('end_turn');
      expect(response.headers.get('x-tenet-verdict')).toBe('pass');
      // A client's own anthropic-version and anthropic-beta go upstream as it sent them.
      const rawRes = await raw(params(m), { 'anthropic-beta': 'token-efficient-tools-2025-02-19' });
      expect(((await rawRes.json()) as Anthropic.Message).content).toEqual([{ type: 'text', text }]);

      const [draft, rawDraft] = (await scenario.requests()).filter(
        (r) => r.path === '/v1/messages' && r.body.includes(m),
      );
      expect(draft?.headers['x-api-key']).toBe(anthropicKey);
      expect(draft?.headers.authorization).toBeUndefined();
      expect(draft?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(draft?.json).toMatchObject({
        model: 'claude-sonnet-4-6',
        system: 'Be brief.',
        messages: ask(m),
      });
      expect(rawDraft?.headers['anthropic-version']).toBe('2023-06-01');
      expect(rawDraft?.headers['anthropic-beta']).toBe('token-efficient-tools-2025-02-19');

      const logged = await loggedRequest(tenet, 'messages', response.headers.get('x-tenet-request-id'));
      expect(logged).toMatchObject({ protocol: 'messages', verdict: 'pass', stream: false });
    });

    it('streams a clean answer: messages.stream text events and finalMessage() carry the upstream text', async () => {
      const m = newMarker('cleanstream');
      const text = `No, it is a myth (${m}).`;
      await scenario.script([
        criticClean(m),
        criticClean(m),
        { match: onMessages(m), stream: anthropicEvents(text), done: false, chunkDelayMs: 2 },
        { match: onMessages(m), stream: anthropicEvents(text), done: false },
      ]);
      const stream = client.messages.stream(params(m));
      let streamed = '';
      stream.on('text', (delta) => {
        streamed += delta;
      });
      const final = await stream.finalMessage();
      expect(textOf(final)).toBe(text);
      expect(streamed).toBe(text);
      expect(final.stop_reason).toBe('end_turn');

      const res = await raw({ ...params(m), stream: true });
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const names = eventNames(await res.text());
      expect(names[0]).toBe('message_start');
      expect(names.at(-1)).toBe('message_stop');
    });

    it("refuses the rest of a progressive stream at a harmful window: the SDK gets the text before it, then stop_reason 'refusal'", async () => {
      const m = newMarker('progressiveblock');
      const { text, critic } = harmfulSteps(m);
      await scenario.script([
        ...critic,
        { match: onMessages(m), stream: anthropicEvents(text), done: false, chunkDelayMs: 2 },
      ]);
      const stream = client.messages.stream(params(m), { headers: { 'x-tenet-constitution': 'streaming' } });
      let streamed = '';
      stream.on('text', (delta) => {
        streamed += delta;
      });
      const final = await stream.finalMessage();
      expect(streamed).not.toContain('bleach');
      expect(streamed.endsWith(defaultRefusal)).toBe(true);
      expect(text.startsWith(streamed.slice(0, streamed.indexOf(defaultRefusal)).trimEnd())).toBe(true);
      expect(textOf(final)).toBe(streamed);
      expect(final.stop_reason).toBe('refusal');
    });

    it('returns the revision, asked of the Anthropic upstream as a plain Messages call, to messages.create', async () => {
      const m = newMarker('revised');
      const draft = `Yes, it is clearly visible from the Moon! (${m})`;
      const revision = `No: that is a myth; the Wall is far too narrow to see (${m}).`;
      await scenario.script([
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        { match: onMessages(m), json: anthropicMessage(draft) },
        { match: onMessages(m), json: anthropicMessage(revision) },
      ]);
      const { data, response } = await client.messages.create(params(m)).withResponse();
      expect(textOf(data)).toBe(revision);
      expect(response.headers.get('x-tenet-verdict')).toBe('revised');
      expect(response.headers.get('x-tenet-violations')).toContain('no-sycophancy');

      const calls = (await scenario.requests()).filter(
        (r) => r.path === '/v1/messages' && r.body.includes(m),
      );
      expect(calls).toHaveLength(2);
      const revise = calls[1];
      expect(revise?.headers['x-api-key']).toBe(anthropicKey);
      expect(revise?.headers['anthropic-version']).toBe('2023-06-01');
      expect(revise?.json).toMatchObject({ model: 'claude-sonnet-4-6' });
      expect((revise?.json as { stream?: boolean } | undefined)?.stream).not.toBe(true);
    });

    it('streams the revision: text events and finalMessage() of messages.stream carry it, never the draft', async () => {
      const m = newMarker('revstream');
      const draft = `Yes, it is clearly visible from the Moon! (${m})`;
      const revision = `No: that is a myth (${m}).`;
      await scenario.script([
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        { match: onMessages(m), stream: anthropicEvents(draft), done: false },
        { match: onMessages(m), json: anthropicMessage(revision) },
        { match: onMessages(m), stream: anthropicEvents(draft), done: false },
        { match: onMessages(m), json: anthropicMessage(revision) },
      ]);
      const stream = client.messages.stream(params(m));
      let streamed = '';
      stream.on('text', (delta) => {
        streamed += delta;
      });
      const final = await stream.finalMessage();
      expect(textOf(final)).toBe(revision);
      expect(streamed).toBe(revision);

      const res = await raw({ ...params(m), stream: true });
      expect(res.headers.get('x-tenet-verdict')).toBe('revised');
      const body = await res.text();
      expect(body).not.toContain('clearly visible');
      expect(eventNames(body).at(-1)).toBe('message_stop');
    });

    it("blocks with stop_reason 'refusal' and the constitution's refusal, in JSON and in a stream", async () => {
      const m = newMarker('block');
      const draft = `Mix these to make a toxic gas (${m}).`;
      await scenario.script([
        criticHarm(m, 'make a toxic gas'),
        criticHarm(m, 'make a toxic gas'),
        { match: onMessages(m), json: anthropicMessage(draft) },
        { match: onMessages(m), stream: anthropicEvents(draft), done: false },
      ]);
      const { data, response } = await client.messages.create(params(m)).withResponse();
      expect(response.headers.get('x-tenet-verdict')).toBe('blocked');
      expect(data.stop_reason).toBe('refusal');
      expect(textOf(data)).toBe(defaultRefusal);

      const final = await client.messages.stream(params(m)).finalMessage();
      expect(final.stop_reason).toBe('refusal');
      expect(textOf(final)).toBe(defaultRefusal);
      expect(JSON.stringify(final)).not.toContain('toxic gas');
    });

    it('runs a tool round trip: a streamed tool_use, then the tool_result answered with judged text', async () => {
      const m = newMarker('tools');
      const tools: Anthropic.Tool[] = [
        {
          name: 'get_weather',
          description: 'The weather in a city.',
          input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ];
      const question = [{ role: 'user' as const, content: `What is the weather in Paris? (${m})` }];
      await scenario.script([
        criticClean(m),
        criticClean(m),
        {
          match: onMessages(m),
          stream: anthropicEvents([
            'Let me check the weather. ',
            { tool_use: { id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } } },
          ]),
          done: false,
        },
        {
          match: { ...onMessages(m), bodyIncludes: 'tool_result' },
          json: anthropicMessage(`Sunny and 22 °C in Paris (${m}).`),
        },
      ]);
      const first = await client.messages
        .stream({ model: 'claude-sonnet-4-6', max_tokens: 512, tools, messages: question })
        .finalMessage();
      expect(first.stop_reason).toBe('tool_use');
      const call = first.content.find((block) => block.type === 'tool_use');
      expect(call).toMatchObject({
        type: 'tool_use',
        id: 'toolu_01A',
        name: 'get_weather',
        input: { city: 'Paris' },
      });

      const second = await client.messages.create({
        model: 'claude-sonnet-4-6',
        max_tokens: 512,
        tools,
        messages: [
          ...question,
          { role: 'assistant', content: first.content },
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: 'toolu_01A', content: 'sunny, 22 °C' }],
          },
        ],
      });
      expect(textOf(second)).toBe(`Sunny and 22 °C in Paris (${m}).`);
      const [, followUp] = (await scenario.requests()).filter(
        (r) => r.path === '/v1/messages' && r.body.includes(m),
      );
      const sent = followUp?.json as { messages: Array<{ role: string; content: unknown }> };
      expect(sent.messages.at(-1)?.content).toEqual([
        { type: 'tool_result', tool_use_id: 'toolu_01A', content: 'sunny, 22 °C' },
      ]);
      expect(sent.messages[1]?.content).toContainEqual(
        expect.objectContaining({ type: 'tool_use', id: 'toolu_01A', input: { city: 'Paris' } }),
      );
    });

    it("surfaces upstream errors as the SDK's error classes with Anthropic's error shape", async () => {
      const m = newMarker('errors');
      await scenario.script([
        {
          ...anthropicError(400, 'invalid_request_error', 'max_tokens: field required'),
          match: onMessages(m),
        },
        {
          ...anthropicError(429, 'rate_limit_error', 'Number of requests has exceeded your rate limit.'),
          match: onMessages(m),
        },
        { ...anthropicError(529, 'overloaded_error', 'Overloaded'), match: onMessages(m) },
      ]);
      const bad = await client.messages.create(params(m)).catch((e: unknown) => e);
      expect(bad).toBeInstanceOf(Anthropic.BadRequestError);
      expect((bad as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: 'max_tokens: field required' },
      });
      const limited = await client.messages.create(params(m)).catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
      expect((limited as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({
        type: 'error',
        error: { type: 'rate_limit_error' },
      });
      const overloaded = await client.messages
        .stream(params(m))
        .finalMessage()
        .catch((e: unknown) => e);
      expect(overloaded).toBeInstanceOf(Anthropic.APIError);
      const status = (overloaded as InstanceType<typeof Anthropic.APIError>).status ?? 0;
      expect(status).toBeGreaterThanOrEqual(500);
      expect((overloaded as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
        type: 'error',
        error: { type: expect.any(String), message: expect.any(String) },
      });
    });

    it('streams a revised text beside a tool_use block: finalMessage() has the revision and the tool input intact', async () => {
      const m = newMarker('toolrev');
      const draft = `Yes, it is clearly visible from the Moon! (${m}) `;
      const revision = `No: that is a myth (${m}). `;
      const call = {
        tool_use: { id: 'toolu_02B', name: 'get_photo', input: { place: 'Moon', zoom: [1, 2] } },
      };
      await scenario.script([
        criticSycophancy(m, 'clearly visible from the Moon'),
        criticClean(m),
        { match: onMessages(m), stream: anthropicEvents([draft, call]), done: false },
        { match: onMessages(m), json: anthropicMessage(revision) },
      ]);
      const final = await client.messages
        .stream({
          ...params(m),
          tools: [{ name: 'get_photo', input_schema: { type: 'object' } }],
        })
        .finalMessage();
      expect(final.content[0]).toMatchObject({ type: 'text', text: revision });
      expect(final.content[1]).toMatchObject({
        type: 'tool_use',
        id: 'toolu_02B',
        name: 'get_photo',
        input: { place: 'Moon', zoom: [1, 2] },
      });
      expect(final.stop_reason).toBe('tool_use');
    });

    it('raises an APIError in Anthropic shape when the upstream stream reports an error event', async () => {
      const m = newMarker('streamerror');
      const [start, ping] = anthropicEvents('unused');
      const failure = `event: error\ndata: ${JSON.stringify({
        type: 'error',
        error: { type: 'overloaded_error', message: 'Overloaded' },
      })}\n\n`;
      await scenario.script([
        { match: onMessages(m), stream: [start, ping, failure], done: false },
        { match: onMessages(m), stream: [start, ping, failure], done: false },
      ]);
      const err = await client.messages
        .stream(params(m))
        .finalMessage()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.APIError);

      const res = await raw({ ...params(m), stream: true });
      const text = await res.text();
      if (res.headers.get('content-type')?.startsWith('application/json')) {
        expect(res.status).toBeGreaterThanOrEqual(500);
        expect(JSON.parse(text)).toMatchObject({ type: 'error', error: { type: expect.any(String) } });
      } else {
        const events = parseSse(text);
        const error = events.find((e) => e.event === 'error');
        expect(JSON.parse(error?.data ?? '{}')).toMatchObject({
          type: 'error',
          error: { type: expect.any(String), message: expect.any(String) },
        });
      }
    });

    it('raises an APIError when the upstream stream breaks off before message_stop, with no draft text sent', async () => {
      const m = newMarker('dropped');
      await scenario.script([
        criticClean(m),
        {
          match: onMessages(m),
          stream: anthropicEvents(`Half an answer that never ends (${m}).`),
          done: false,
          dropAfter: 5,
        },
      ]);
      let streamed = '';
      const stream = client.messages.stream(params(m));
      stream.on('text', (delta) => {
        streamed += delta;
      });
      const err = await stream.finalMessage().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.APIError);
      expect(streamed).toBe('');
    });

    it("reports the Anthropic upstream refusing Tenet's key as a 502 the SDK does not retry, naming the setting", async () => {
      const m = newMarker('upstreamauth');
      await scenario.script([
        { ...anthropicError(401, 'authentication_error', 'invalid x-api-key'), match: onMessages(m) },
        { match: onMessages(m), json: anthropicMessage(`A retry got through (${m}).`) },
      ]);
      const retrying = new Anthropic({ baseURL: tenet.url, apiKey: clientKey, maxRetries: 2 });
      const err = await retrying.messages.create(params(m)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.InternalServerError);
      expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(502);
      expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
        type: 'error',
        error: { message: expect.stringContaining('TENET_ANTHROPIC_UPSTREAM_KEY') },
      });
      const calls = (await scenario.requests()).filter(
        (r) => r.path === '/v1/messages' && r.body.includes(m),
      );
      expect(calls).toHaveLength(1);
    });

    it("refuses an invalid request with BadRequestError in Anthropic's error shape", async () => {
      const err = await client.messages
        .create({
          model: 'claude-sonnet-4-6',
          messages: ask('x'),
        } as unknown as Anthropic.MessageCreateParamsNonStreaming)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
      expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') },
      });
    });

    it('accepts the client key as a bearer token too, and refuses a wrong key with AuthenticationError', async () => {
      const m = newMarker('bearer');
      await scenario.script([
        criticClean(m),
        { match: onMessages(m), json: anthropicMessage(`Fine (${m}).`) },
      ]);
      const bearer = new Anthropic({ baseURL: tenet.url, authToken: clientKey, apiKey: null, maxRetries: 0 });
      expect(textOf(await bearer.messages.create(params(m)))).toBe(`Fine (${m}).`);
      const wrong = new Anthropic({ baseURL: tenet.url, apiKey: 'not-the-key-0000000000', maxRetries: 0 });
      const err = await wrong.messages.create(params(m)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
      expect((err as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({
        type: 'error',
        error: { type: 'authentication_error', message: expect.any(String) },
      });
    });

    it("forwards the SDK's models.list and messages.countTokens to the Anthropic upstream with its key", async () => {
      await scenario.script([
        {
          match: { path: '/v1/models', header: { 'x-api-key': anthropicKey } },
          json: {
            data: [
              {
                type: 'model',
                id: 'claude-sonnet-4-6',
                display_name: 'Claude Sonnet 4.6',
                created_at: '2025-09-29T00:00:00Z',
              },
            ],
            has_more: false,
            first_id: 'claude-sonnet-4-6',
            last_id: 'claude-sonnet-4-6',
          },
        },
        {
          match: { path: '/v1/messages/count_tokens', header: { 'x-api-key': anthropicKey } },
          json: { input_tokens: 14 },
        },
      ]);
      const ids: string[] = [];
      for await (const model of client.models.list()) ids.push(model.id);
      expect(ids).toEqual(['claude-sonnet-4-6']);
      const counted = await client.messages.countTokens({
        model: 'claude-sonnet-4-6',
        messages: ask('count'),
      });
      expect(counted.input_tokens).toBe(14);
    });
  });
}
