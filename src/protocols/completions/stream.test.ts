// Completions streams: assembled into the JSON answer, written back out as the API streams, scrubbed per choice.
import { describe, expect, it } from 'vitest';
import { schemaErrors } from '../../../test/openai-schema.ts';
import { TenetError } from '../../core/errors.ts';
import type { SseEvent } from '../../core/exchange/protocol.ts';
import { completionsProtocol, type TextCompletion } from './index.ts';

/** Splits SSE text into events the way the HTTP layer hands them over (a comment-only block has no data). */
function eventsOf(sse: string): SseEvent[] {
  return sse
    .split('\n\n')
    .filter((block) => block !== '')
    .map((block) => {
      const lines = block.split('\n');
      const name = lines
        .find((l) => l.startsWith('event:'))
        ?.slice(6)
        .trim();
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(l[5] === ' ' ? 6 : 5))
        .join('\n');
      return name === undefined ? { data } : { event: name, data };
    });
}

function assemble(sse: string): TextCompletion {
  const assembler = completionsProtocol.assembler();
  for (const event of eventsOf(sse)) assembler.add(event);
  return assembler.result();
}

const head = { id: 'cmpl-AbC123', object: 'text_completion', created: 1727000000 };
const model = 'gpt-3.5-turbo-instruct';
const chunk = (index: number, text: string, finish: string | null = null, logprobs: unknown = null) =>
  `data: ${JSON.stringify({ ...head, choices: [{ text, index, logprobs, finish_reason: finish }], model })}\n\n`;

/** The shape OpenAI streams for n=2 with include_usage: choices interleaved, a finish chunk each, usage, [DONE]. */
const recorded =
  chunk(0, '\n\n') +
  chunk(1, '\n\n') +
  ': keep-alive\n\n' +
  chunk(0, 'The sky') +
  chunk(1, 'Blue') +
  chunk(0, ' is blue.') +
  chunk(1, ' light scatters.') +
  chunk(0, '', 'stop') +
  chunk(1, '', 'length') +
  `data: ${JSON.stringify({ ...head, model, choices: [], usage: { prompt_tokens: 5, completion_tokens: 12, total_tokens: 17 } })}\n\n` +
  'data: [DONE]\n\n';

const streamRequest = completionsProtocol.parse(
  JSON.stringify({
    model,
    prompt: 'Why is the sky blue?',
    n: 2,
    stream: true,
    stream_options: { include_usage: true },
  }),
);

/**
 * OpenAI's schema serves answers and chunks alike, yet a chunk's finish_reason is null until its choice ends
 * (the API sends null there): that one difference is allowed, every other error is not.
 */
function chunkSchemaErrors(value: Record<string, unknown>): string[] {
  const choices = Array.isArray(value['choices']) ? (value['choices'] as Array<Record<string, unknown>>) : [];
  return schemaErrors.textCompletion(value).filter((e) => {
    const at = /^\/choices\/(\d+)\/finish_reason /.exec(e);
    return !(at && choices[Number(at[1])]?.['finish_reason'] === null);
  });
}

