// Tenet's own upstream key missing or refused, or an upstream offline: the client hears what to fix, and each runtime logs one clear line.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTenet, type TenetProcess } from '../tenet-process.ts';
import { createScenario, type Scenario } from '../upstream/client.ts';
import { apiError } from '../upstream/script.ts';

const clientKey = 'first-run-client-key-0123456789';
// What api.openai.com answers a request without a key.
const noKey =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/API-keys.";

/** The error lines Tenet logged for request `id` (they come after the response: polled for up to 5 s). */
async function errorLines(tenet: TenetProcess, id: string): Promise<string[]> {
  let lines: string[] = [];
  for (let i = 0; i < 50 && lines.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    lines = tenet
      .output()
      .split('\n')
      .filter((line) => line.includes(id) && line.includes('"level":"error"'));
  }
  return lines;
}

// One Tenet per runtime as a first run often has it (a Tenet start costs seconds, workerd's most of all): the
// OpenAI-compatible upstream set without TENET_UPSTREAM_KEY, and the Anthropic upstream offline.
describe.each(['node', 'workers'] as const)(
  'a first run with a key missing and an upstream offline, on %s',
  (runtime) => {
    let scenario: Scenario;
    let tenet: TenetProcess;

    beforeAll(async () => {
      scenario = await createScenario(inject('upstreamUrl'));
      tenet = await startTenet(runtime, {
        TENET_UPSTREAM_URL: scenario.baseURL,
        // .invalid never resolves: the DNS lookup fails, as offline.
        TENET_ANTHROPIC_UPSTREAM_URL: 'http://tenet-upstream.invalid',
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

      const lines = await errorLines(tenet, res.headers.get('x-tenet-request-id') ?? '');
      expect(lines, tenet.output()).toHaveLength(1);
      expect(lines[0]).toContain('upstream_auth_failed');
      expect(tenet.output()).not.toMatch(/Uncaught|internal error/);
    });

    it('names the offline upstream host in the 502, and logs the failure once with what failed', async () => {
      const res = await fetch(`${tenet.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': clientKey,
          'anthropic-version': '2023-06-01',
          'content-type': 'application/json',
          'x-tenet-constitution': 'passthrough',
        },
        body: JSON.stringify({
          model: 'claude-test',
          max_tokens: 50,
          messages: [{ role: 'user', content: 'Hello' }],
        }),
      });
      const body = (await res.json()) as { type: string; error: { type: string; message: string } };
      expect(res.status).toBe(502);
      expect(body.type).toBe('error');
      expect(body.error.message).toContain('tenet-upstream.invalid');

      const lines = await errorLines(tenet, res.headers.get('x-tenet-request-id') ?? '');
      expect(lines, tenet.output()).toHaveLength(1);
      expect(lines[0]).toContain('upstream_unreachable');
      expect(lines[0]).toContain('tenet-upstream.invalid');
      // workerd's own dump of the failed lookup (a C++ message and a stack of addresses) is folded into that line.
      expect(tenet.output()).not.toMatch(/e = kj\/|stack: \//);
    });
  },
);
