// The admin API inside workerd over a real D1 log: reviews moving precision, stats, JSONL/CSV/pairs exports, versions.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/core/log-record.ts';
import type { Page, Stats, ViolationRow } from '../../src/core/log-store.ts';
import { allRecords, hashes, records, windowStart } from '../fixtures/admin-records.ts';
import {
  type AdminTest,
  adminTest,
  asAdmin,
  errorOf,
  inWindow,
  parseCsv,
  violationIds,
} from './admin-test.ts';

let api: AdminTest;
beforeAll(async () => {
  api = await adminTest();
});
afterAll(() => api.expectNoSecrets());
const call: AdminTest['call'] = (...args) => api.call(...args);
const get = <T>(path: string) => api.get<T>(path);
const review = (id: string, body: unknown) => api.review(id, body);

describe('reviews, stats and exports', () => {
  it('stats count the known data, and a review moves the principle precision', async () => {
    const before = await get<Stats>(`/stats?${inWindow}`);
    expect(before.requests).toBe(allRecords.length);
    expect(before.verdicts).toEqual({ pass: 38, revised: 3, flagged: 1, blocked: 3, error: 0 });
    expect(before.criticErrorRate).toBeCloseTo(1 / allRecords.length);
    expect(before.revisionSuccessRate).toBe(1);
    const refundBefore = before.principles.find((p) => p.principle === 'no-refund-promises');
    expect(refundBefore).toMatchObject({ violations: 2, unreviewed: 2, precision: null });
    expect(new Set(before.series.map((s) => s.bucket))).toEqual(
      new Set([windowStart, windowStart + 86_400_000]),
    );
    const hourly = await get<Stats>(`/stats?${inWindow}&bucket=hour`);
    expect(new Set(hourly.series.map((s) => s.bucket)).size).toBeGreaterThan(2);

    const [first, , third] = records.revisedTwice.violations;
    expect((await review(first?.id ?? '', { label: 'confirmed', note: 'promised a refund' })).json()).toEqual(
      { ok: true },
    );
    expect((await review(third?.id ?? '', { label: 'false_positive', note: 'only asked' })).status).toBe(200);
    const after = await get<Stats>(`/stats?${inWindow}`);
    expect(after.principles.find((p) => p.principle === 'no-refund-promises')).toMatchObject({
      violations: 2,
      confirmed: 1,
      falsePositive: 1,
      unreviewed: 0,
      precision: 0.5,
    });
    const labelled = await get<Page<ViolationRow>>(`/violations?${inWindow}&review=confirmed`);
    expect(labelled.items.map((v) => [v.id, v.review?.note])).toEqual([[first?.id, 'promised a refund']]);

    // The pairs export carries the labels: one pair per revised choice whose texts were logged.
    const pairs = (await call(`/export?format=pairs&${inWindow}`, asAdmin())).text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(pairs).toEqual([
      {
        prompt: records.revised.prompt,
        chosen: records.revised.final,
        rejected: records.revised.draft,
        principles: ['no-sycophancy'],
        labels: [],
        request_id: records.revised.id,
        choice: 0,
        constitution: `default@${hashes.default}`,
      },
      {
        prompt: records.revisedTwice.prompt,
        chosen: records.revisedTwice.final,
        rejected: records.revisedTwice.draft,
        principles: ['no-refund-promises', 'no-moralising'],
        labels: [
          {
            violation: first?.id,
            principle: 'no-refund-promises',
            label: 'confirmed',
            note: 'promised a refund',
          },
          {
            violation: third?.id,
            principle: 'no-refund-promises',
            label: 'false_positive',
            note: 'only asked',
          },
        ],
        request_id: records.revisedTwice.id,
        choice: 0,
        constitution: `support-bot@${hashes.support}`,
      },
    ]);
  });

  it('refuses a review of an unknown violation, a bad label and a body that is not JSON', async () => {
    expect((await review('nope', { label: 'confirmed' })).status).toBe(404);
    const bad = await review(records.revised.violations[0]?.id ?? '', { label: 'maybe' });
    expect([bad.status, errorOf(bad).param]).toEqual([400, 'label']);
    const notJson = await call(
      `/violations/${records.revised.violations[0]?.id}/review`,
      asAdmin({ method: 'POST', body: '{label' }),
    );
    expect([notJson.status, errorOf(notJson).code]).toEqual([400, 'invalid_json']);
  });

  it('exports requests and violations as JSONL and CSV, filtered, with download headers', async () => {
    const jsonl = await call(`/export?format=jsonl&kind=requests&${inWindow}`, asAdmin());
    expect(jsonl.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(jsonl.headers.get('content-disposition')).toMatch(
      /^attachment; filename="tenet-requests-.*\.jsonl"$/,
    );
    const exported = jsonl.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RequestRecord);
    expect(exported).toEqual([...allRecords].sort((a, b) => a.time - b.time || a.id.localeCompare(b.id)));

    const violations = await call(`/export?format=jsonl&${inWindow}&principle=no-sycophancy`, asAdmin());
    expect(
      violations.text
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as ViolationRow).id)
        .sort(),
    ).toEqual(violationIds([records.revised, records.noContent]));

    const csv = await call(`/export?format=csv&${inWindow}`, asAdmin());
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...rows] = parseCsv(csv.text);
    expect(header?.slice(0, 3)).toEqual(['id', 'request_id', 'time']);
    expect(rows).toHaveLength(allRecords.flatMap((r) => r.violations).length);
    const tone = rows.find((r) => r[header?.indexOf('principle') ?? -1] === 'tone');
    expect(tone?.[header?.indexOf('critique') ?? -1]).toBe('Condescending, "obviously".');

    const requestsCsv = parseCsv(
      (await call(`/export?format=csv&kind=requests&${inWindow}`, asAdmin())).text,
    );
    expect(requestsCsv).toHaveLength(allRecords.length + 1);
    const draftAt = requestsCsv[0]?.indexOf('draft') ?? -1;
    expect(requestsCsv.find((r) => r[0] === records.revisedTwice.id)?.[draftAt]).toBe(
      records.revisedTwice.draft,
    );
    const protocolAt = requestsCsv[0]?.indexOf('protocol') ?? -1;
    expect(protocolAt).toBeGreaterThan(0);
    expect(new Set(requestsCsv.slice(1).map((r) => r[protocolAt]))).toEqual(new Set(['chat']));

    const badFormat = await call('/export?format=xml', asAdmin());
    expect([badFormat.status, errorOf(badFormat).param]).toEqual([400, 'format']);
  });

  it('lists the constitutions in use with their versions, and the ones loaded now', async () => {
    type Item = { name: string; hash: string; requests: number; loaded: boolean };
    const { items } = await get<{ items: Item[] }>('/constitutions');
    const find = (name: string, hash: string) => items.find((i) => i.name === name && i.hash === hash);
    expect(find('support-bot', hashes.supportOld)).toMatchObject({ requests: 1, loaded: false });
    expect(find('support-bot', hashes.support)?.requests).toBe(1);
    expect(find('default', hashes.default)?.requests).toBe(allRecords.length - 2);
    const health = await (await api.t.fetch('/health')).json<{ constitutions: string[] }>();
    for (const version of health.constitutions) {
      const [name = '', hash = ''] = version.split('@');
      expect(find(name, hash)?.loaded).toBe(true);
    }
  });
});
