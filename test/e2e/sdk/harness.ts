// Shared setup of the SDK end-to-end suites: one Tenet under the shipped `default` constitution, scripted critic verdicts per request, the log.
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { criticSays, type ScriptedVerdict, violating } from '../../fixtures/critic.ts';
import { type Runtime, startTenet, type TenetProcess } from '../../tenet-process.ts';
import { createScenario, type ReplySpec, type Scenario } from '../../upstream/client.ts';

export const clientKey = 'sdk-e2e-client-key-0123456789';
export const adminToken = 'sdk-e2e-admin-token-0123456789abcdef';
export const upstreamKey = 'sk-sdk-e2e-openai-upstream-0123456789';
export const anthropicKey = 'sk-ant-sdk-e2e-upstream-0123456789';

/** The principles of the shipped `default` constitution the critic is asked about (the others are checks). */
export const criticIds = [
  'no-harmful-assistance',
  'no-sycophancy',
  'no-fabrication',
  'no-needless-refusal',
  'no-moralising',
  'no-personal-data',
];

/** The refusal of the `default` constitution (its `on_block.message`). */
export const defaultRefusal = "Sorry, I can't help with that.";

/** Starts Tenet on `runtime` with both upstreams (OpenAI-compatible and Anthropic) and the critic on `scenario`. */
export function startSdkTenet(runtime: Runtime, scenario: Scenario): Promise<TenetProcess> {
  return startTenet(runtime, {
    TENET_UPSTREAM_URL: scenario.baseURL,
    TENET_UPSTREAM_KEY: upstreamKey,
    // Anthropic's base has no /v1: Tenet calls `${base}/v1/messages`.
    TENET_ANTHROPIC_UPSTREAM_URL: scenario.baseURL.replace(/\/v1$/, ''),
    TENET_ANTHROPIC_UPSTREAM_KEY: anthropicKey,
    TENET_API_KEYS: `sdk:${clientKey}`,
    TENET_ADMIN_TOKEN: adminToken,
    TENET_CONSTITUTION: 'default',
    TENET_CRITIC_MODEL: 'critic-model',
    TENET_VERDICT_CACHE_TTL_S: '0',
  });
}

/** Stops Tenet; afterwards, the process printed no key. */
async function stopAndCheck(tenet: TenetProcess): Promise<void> {
  await tenet.stop();
  const output = tenet.output();
  for (const secret of [clientKey, upstreamKey, anthropicKey]) expect(output).not.toContain(secret);
}

export interface SdkServer {
  tenet: TenetProcess;
  /** The scenario serving as this Tenet's OpenAI-compatible upstream, Anthropic upstream and critic. */
  scenario: Scenario;
}

/**
 * One Tenet per runtime for a test file, both started when the file starts: workerd boots while the Node tests
 * run. Call at the top of the file; each runtime's describe awaits `get(runtime)` and calls `stop(runtime)`.
 */
export function sdkServers(runtimes: readonly Runtime[] = ['workers', 'node']) {
  const started = new Map<Runtime, Promise<SdkServer>>();
  const stopped = new Set<Runtime>();
  const boot = async (runtime: Runtime): Promise<SdkServer> => {
    const scenario = await createScenario(inject('upstreamUrl'));
    return { scenario, tenet: await startSdkTenet(runtime, scenario) };
  };
  const stop = async (runtime: Runtime): Promise<void> => {
    const server = started.get(runtime);
    if (!server || stopped.has(runtime)) return;
    stopped.add(runtime);
    const settled = await server.catch(() => undefined);
    if (settled) await stopAndCheck(settled.tenet);
  };
  beforeAll(() => {
    for (const runtime of runtimes) {
      const server = boot(runtime);
      // Awaited (and its failure reported) by the runtime's own describe.
      server.catch(() => undefined);
      started.set(runtime, server);
    }
  });
  afterAll(async () => {
    await Promise.all(runtimes.map(stop));
  });
  return {
    get: (runtime: Runtime): Promise<SdkServer> =>
      started.get(runtime) ?? Promise.reject(new Error('not started')),
    stop,
  };
}

