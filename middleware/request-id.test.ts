// Request ids: each request its own, in time order; the record is keyed by it.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { newRequestId, requestIds } from './request-id.ts';

describe('requestIds', () => {
  it('gives every request its own id, req_ and 32 hex digits, in the order the requests came', async () => {
    const app = new Hono().use(requestIds()).get('/', (c) => c.text('ok'));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await app.request('/')).headers.get('x-tenet-request-id') ?? '');
      await new Promise((r) => setTimeout(r, 2));
    }
    for (const id of ids) expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(3);
    expect([...ids].sort()).toEqual(ids);
  });

  it('orders ids by time, and keeps ids of the same millisecond apart', () => {
    const t = Date.UTC(2026, 10, 30);
    expect(newRequestId(t) < newRequestId(t + 1)).toBe(true);
    expect(newRequestId(t + 1) < newRequestId(t + 3_600_000)).toBe(true);
    const same = Array.from({ length: 100 }, () => newRequestId(t));
    expect(new Set(same).size).toBe(100);
    expect(same.every((id) => id.startsWith(newRequestId(t).slice(0, 16)))).toBe(true);
  });
});
