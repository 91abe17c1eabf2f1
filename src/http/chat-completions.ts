// POST /v1/chat/completions: checks the input, gets the answer upstream, holds it to the constitution, returns it.
import type { Context } from 'hono';
import { parseChatRequest } from '../core/chat-request.ts';
import { ChunkAssembler, type Completion, completionToSse, refusalCompletion } from '../core/completion.ts';
import type { Constitution } from '../core/constitution/schema.ts';
import { type ChoiceViolation, enforceOutput, worse } from '../core/enforce.ts';
import { TenetError } from '../core/errors.ts';
import { sseData } from '../core/sse.ts';
import { checkRules, finalVerdict, lastUserText, principlesFor, type Verdict } from '../core/verdict.ts';
import type { AppEnv } from './app-env.ts';
import { deferredSse, type JudgedStream, sseHeaders } from './deferred-sse.ts';
import { toClientHeaders, toUpstreamHeaders } from './headers.ts';
import { relaySse, upstreamEvents } from './sse-relay.ts';
import { upstreamFailure } from './upstream-failure.ts';

interface Outcome {
  verdict: Verdict;
  violations: ChoiceViolation[];
  revisions: number;
}

/** The x-tenet-* headers of DESIGN.md for an outcome. */
export function verdictHeaders(constitution: Constitution, outcome: Outcome): Record<string, string> {
  return {
    'x-tenet-verdict': outcome.verdict,
    'x-tenet-violations': [...new Set(outcome.violations.map((v) => v.principle))].join(','),
    'x-tenet-revisions': String(outcome.revisions),
    'x-tenet-constitution': `${constitution.name}@${constitution.hash}`,
  };
}

function parseCompletion(text: string): Completion {
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json === 'object' && json !== null && Array.isArray((json as { choices?: unknown }).choices)) {
      return json as Completion;
    }
  } catch {
    // fall through
  }
  throw new TenetError(
    'upstream_invalid_response',
    'The upstream model sent an answer that is not a chat completion.',
  );
}

/** In error mode a block is an HTTP error; in message mode (default) it is a normal answer that refuses. */
function blockedError(constitution: Constitution, outcome: Outcome): TenetError | undefined {
  if (constitution.on_block.mode !== 'error') return undefined;
  return new TenetError('content_blocked', constitution.on_block.message, {
    status: constitution.on_block.status,
    headers: verdictHeaders(constitution, outcome),
  });
}

