// The admin API inside workerd over a real D1 log: auth on every route, filters, pagination, one request in full.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiffSegment } from '../../src/core/diff.ts';
import type { RequestRecord } from '../../src/core/log-record.ts';
import type { Page, RequestRow, ViolationRow } from '../../src/core/log-store.ts';
import { allRecords, hashes, records } from '../fixtures/admin-records.ts';
import {
  type AdminTest,
  adminTest,
  adminToken,
  asAdmin,
  errorOf,
  inWindow,
  violationIds,
} from './admin-test.ts';
import { clientKey, harness, sessionCookie } from './harness.ts';

let api: AdminTest;
beforeAll(async () => {
  api = await adminTest();
});
afterAll(() => api.expectNoSecrets());
const call: AdminTest['call'] = (...args) => api.call(...args);
const get = <T>(path: string) => api.get<T>(path);

const routes: Array<[string, string, unknown?]> = [
  ['GET', '/violations'],
  ['GET', '/requests'],
  ['GET', `/requests/${records.revised.id}`],
  ['POST', '/violations/no-such-violation/review', { label: 'confirmed' }],
  ['GET', '/stats'],
  ['GET', '/export?format=csv'],
  ['GET', '/constitutions'],
];

describe('admin auth on every route', () => {
  it.each(routes)(
    '%s %s: closed without a token, 403 for client keys, 401 for wrong tokens',
    async (method, path, body) => {
      const init = (headers: Record<string, string>): RequestInit => ({
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const closed = await harness({ TENET_CRITIC_MODEL: 'critic-model' });
      const none = await call(path, init({ authorization: `Bearer ${adminToken}` }), closed);
      expect([none.status, errorOf(none).code]).toEqual([403, 'admin_closed']);

      const client = await call(path, init({ authorization: `Bearer ${clientKey}` }));
      expect([client.status, errorOf(client).code]).toEqual([403, 'forbidden']);
      for (const headers of [
        {},
        { authorization: 'Bearer wrong-token-0123456789' },
        { cookie: 'tenet_admin=v1.9999999999999.forged' },
      ]) {
        const wrong = await call(path, init(headers));
        expect([wrong.status, errorOf(wrong).code]).toEqual([401, 'invalid_admin_token']);
      }
    },
  );

  it.each(routes)(
    '%s %s: open to the admin token and to a valid session cookie',
    async (method, path, body) => {
      const cookie = await sessionCookie(api.t, adminToken);
      const expected = method === 'POST' ? 404 : 200; // the POST names no violation: past auth, not found
      for (const auth of [{ authorization: `Bearer ${adminToken}` }, { cookie }]) {
        const res = await call(path, {
          method,
          headers: { 'content-type': 'application/json', ...auth },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        expect(res.status, res.text).toBe(expected);
      }
    },
  );
});

describe('listings', () => {
  const violationsWhere = async (query: string) =>
    (await get<Page<ViolationRow>>(`/violations?${inWindow}&${query}`)).items.map((v) => v.id).sort();

  it('filters violations by principle, severity, verdict, model, constitution, version, text and time', async () => {
    const { revised, revisedTwice, flagged, blocked, noContent, inputBlocked } = records;
    const refund = revisedTwice.violations
      .filter((v) => v.principle === 'no-refund-promises')
      .map((v) => v.id);
    expect(await violationsWhere('principle=no-refund-promises')).toEqual(refund.sort());
    expect(await violationsWhere('severity=critical')).toEqual(violationIds([blocked, inputBlocked]));
    expect(await violationsWhere('verdict=flagged')).toEqual(violationIds([flagged]));
    expect(await violationsWhere('model=llama-3.1-8b')).toEqual(violationIds([flagged, inputBlocked]));
    expect(await violationsWhere('constitution=support-bot')).toEqual(violationIds([revisedTwice, blocked]));
    expect(await violationsWhere(`version=support-bot@${hashes.supportOld}`)).toEqual(
      violationIds([blocked]),
    );
    expect(await violationsWhere('q=refund')).toEqual(refund.sort());
    expect(await violationsWhere('principle=no-sycophancy')).toEqual(violationIds([revised, noContent]));
    const secondDay = await get<Page<ViolationRow>>('/violations?from=2031-03-02&to=2031-03-03T00:00:00Z');
    expect(secondDay.items.map((v) => v.id).sort()).toEqual(
      violationIds([revisedTwice, blocked, inputBlocked]),
    );
  });

  it('filters requests by verdict, principle and text in the prompt or answers', async () => {
    const ids = async (query: string) =>
      (await get<Page<RequestRow>>(`/requests?${inWindow}&${query}`)).items.map((r) => r.id).sort();
    const { blocked, criticFailure, inputBlocked, revised, noContent } = records;
    expect(await ids('verdict=blocked')).toEqual([blocked.id, criticFailure.id, inputBlocked.id].sort());
    expect(await ids('principle=no-sycophancy')).toEqual([revised.id, noContent.id].sort());
    expect(await ids('q=Great%20Wall')).toEqual([revised.id]);
  });

  it('walks every page newest first, without duplicates or gaps', async () => {
    for (const [path, limit, expected] of [
      ['/requests', 7, allRecords.map((r) => r.id)],
      ['/violations', 3, allRecords.flatMap((r) => r.violations.map((v) => v.id))],
    ] as const) {
      const seen: Array<{ id: string; time: number }> = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Page<{ id: string; time: number }> = await get(
          `${path}?${inWindow}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items);
        cursor = page.next;
        pages++;
      } while (cursor && pages < 100);
      expect(seen.map((r) => r.id).sort()).toEqual([...expected].sort());
      expect(pages).toBe(Math.ceil(expected.length / limit));
      for (let i = 1; i < seen.length; i++) {
        expect(seen[i - 1]?.time ?? 0).toBeGreaterThanOrEqual(seen[i]?.time ?? 0);
      }
    }
  });

  it('answers bad parameters with a 400 that names the parameter', async () => {
    for (const [query, param] of [
      ['severity=high', 'severity'],
      ['limit=0', 'limit'],
      ['limit=ten', 'limit'],
      ['from=yesterday', 'from'],
      ['verdict=maybe', 'verdict'],
      ['principal=tone', 'principal'],
      ['cursor=not-a-cursor', 'cursor'],
    ]) {
      const res = await call(`/violations?${query}`, asAdmin());
      expect(res.status, query).toBe(400);
      expect(errorOf(res).param).toBe(param);
      expect(errorOf(res).message).toContain(param);
    }
  });
});

describe('one request in full', () => {
  it('has its row, every round, its violations and the draft → final diff', async () => {
    const { revisedTwice } = records;
    const detail = await get<{
      request: RequestRow;
      record: RequestRecord;
      violations: ViolationRow[];
      diff: DiffSegment[];
    }>(`/requests/${revisedTwice.id}`);
    expect(detail.request).toMatchObject({
      id: revisedTwice.id,
      verdict: 'revised',
      revisions: 2,
      violationCount: 3,
    });
    expect(detail.record).toEqual(revisedTwice);
    expect(detail.violations.map((v) => v.id).sort()).toEqual(violationIds([revisedTwice]));
    const side = (op: 'add' | 'del') =>
      detail.diff
        .filter((s) => s.op === 'same' || s.op === op)
        .map((s) => s.text)
        .join('');
    expect(side('del')).toBe(revisedTwice.draft);
    expect(side('add')).toBe(revisedTwice.final);
    expect(detail.diff.some((s) => s.op === 'del' && s.text.includes('approved a full'))).toBe(true);
  });

  it('has no diff when no content was logged, and 404 for an unknown id', async () => {
    expect((await get<{ diff: unknown }>(`/requests/${records.noContent.id}`)).diff).toBeNull();
    const missing = await call('/requests/req_unknown', asAdmin());
    expect([missing.status, errorOf(missing).code]).toEqual([404, 'not_found']);
  });
});
