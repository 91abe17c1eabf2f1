// The loop's model calls for one request: the critic (TENET_CRITIC_* or the constitution's model), revisions to the client's model.
import type { Context } from 'hono';
import type { ModelClient } from '../adapters/model-client.ts';
import type { Constitution } from '../core/constitution/schema.ts';
import { critiqueResponseFormat } from '../core/critique.ts';
import type { AnyProtocol, ParsedRequest } from '../core/exchange/protocol.ts';
import type { LoopDeps, VerdictCache } from '../core/loop.ts';
import type { OutputContract } from '../core/output-contract.ts';
import type { AppEnv } from './app-env.ts';

const responseFormat = critiqueResponseFormat();

const nonceBytes = 12;
const hexOf = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
/** Random bytes for nonces, drawn 256 nonces at a time (one call to the system's generator, not one a nonce). */
let pool = new Uint8Array(0);
let poolAt = 0;

/** 24 hex digits from the CSPRNG, each byte used once. */
export function nonce(): string {
  if (poolAt + nonceBytes > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(nonceBytes * 256));
    poolAt = 0;
  }
  let out = '';
  for (let i = 0; i < nonceBytes; i++) out += hexOf[pool[poolAt + i] as number];
  poolAt += nonceBytes;
  return out;
}

/** What the loop's model calls are bound to: the clients, the models, and the request's key, temperature, signal. */
export interface ModelLoopOptions {
  critic: ModelClient;
  reviser: ModelClient;
  criticModel: string;
  /** The client's model: revisions go to it. */
  model: string;
  apiKey?: string | undefined;
  temperature?: number | undefined;
  /** The client's output limit (the Anthropic API requires one on every call). */
  maxTokens?: number | undefined;
  /** The client's output contract (format, tools, limit): every revision call carries it. */
  contract?: OutputContract | undefined;
  signal?: AbortSignal | undefined;
  cache?: VerdictCache | undefined;
}

/** The loop's dependencies over model clients: the proxy's, and the CLI's (`tenet test`, `tenet replay`). */
export function modelLoopDeps(o: ModelLoopOptions): LoopDeps {
  const { signal } = o;
  // Continuation revisions stream where the reviser can (the OpenAI-compatible upstream).
  const stream = o.reviser.chatStream;
  const revision = {
    model: o.model,
    apiKey: o.apiKey,
    signal,
    ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...(o.maxTokens !== undefined ? { maxTokens: o.maxTokens } : {}),
    ...(o.contract ? { contract: o.contract } : {}),
  };
  return {
    critique: (messages) =>
      o.critic.chat(messages, { model: o.criticModel, responseFormat, temperature: 0, signal }),
    revise: (messages) => o.reviser.chat(messages, revision),
    reviseStream: stream
      ? (messages, onText) => stream.call(o.reviser, messages, revision, onText)
      : undefined,
    cache: o.cache,
    nonce,
    now: () => Date.now(),
  };
}

/**
 * Loop dependencies bound to this request: its model (revisions go to the protocol's own upstream: an Anthropic
 * request is revised by the Anthropic API), its key in BYOK mode, its abort signal.
 */
export function loopDepsFor(
  c: Context<AppEnv>,
  protocol: AnyProtocol,
  request: ParsedRequest,
  signal: AbortSignal | undefined,
  /** The constitution whose critic judges (default the request's; shadow mode passes the candidate). */
  constitution: Constitution = c.var.constitution,
): LoopDeps {
  const { deps, upstreamKey } = c.var;
  return modelLoopDeps({
    critic: deps.critic,
    reviser: protocol.upstream === 'anthropic' ? deps.anthropicReviser : deps.reviser,
    criticModel: constitution.critic.model ?? deps.config.criticModel ?? request.model,
    model: request.model,
    apiKey: upstreamKey,
    temperature: request.temperature,
    maxTokens: protocol.upstream === 'anthropic' ? (request.maxTokens ?? 4096) : undefined,
    contract: request.contract,
    signal,
    cache: deps.verdictCache,
  });
}
