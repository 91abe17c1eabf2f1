// The admin API tests' shared setup: the known records in D1, an app with an admin token, and a recording client.
import { env } from 'cloudflare:test';
import { expect } from 'vitest';
import { createD1Store } from '../../src/adapters/d1-store.ts';
import type { RequestRecord } from '../../src/core/log-record.ts';
import { allRecords, windowEnd, windowStart } from '../fixtures/admin-records.ts';
import { clientKey, type Harness, harness, upstreamKey } from './harness.ts';

export const adminToken = 'admin-token-for-tests-0123456789';
export const inWindow = `from=${windowStart}&to=${windowEnd}`;

export type Reply = Awaited<ReturnType<AdminTest['call']>>;

export interface AdminTest {
  t: Harness;
  call(
    path: string,
    init?: RequestInit,
    on?: Harness,
  ): Promise<{ status: number; headers: Headers; text: string; json: <T = unknown>() => T }>;
  get<T>(path: string): Promise<T>;
  review(id: string, body: unknown): Promise<Reply>;
  /** Checks that no body the API sent contains a configured secret (upstream key, client key, admin token). */
  expectNoSecrets(): void;
}

export const asAdmin = (init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { authorization: `Bearer ${adminToken}`, ...(init.headers as Record<string, string>) },
});

export const errorOf = (res: { json: <T>() => T }) =>
  res.json<{ error: { code: string; param: string | null; message: string } }>().error;

export const violationIds = (of: RequestRecord[]) => of.flatMap((r) => r.violations.map((v) => v.id)).sort();

/** Writes the known records (idempotent) and starts a Worker with an admin token. */
export async function adminTest(): Promise<AdminTest> {
  await createD1Store((env as unknown as { DB: D1Database }).DB).write(allRecords);
  const t = await harness({ TENET_ADMIN_TOKEN: adminToken, TENET_CRITIC_MODEL: 'critic-model' });
  const bodies: string[] = [];
  const call: AdminTest['call'] = async (path, init = {}, on = t) => {
    const res = await on.fetch(`/admin/api${path}`, init);
    // Decoded by hand: workerd warns when .text() reads a body whose type is not text/* (x-ndjson, csv).
    const text = new TextDecoder().decode(await res.arrayBuffer());
    bodies.push(text);
    return { status: res.status, headers: res.headers, text, json: <T = unknown>() => JSON.parse(text) as T };
  };
  return {
    t,
    call,
    async get<T>(path: string) {
      const res = await call(path, asAdmin());
      expect(res.status, res.text).toBe(200);
      return res.json<T>();
    },
    review: (id, body) =>
      call(
        `/violations/${encodeURIComponent(id)}/review`,
        asAdmin({
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }),
      ),
    expectNoSecrets() {
      expect(bodies.length).toBeGreaterThan(10);
      for (const body of bodies) {
        for (const secret of [adminToken, clientKey, upstreamKey]) expect(body).not.toContain(secret);
      }
    },
  };
}

/** RFC 4180, enough for the tests: quoted fields with doubled quotes and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted && ch === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
    } else if (!quoted && ch === ',') {
      row.push(field);
      field = '';
    } else if (!quoted && ch === '\r' && text[i + 1] === '\n') {
      rows.push([...row, field]);
      row = [];
      field = '';
      i++;
    } else {
      field += ch;
    }
  }
  return rows;
}
