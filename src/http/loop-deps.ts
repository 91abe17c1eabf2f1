// The loop's model calls for one request: the critic (TENET_CRITIC_* or the constitution's model), revisions to the client's model.
import type { Context } from 'hono';
import type { ModelClient } from '../adapters/model-client.ts';
import type { ChatRequest } from '../core/chat-request.ts';
import type { Constitution } from '../core/constitution/schema.ts';
import { type ChatMessage, critiqueResponseFormat } from '../core/critique.ts';
import type { LoopDeps, VerdictCache } from '../core/loop.ts';
import { contentText } from '../core/verdict.ts';
import type { AppEnv } from './app-env.ts';

const responseFormat = critiqueResponseFormat();

function nonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The request's messages as plain text turns, the way the critic and the reviser read them. */
export function conversationOf(request: ChatRequest): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of request.messages) {
    let content = contentText(m.content);
    const calls = (m as { tool_calls?: Array<{ function?: { name?: string } }> }).tool_calls;
    if (!content && calls?.length)
      content = `[calls tools: ${calls.map((t) => t.function?.name ?? '?').join(', ')}]`;
    if (!content) continue;
    const role =
      m.role === 'user' || m.role === 'assistant' || m.role === 'system'
        ? m.role
        : m.role === 'developer'
          ? 'system'
          : 'user';
    out.push({
      role,
      content: m.role === 'tool' || m.role === 'function' ? `[tool result] ${content}` : content,
    });
  }
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
  signal?: AbortSignal | undefined;
  cache?: VerdictCache | undefined;
}

/** The loop's dependencies over model clients: the proxy's, and the CLI's (`tenet test`, `tenet replay`). */
export function modelLoopDeps(o: ModelLoopOptions): LoopDeps {
  const { signal } = o;
  return {
    critique: (messages) =>
      o.critic.chat(messages, { model: o.criticModel, responseFormat, temperature: 0, signal }),
    revise: (messages) =>
      o.reviser.chat(messages, {
        model: o.model,
        apiKey: o.apiKey,
        signal,
        ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
      }),
    cache: o.cache,
    nonce,
    now: () => Date.now(),
  };
}

/** Loop dependencies bound to this request (its model, its key in BYOK mode, its abort signal). */
export function loopDepsFor(
  c: Context<AppEnv>,
  request: ChatRequest,
  signal: AbortSignal | undefined,
  /** The constitution whose critic judges (default the request's; shadow mode passes the candidate). */
  constitution: Constitution = c.var.constitution,
): LoopDeps {
  const { deps, upstreamKey } = c.var;
  return modelLoopDeps({
    critic: deps.critic,
    reviser: deps.reviser,
    criticModel: constitution.critic.model ?? deps.config.criticModel ?? request.model,
    model: request.model,
    apiKey: upstreamKey,
    temperature: typeof request.temperature === 'number' ? request.temperature : undefined,
    signal,
    cache: deps.verdictCache,
  });
}