export async function chatCompletions(c: Context<AppEnv>): Promise<Response> {
  const { upstream, config, redact, logger } = c.var.deps;
  const constitution = c.var.constitution;
  const text = await c.req.text();
  const request = parseChatRequest(text);
  const stream = request.stream === true;
  const includeUsage = request.stream_options?.include_usage === true;

  // Input principles: a blocked input never reaches the upstream, and costs no model call.
  const inputViolations: ChoiceViolation[] = checkRules(
    principlesFor(constitution, 'input'),
    lastUserText(request.messages),
  ).map((v) => ({ ...v, choice: -1 }));
  const inputVerdict = finalVerdict(inputViolations, constitution, false);
  if (inputVerdict === 'blocked') {
    const outcome: Outcome = { verdict: 'blocked', violations: inputViolations, revisions: 0 };
    const blocked = blockedError(constitution, outcome);
    if (blocked) throw blocked;
    const refusal = refusalCompletion(request.model, constitution.on_block.message, request.n ?? 1);
    const headers = verdictHeaders(constitution, outcome);
    if (stream) return c.body(completionToSse(refusal, { includeUsage }), 200, { ...sseHeaders, ...headers });
    return c.json(refusal, 200, headers);
  }

  // The client's bytes are forwarded as sent: every field, known or not, reaches the upstream intact.
  const reply = await upstream.send({
    method: 'POST',
    path: '/chat/completions',
    headers: toUpstreamHeaders(c.req.raw.headers),
    body: text,
    apiKey: c.var.upstreamKey,
    signal: c.req.raw.signal,
  });
  if (!reply.response.ok) throw await upstreamFailure(reply, redact);

  const headers = Object.fromEntries(toClientHeaders(reply.response.headers));
  const judgesOutput = principlesFor(constitution, 'output').length > 0;
  const combine = (out: Outcome): Outcome => ({
    verdict: worse(inputVerdict, out.verdict),
    violations: [...inputViolations, ...out.violations],
    revisions: out.revisions,
  });
  const isSse = (reply.response.headers.get('content-type') ?? '').includes('text/event-stream');

  if (stream && isSse) {
    const events = upstreamEvents(reply, config.streamIdleTimeoutMs);
    const requestId = c.var.requestId;
    if (!judgesOutput || constitution.stream === 'audit') {
      // Nothing to hold back (or audit mode): relay chunk by chunk, as the upstream sends them.
      const audit = judgesOutput ? new ChunkAssembler() : undefined;
      const tapped = audit ? tap(events, audit) : events;
      const body = relaySse(tapped, {
        abort: () => reply.abort(),
        onEnd: (outcome) => {
          if (outcome.kind === 'broken') {
            logger.warn('upstream stream broken', { request_id: requestId, code: outcome.error.code });
          }
          if (audit && outcome.kind === 'done') {
            enforceOutput(audit.result(), constitution).then((e) => {
              if (e.verdict !== 'pass') {
                logger.info('audit verdict', {
                  request_id: requestId,
                  verdict: e.verdict,
                  violations: e.violations.map((v) => v.principle).join(','),
                });
              }
            });
          }
        },
      });
      const auditHeaders = judgesOutput
        ? { 'x-tenet-mode': 'audit', 'x-tenet-constitution': `${constitution.name}@${constitution.hash}` }
        : verdictHeaders(constitution, combine({ verdict: 'pass', violations: [], revisions: 0 }));
      return c.body(body, 200, { ...headers, ...sseHeaders, ...auditHeaders });
    }

    // Buffer: the whole answer is judged before a byte of it goes out.
    const judged = (async (): Promise<JudgedStream> => {
      let raw = '';
      const decoder = new TextDecoder();
      const assembler = new ChunkAssembler();
      for await (const bytes of events) {
        const chunk = decoder.decode(bytes, { stream: true });
        raw += chunk;
        for (const data of sseData(chunk)) {
          if (data === '[DONE]') continue;
          try {
            assembler.add(JSON.parse(data));
          } catch {
            throw new TenetError(
              'upstream_invalid_response',
              'The upstream model sent a stream chunk that is not JSON.',
            );
          }
        }
      }
      const enforcement = await enforceOutput(assembler.result(), constitution);
      const outcome = combine(enforcement);
      const blocked = enforcement.verdict === 'blocked' ? blockedError(constitution, outcome) : undefined;
      if (blocked) throw blocked;
      // Unchanged: the upstream's own bytes go out. Changed: the final answer, streamed as proper chunks.
      const sse = enforcement.changed ? completionToSse(enforcement.completion, { includeUsage }) : raw;
      return { headers: { ...headers, ...verdictHeaders(constitution, outcome) }, sse };
    })();
    return deferredSse(c, judged, config.streamKeepAliveMs, () => reply.abort());
  }

  // The bytes go back as they came (no re-encoding); the text is parsed to check and judge them.
  const body = await reply.bytes();
  const completion = parseCompletion(new TextDecoder().decode(body));
  headers['content-type'] = 'application/json';
  if (!judgesOutput) {
    const outcome = combine({ verdict: 'pass', violations: [], revisions: 0 });
    return c.body(body, reply.response.status as 200, {
      ...headers,
      ...verdictHeaders(constitution, outcome),
    });
  }
  const enforcement = await enforceOutput(completion, constitution);
  const outcome = combine(enforcement);
  const blocked = enforcement.verdict === 'blocked' ? blockedError(constitution, outcome) : undefined;
  if (blocked) throw blocked;
  const outHeaders = { ...headers, ...verdictHeaders(constitution, outcome) };
  if (!enforcement.changed) return c.body(body, reply.response.status as 200, outHeaders);
  return c.body(JSON.stringify(enforcement.completion), 200, outHeaders);
}

/** Passes events through while feeding their chunks to `assembler` (audit mode judges after the fact). */
async function* tap(
  events: AsyncGenerator<Uint8Array>,
  assembler: ChunkAssembler,
): AsyncGenerator<Uint8Array> {
  const decoder = new TextDecoder();
  for await (const chunk of events) {
    for (const data of sseData(decoder.decode(chunk, { stream: true }))) {
      if (data === '[DONE]') continue;
      try {
        assembler.add(JSON.parse(data));
      } catch {
        // An unparseable chunk is the client's to see; the audit judges what it can.
      }
    }
    yield chunk;
  }
}
