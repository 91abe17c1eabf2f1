// Streamed revisions (continuations of progressive answers) against a real HTTP server, over both transports.
import { describe, expect, inject, it } from 'vitest';
import { createModelClient } from '../../src/adapters/model-client.ts';
import { createNodeUpstream } from '../../src/adapters/node-upstream.ts';
import { ModelCallError } from '../../src/core/loop.ts';
import { createScenario } from '../upstream/client.ts';
import { apiError, chunks, completion } from '../upstream/script.ts';

const messages = [{ role: 'user', content: 'Write the rest.' }];

describe.each(['node:http', 'fetch'] as const)('model client chatStream over %s', (transport) => {
  const client = async () => {
    const scenario = await createScenario(inject('upstreamUrl'));
    const options = { baseURL: scenario.baseURL, apiKey: 'sk-test-reviser', timeoutMs: 5_000 };
    return {
      scenario,
      models: createModelClient(
        transport === 'fetch' ? options : { ...options, upstream: createNodeUpstream },
      ),
    };
  };

  it('hands over the text as it is written, then the whole reply with its tokens', async () => {
    const { scenario, models } = await client();
    await scenario.script([
      { stream: chunks('One. Two. Three. Four.', { includeUsage: true }), chunkDelayMs: 30 },
    ]);
    const pieces: Array<{ text: string; at: number }> = [];
    const started = Date.now();
    const reply = await models.chatStream?.(messages, { model: 'gpt-test' }, (text) =>
      pieces.push({ text, at: Date.now() - started }),
    );
    expect(reply?.content).toBe('One. Two. Three. Four.');
    expect(pieces.map((p) => p.text).join('')).toBe(reply?.content);
    expect(pieces.length).toBeGreaterThan(1);
    // The first piece came well before the stream's end, not all at once.
    expect((pieces.at(-1)?.at ?? 0) - (pieces[0]?.at ?? 0)).toBeGreaterThan(30);
    expect(reply?.usage.total_tokens).toBeGreaterThan(0);
    const [sent] = await scenario.requests();
    expect(sent?.json).toMatchObject({
      model: 'gpt-test',
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(sent?.headers['authorization']).toBe('Bearer sk-test-reviser');
  });

  it('reads a server that answers whole anyway, and reports a refused call as the status it got', async () => {
    const { scenario, models } = await client();
    await scenario.script([
      { json: completion('All at once.') },
      apiError(429, 'slow down', { code: 'rate_limit_exceeded' }),
    ]);
    const pieces: string[] = [];
    const whole = await models.chatStream?.(messages, { model: 'gpt-test' }, (text) => pieces.push(text));
    expect(whole?.content).toBe('All at once.');
    expect(pieces).toEqual(['All at once.']);
    const err = await models.chatStream?.(messages, { model: 'gpt-test' }, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelCallError);
    expect((err as ModelCallError).details.status).toBe(429);
  });
});