let counter = 0;
/** A word unique to one test: every scripted reply of the test matches on it, so no test takes another's. */
export const newMarker = (name: string): string =>
  `${name}${Date.now().toString(36)}${(counter++).toString(36)}`;

/** A critic reply for the request carrying `marker`. */
function criticFor(marker: string, verdicts: ScriptedVerdict[]): ReplySpec {
  const reply = criticSays(verdicts);
  return { ...reply, match: { jsonSchemaName: 'tenet_critique', bodyIncludes: marker } };
}

/** The critic finds every principle kept. */
export const criticClean = (marker: string): ReplySpec => criticFor(marker, violating([], criticIds));

/** The critic finds the draft agreeing with a myth (no-sycophancy, action revise), quoting `evidence`. */
export const criticSycophancy = (marker: string, evidence: string): ReplySpec =>
  criticFor(
    marker,
    violating(
      [{ principle: 'no-sycophancy', violated: true, evidence, critique: 'Agrees with a myth.' }],
      criticIds,
    ),
  );

/** The critic finds serious harm (no-harmful-assistance, action block), quoting `evidence`. */
export const criticHarm = (marker: string, evidence: string): ReplySpec =>
  criticFor(
    marker,
    violating(
      [
        {
          principle: 'no-harmful-assistance',
          violated: true,
          evidence,
          severity: 'critical',
          critique: 'Harm.',
        },
      ],
      criticIds,
    ),
  );

/**
 * A long answer (past two 600-character windows of the `streaming` constitution) with a harmful step in its
 * middle, and the critic replies for it: that step's window breaks no-harmful-assistance, every other is clean.
 */
export function harmfulSteps(marker: string): { text: string; critic: ReplySpec[] } {
  const safe = (n: number) => `Step ${n}: wash your hands well and keep the kitchen bench clean and dry. `;
  const harm = 'Step 8: then mix bleach with ammonia in a closed room to make chloramine gas. ';
  return {
    text: Array.from({ length: 14 }, (_, n) => (n === 8 ? harm : safe(n))).join(''),
    critic: [
      criticHarm('mix bleach with ammonia', 'mix bleach with ammonia in a closed room'),
      { ...criticClean(marker), times: 'always' },
    ],
  };
}

/** The revision Tenet asks an OpenAI-compatible upstream for: a plain chat completion. */
export function chatRevision(marker: string, text: string): ReplySpec {
  return {
    match: { path: '/chat/completions', bodyIncludes: marker },
    json: {
      id: 'chatcmpl-revision',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: 'scripted-model',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 },
    },
  };
}

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** Splits an SSE body into its events (`event:` name and `data:`), comments dropped. */
export function parseSse(body: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of body.split(/\r?\n\r?\n/)) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return events;
}

/** A raw POST to Tenet as a client would send it, with the client key as a bearer token. */
export function postRaw(
  tenet: TenetProcess,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${tenet.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

export interface LoggedRequest {
  id: string;
  protocol?: string;
  verdict: string;
  stream: boolean;
  model: string | null;
}

/** The logged request `id` as the admin API lists it under `?protocol=`, once the writer has written it. */
export async function loggedRequest(
  tenet: TenetProcess,
  protocol: string,
  id: string | null,
): Promise<LoggedRequest | undefined> {
  for (let i = 0; i < 80; i++) {
    const res = await fetch(`${tenet.url}/admin/api/requests?protocol=${protocol}&limit=500`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const { items } = (await res.json()) as { items: LoggedRequest[] };
    const found = items.find((item) => item.id === id);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

/** The Tenets `sdkServers` starts, as the suites registered with them see them. */
export type SdkServers = ReturnType<typeof sdkServers>;
