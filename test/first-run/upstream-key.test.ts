// Tenet's own upstream key missing or refused, or the upstream offline: the client hears what to fix, and each runtime logs one clear line.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type Scenario } from '../upstream/client.ts';
import { apiError } from '../upstream/script.ts';

const clientKey = 'first-run-client-key-0123456789';
// What api.openai.com answers a request without a key.
const noKey =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/API-keys.";

describe.each(['node', 'workers'] as const)('no TENET_UPSTREAM_KEY, on %s', (runtime) => {
  let scenario: Scenario;
  let tenet: TenetProcess;

  beforeAll(async () => {
    scenario = await createScenario(inject('upstreamUrl'));
    tenet = await startTenet(runtime, {
      TENET_UPSTREAM_URL: scenario.baseURL,
      TENET_API_KEYS: `app:${clientKey}`,
    });
  });
  afterAll(async () => {
    await tenet?.stop();
  });

  it("tells the client Tenet's key was refused and which setting to fill in, and logs it once", async () => {
    await scenario.script([
      { ...apiError(401, noKey, { type: 'invalid_request_error', code: null }), times: 'always' },
    ]);
    const res = await fetch(`${tenet.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${clientKey}`,
        'content-type': 'application/json',
        'x-tenet-constitution': 'passthrough',
      },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    const { error } = (await res.json()) as { error: { code: string; message: string; type: string } };
    // Not a 401: the client's key was fine, and an SDK would blame it (AuthenticationError).
    expect(res.status).toBe(502);
    expect(res.headers.get('x-should-retry')).toBe('false');
    expect(error.code).toBe('upstream_auth_failed');
    expect(error.message).toMatch(/refused Tenet's key.*set TENET_UPSTREAM_KEY/);
    expect(error.message).not.toContain('[redacted]');

    const id = res.headers.get('x-tenet-request-id') ?? '';
    let lines: string[] = [];
    for (let i = 0; i < 50 && lines.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      lines = tenet
        .output()
        .split('\n')
        .filter((line) => line.includes(id) && line.includes('"level":"error"'));
    }
    expect(lines, tenet.output()).toHaveLength(1);
    expect(lines[0]).toContain('upstream_auth_failed');
    expect(tenet.output()).not.toMatch(/Uncaught|internal error/);
  });
});

describe.each(['node', 'workers'] as const)('an upstream that cannot be reached, on %s', (runtime) => {
  let tenet: TenetProcess;

  beforeAll(async () => {
    // .invalid never resolves: the DNS lookup fails, as offline.
    tenet = await startTenet(runtime, {
      TENET_UPSTREAM_URL: 'http://tenet-upstream.invalid/v1',
      TENET_API_KEYS: `app:${clientKey}`,
    });
  });
  afterAll(async () => {
    await tenet?.stop();
  });

  it('names the upstream host in the 502, and logs the failure once with what failed', async () => {
    const res = await fetch(`${tenet.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${clientKey}`,
        'content-type': 'application/json',
        'x-tenet-constitution': 'passthrough',
      },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(502);
    expect(error.code).toBe('upstream_unreachable');
    expect(error.message).toContain('tenet-upstream.invalid');

    const id = res.headers.get('x-tenet-request-id') ?? '';
    let lines: string[] = [];
    for (let i = 0; i < 50 && lines.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      lines = tenet
        .output()
        .split('\n')
        .filter((line) => line.includes(id) && line.includes('"level":"error"'));
    }
    expect(lines, tenet.output()).toHaveLength(1);
    expect(lines[0]).toContain('tenet-upstream.invalid');
    // workerd's own dump of the failed lookup (a C++ message and a stack of addresses) is folded into that line.
    expect(tenet.output()).not.toMatch(/e = kj\/|stack: \//);
  });
});