describe('completions stream', () => {
  it('assembles a recorded stream into the answer the non-streamed API returns', () => {
    const answer = assemble(recorded);
    expect(answer).toEqual({
      ...head,
      model,
      choices: [
        { text: '\n\nThe sky is blue.', index: 0, logprobs: null, finish_reason: 'stop' },
        { text: '\n\nBlue light scatters.', index: 1, logprobs: null, finish_reason: 'length' },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 12, total_tokens: 17 },
    });
    expect(schemaErrors.textCompletion(answer)).toEqual([]);
  });

  it('joins per-chunk logprobs and keeps the system fingerprint', () => {
    const lp = (token: string, at: number) => ({
      tokens: [token],
      token_logprobs: [-0.5],
      top_logprobs: [{ [token]: -0.5 }],
      text_offset: [at],
    });
    const sse =
      chunk(0, 'Hi', null, lp('Hi', 3)).replace('"model"', '"system_fingerprint":"fp_1","model"') +
      chunk(0, ' there', null, lp(' there', 5)) +
      chunk(0, '', 'stop') +
      'data: [DONE]\n\n';
    const answer = assemble(sse);
    expect(answer['system_fingerprint']).toBe('fp_1');
    expect(answer.choices[0]).toEqual({
      text: 'Hi there',
      index: 0,
      logprobs: {
        tokens: ['Hi', ' there'],
        token_logprobs: [-0.5, -0.5],
        top_logprobs: [{ Hi: -0.5 }, { ' there': -0.5 }],
        text_offset: [3, 5],
      },
      finish_reason: 'stop',
    });
    expect(schemaErrors.textCompletion(answer)).toEqual([]);
  });

  it('refuses a chunk that is not JSON, and raises an error event as a broken stream', () => {
    const errorOf = (data: string) => {
      try {
        completionsProtocol.assembler().add({ data });
      } catch (err) {
        if (err instanceof TenetError) return err;
      }
      throw new Error('expected a TenetError');
    };
    expect(errorOf('{"id":').code).toBe('upstream_invalid_response');
    expect(errorOf('42').code).toBe('upstream_invalid_response');
    const broken = errorOf('{"error":{"message":"The server had an error","type":"server_error"}}');
    expect(broken.code).toBe('upstream_stream_broken');
    expect(broken.message).toContain('The server had an error');
  });

  it('uses the JSON a caller already parsed instead of parsing the data again', () => {
    const assembler = completionsProtocol.assembler();
    const json = {
      ...head,
      model,
      choices: [{ text: 'parsed', index: 0, logprobs: null, finish_reason: 'stop' }],
    };
    assembler.add({ data: 'not read', json });
    expect(assembler.result().choices[0]?.text).toBe('parsed');
  });

  it('streams an answer the way the API does, and the stream assembles back into the answer', () => {
    const answer = assemble(recorded);
    const long =
      'Rayleigh scattering sends the short blue wavelengths of sunlight across the whole sky, '.repeat(3);
    const revised = completionsProtocol.applyFinal(
      answer,
      [
        { index: 0, kind: 'revised', text: long },
        { index: 1, kind: 'refused', message: 'No.' },
      ],
      { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      streamRequest,
    );
    const sse = completionsProtocol.toSse(revised, streamRequest);
    expect(sse.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(completionsProtocol.streamEnded(new TextEncoder().encode(sse))).toBe(true);
    expect(assemble(sse)).toEqual(revised);

    const chunks = eventsOf(sse)
      .filter((e) => e.data !== '[DONE]')
      .map((e) => JSON.parse(e.data) as Record<string, unknown>);
    for (const c of chunks) expect(chunkSchemaErrors(c)).toEqual([]);
    const texts = chunks.flatMap((c) =>
      (c['choices'] as Array<{ text: string; index: number }>).filter((x) => x.index === 0),
    );
    expect(texts.length).toBeGreaterThan(5);
    for (const t of texts) expect(t.text.length).toBeLessThanOrEqual(48);
    // The last chunk is the usage one, with no choices.
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 6, completion_tokens: 13, total_tokens: 19 },
    });
  });

  it('sends no usage chunk unless the client asked, and every choice still gets its finish chunk', () => {
    const plain = completionsProtocol.parse(JSON.stringify({ model, prompt: 'x', stream: true }));
    const refusal = completionsProtocol.refusal(plain, 'Sorry.');
    const sse = completionsProtocol.toSse(refusal, plain);
    const chunks = eventsOf(sse).filter((e) => e.data !== '[DONE]');
    expect(chunks.map((e) => JSON.parse(e.data).choices)).toEqual([
      [{ text: 'Sorry.', index: 0, logprobs: null, finish_reason: null }],
      [{ text: '', index: 0, logprobs: null, finish_reason: 'content_filter' }],
    ]);
    const { usage: _usage, ...withoutUsage } = refusal;
    expect(assemble(sse)).toEqual(withoutUsage);
  });

  it('keeps logprobs through a stream round trip', () => {
    const answer = completionsProtocol.readAnswer(
      JSON.stringify({
        ...head,
        model,
        choices: [
          {
            text: 'Hi',
            index: 0,
            logprobs: {
              tokens: ['Hi'],
              token_logprobs: [-0.1],
              top_logprobs: [{ Hi: -0.1 }],
              text_offset: [0],
            },
            finish_reason: 'stop',
          },
          {
            text: '',
            index: 1,
            logprobs: { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] },
            finish_reason: 'stop',
          },
        ],
      }),
    );
    const sse = completionsProtocol.toSse(
      answer,
      completionsProtocol.parse('{"model":"m","prompt":"x","n":2}'),
    );
    expect(assemble(sse)).toEqual(answer);
  });

  it('sees the end of a stream only at a data: [DONE] line', () => {
    const ended = (s: string) => completionsProtocol.streamEnded(new TextEncoder().encode(s));
    expect(ended(recorded)).toBe(true);
    expect(ended(chunk(0, 'data: [DONE]\n'))).toBe(false);
    expect(ended(chunk(0, 'x', 'stop'))).toBe(false);
  });
});

describe('completions delta codec', () => {
  it('keys each choice text by index, ends it at its finish chunk and everything at [DONE]', () => {
    const codec = completionsProtocol.deltaCodec();
    const first = JSON.parse(chunk(1, 'sk-secr').slice(6)) as Record<string, unknown>;
    const slots = codec.texts(first, undefined);
    expect(slots.map((s) => [s.key, s.text])).toEqual([['1', 'sk-secr']]);
    slots[0]?.set('');
    expect((first['choices'] as Array<{ text: string }>)[0]?.text).toBe('');
    expect(codec.closes(first, undefined)).toEqual([]);

    const finish = JSON.parse(chunk(1, '', 'stop').slice(6)) as Record<string, unknown>;
    expect(codec.closes(finish, undefined)).toEqual(['1']);
    const usage = {
      ...head,
      model,
      choices: [],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    };
    expect(codec.texts(usage, undefined)).toEqual([]);
    expect(codec.closes(usage, undefined)).toEqual([]);
    expect(codec.closes('[DONE]', undefined)).toBe('all');
  });

  it('carries held text as a chunk of the same stream that clients accept as the next delta', () => {
    const codec = completionsProtocol.deltaCodec();
    codec.texts(JSON.parse(chunk(0, 'Hello').slice(6)) as Record<string, unknown>, undefined);
    const carrier = codec.carrier('0', ' world');
    expect(carrier.endsWith('\n\n')).toBe(true);
    const parsed = JSON.parse(carrier.slice(6)) as Record<string, unknown>;
    expect(parsed).toEqual({
      ...head,
      model,
      choices: [{ text: ' world', index: 0, logprobs: null, finish_reason: null }],
    });
    expect(chunkSchemaErrors(parsed)).toEqual([]);
    expect(assemble(chunk(0, 'Hello') + carrier + chunk(0, '', 'stop')).choices[0]?.text).toBe('Hello world');
  });
});
