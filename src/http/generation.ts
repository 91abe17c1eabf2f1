// A guarded generation route: the request parsed by its protocol, served by the one exchange, sent as it answers.
import type { Context } from 'hono';
import { idHeaders } from '../../middleware/request-id.ts';
import type { Constitution } from '../core/constitution/schema.ts';
import { TenetError } from '../core/errors.ts';
import type { AnyProtocol } from '../core/exchange/protocol.ts';
import { type DraftReply, type ExchangePorts, serveExchange } from '../core/exchange/serve.ts';
import { SseRelay } from '../core/exchange/sse-relay.ts';
import { answerSecrets } from './answer-secrets.ts';
import { type AppDeps, type AppEnv, contentfulStatus } from './app-env.ts';
import { toClientHeaders, toUpstreamHeaders } from './headers.ts';
import { loopDepsFor } from './loop-deps.ts';
import { upstreamFailure } from './upstream-failure.ts';

/** The route handler of one protocol. */
export function generationRoute(protocol: AnyProtocol) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    // c.var builds an object of every variable on each read: read once.
    const vars = c.var;
    const { deps } = vars;
    const { config } = deps;
    const text = await jsonBodyText(c);
    const request = protocol.parse(text);
    // Built first: headers the upstream would refuse are the client's error, before any critic call is spent.
    const upstreamHeaders = toUpstreamHeaders(c.req.raw.headers);
    const upstream = protocol.upstream === 'anthropic' ? deps.anthropicUpstream : deps.upstream;
    const constitution = vars.constitution;
    const ports: ExchangePorts = {
      requestId: vars.requestId,
      clientRequestId: vars.clientRequestId,
      keyId: vars.clientKeyId,
      constitution,
      shadow: constitution.shadow ? deps.constitutions.get(constitution.shadow) : undefined,
      async sendUpstream(body, signal): Promise<DraftReply> {
        const reply = await upstream.send({
          method: 'POST',
          path: protocol.upstreamPath,
          headers: upstreamHeaders,
          body,
          apiKey: vars.upstreamKey,
          signal,
        });
        if (!reply.response.ok) {
          // A 401 is Tenet's configuration when the key was Tenet's own (not the client's, in BYOK mode).
          const anthropic = protocol.upstream === 'anthropic';
          throw await upstreamFailure(reply, deps.redact, {
            url: anthropic ? config.anthropicUpstreamUrl : config.upstreamUrl,
            keySetting: vars.upstreamKey
              ? undefined
              : anthropic
                ? 'TENET_ANTHROPIC_UPSTREAM_KEY'
                : 'TENET_UPSTREAM_KEY',
          });
        }
        return {
          status: reply.response.status,
          headers: Object.fromEntries(toClientHeaders(reply.response.headers)),
          bytes: () => reply.bytes(),
          stream: () => reply.stream(),
          ...(reply.reader ? { reader: () => reply.reader!() } : {}),
          abort: (reason) => reply.abort(reason),
        };
      },
      loopDeps: (judge: Constitution, signal) => loopDepsFor(c, protocol, request, signal, judge),
      criticModel: (judge) => judge.critic.model ?? config.criticModel ?? request.model,
      // The after-work's members are the app's, not closures of this request (see recordLater); background is
      // called once, at once. Node's execution context keeps the work so that a stop writes the last answers'
      // records too (entry/node.ts).
      record: deps.logWriter.record,
      background: (work) => waitUntil(c, work),
      afterResponse: afterResponse[deps.runtime],
      logger: deps.logger,
      redact: deps.redact,
      signal: c.req.raw.signal,
      logEnabled: config.logEnabled,
      streamIdleTimeoutMs: config.streamIdleTimeoutMs,
      streamKeepAliveMs: config.streamKeepAliveMs,
      secrets: answerSecrets(config),
    };
    const reply = await serveExchange(protocol, request, text, ports);
    const body =
      reply.body instanceof SseRelay ? (deps.relayBody?.(c, reply.body) ?? reply.body.stream()) : reply.body;
    // A Response of its own, its headers a plain record (see idHeaders): on Node, the server writes them as they are.
    return new Response(body as BodyInit | null, {
      status: contentfulStatus(reply.status),
      headers: { ...reply.headers, ...idHeaders(vars) },
    });
  };
}

/**
 * When a request's after-work runs: a timer, so it comes after the turn that hands the response to the server.
 * Node: 25 ms after. The verdict line is a synchronous write and the record is built from every round; neither is
 * wanted sooner (the log writer batches records anyway), and at low concurrency a client's next request comes in
 * within a millisecond of the answer: it must not wait behind this one's record. Workers: the next turn (each
 * request has its isolate's attention, and waitUntil should end soon).
 */
const afterResponse: Record<AppDeps['runtime'], () => Promise<void>> = {
  node: () => new Promise((resolve) => setTimeout(resolve, 25)),
  workers: () => new Promise((resolve) => setTimeout(resolve, 0)),
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * The body as the text the client sent, or a refusal: a body Tenet cannot read faithfully is never rewritten
 * (replacement characters would make the model answer a prompt nobody sent). A declared content type must be
 * JSON (`application/json` or `…+json`, UTF-8); none at all is read as JSON, since many HTTP clients send none.
 * `curl -d` sends `application/x-www-form-urlencoded`, which a page of any site can also send without a
 * preflight: refused, with the fix in the message.
 */
async function jsonBodyText(c: Context<AppEnv>): Promise<string> {
  const type = c.req.header('content-type');
  if (type !== undefined) {
    const [essence = '', ...params] = type
      .toLowerCase()
      .split(';')
      .map((s) => s.trim());
    const charset = params
      .find((p) => p.startsWith('charset='))
      ?.slice(8)
      .replaceAll('"', '');
    const json = essence === 'application/json' || /^application\/[\w.+-]+\+json$/.test(essence);
    if (!json || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
      throw new TenetError(
        'unsupported_media_type',
        `The body must be JSON in UTF-8 (Content-Type: application/json), not "${type.slice(0, 100)}". ` +
          "With curl, add -H 'content-type: application/json'.",
      );
    }
  }
  const bytes = await c.req.arrayBuffer();
  try {
    return utf8.decode(bytes);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    throw new TenetError('invalid_encoding', 'The body is not valid UTF-8.');
  }
}

/** Keeps work alive after the response (Workers' waitUntil; none when a test's request has no execution context). */
function waitUntil(c: Context<AppEnv>, work: Promise<unknown>): void {
  try {
    c.executionCtx.waitUntil(work);
  } catch {
    // No execution context: the promise runs on its own.
  }
}
