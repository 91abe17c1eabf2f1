// Drives the real Worker entry inside workerd against a fresh scripted-upstream scenario per test.
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { inject } from 'vitest';
import { buildConstitutionSet } from '../../src/core/constitution/set.ts';
import worker, { createWorker } from '../../src/entry/worker.ts';
import { createScenario, type Scenario } from '../upstream/client.ts';

export const upstreamKey = 'sk-upstream-secret-0123456789abcdef';
export const clientKey = 'tenet-client-key-0123456789';

export interface Harness {
  scenario: Scenario;
  /** Calls Tenet's Worker with a path like `/v1/chat/completions`. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Posts JSON to /v1/chat/completions with the client key. */
  chat(body: unknown, headers?: Record<string, string>): Promise<Response>;
}

export interface HarnessOptions {
  /** TENET_* vars overriding or adding to the defaults. */
  settings?: Record<string, string>;
  /** Constitution files (name → YAML) to serve instead of the bundled ones. */
  constitutions?: Record<string, string>;
  /** Bindings replacing the Worker's own (e.g. another D1 database as DB). */
  bindings?: Record<string, unknown>;
}

/** A Worker env pointing at a new scenario; `settings` override or add TENET_* vars. */
export async function harness(options: HarnessOptions | Record<string, string> = {}): Promise<Harness> {
  const {
    settings = {},
    constitutions,
    bindings = {},
  } = (
    'settings' in options || 'constitutions' in options || 'bindings' in options
      ? options
      : { settings: options }
  ) as HarnessOptions;
  let handler = worker;
  if (constitutions) {
    const set = await buildConstitutionSet(
      Object.entries(constitutions).map(([name, text]) => ({ file: `${name}.yaml`, text })),
    );
    const errors = set.problems.filter((p) => p.level === 'error');
    if (errors.length > 0) throw new Error(`test constitutions are broken: ${JSON.stringify(errors)}`);
    handler = createWorker([...set.constitutions.values()]);
  }
  const scenario = await createScenario(inject('upstreamUrl'));
  const workerEnv = {
    ...env,
    TENET_UPSTREAM_URL: scenario.baseURL,
    TENET_UPSTREAM_KEY: upstreamKey,
    TENET_API_KEYS: `app:${clientKey}`,
    // Proxy behaviour is tested without principles; constitution tests choose their own.
    TENET_CONSTITUTION: 'passthrough',
    // Records are written by each request (the waitUntil path) unless a test binds the queue itself.
    LOG_QUEUE: undefined,
    ...settings,
    ...bindings,
  };
  const call = async (path: string, init?: RequestInit) => {
    const ctx = createExecutionContext();
    const response = await handler.fetch(new Request(`http://tenet.test${path}`, init), workerEnv, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  };
  return {
    scenario,
    fetch: call,
    chat: (body, headers = {}) =>
      call('/v1/chat/completions', {
        method: 'POST',
        headers: { authorization: `Bearer ${clientKey}`, 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
  };
}

export const hello = { model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }] };

/** Signs in to the dashboard with the admin token as a browser would (same-origin form post): its response. */
export function signIn(t: Harness, adminToken: string): Promise<Response> {
  return t.fetch('/admin/login', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: 'http://tenet.test',
      'sec-fetch-site': 'same-origin',
    },
    body: `token=${adminToken}`,
    redirect: 'manual',
  });
}

/** A signed-in dashboard session's cookie (`tenet_admin=…`), opened through the sign-in form. */
export async function sessionCookie(t: Harness, adminToken: string): Promise<string> {
  const res = await signIn(t, adminToken);
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
  return (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

/** Reads an SSE body to the end and returns its `data:` payloads. */
export async function readSse(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice(6));
}
