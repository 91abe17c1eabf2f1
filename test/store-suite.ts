// The store test suite both backends run (SQLite on Node, D1 in workerd): same data, same answers.
import { describe, expect, it } from 'vitest';
import { createLogWriter } from '../src/adapters/log-writer.ts';
import type { RequestRecord } from '../src/core/log-record.ts';
import type { LogStore } from '../src/core/log-store.ts';
import { createLogger } from '../src/core/logger.ts';
import { sampleRecords } from './fixtures/log-records.ts';
import { testRun, testRunBody } from './fixtures/test-runs.ts';

const quietLogger = createLogger((s) => s, { sink: () => {} });

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export function storeSuite(name: string, open: () => Promise<LogStore>) {
  describe(`${name} log store`, () => {
    const fresh = async () => {
      const store = await open();
      const tag = `suite-${crypto.randomUUID().slice(0, 8)}`;
      const records = sampleRecords(tag);
      await store.write(records);
      return { store, tag, records };
    };

    it('keeps a whole record and returns it in full, with its violations', async () => {
      const { store, records } = await fresh();
      const revised = records[1]!;
      const detail = await store.getRequest(revised.id);
      expect(detail?.record).toEqual(revised);
      expect(detail?.row).toMatchObject({
        verdict: 'revised',
        revisions: 1,
        violationCount: 1,
        keyId: 'app',
      });
      expect(detail?.violations.map((v) => v.principle)).toEqual(['no-sycophancy']);
      expect(await store.getRequest('no-such-id')).toBeUndefined();
    });

    it('keeps any text exactly: quotes, backslashes, placeholders, statement separators, unicode', async () => {
      const { store, tag, records } = await fresh();
      const tricky = `O'Brien said "?" \\' $1 ?; DROP TABLE requests; -- \u00e9\u{1F600} E'\\x41'`;
      const rec: RequestRecord = { ...records[1]!, id: `${tag}-tricky`, prompt: tricky, final: `${tricky}?` };
      rec.violations = rec.violations.map((v) => ({ ...v, id: `${rec.id}:0:0:0`, evidence: tricky }));
      await store.write([rec]);
      expect((await store.getRequest(rec.id))?.record).toEqual(rec);
      expect((await store.listViolations({ constitution: tag, q: "O'Brien" })).items[0]?.evidence).toBe(
        tricky,
      );
    });

    it('writes a record once, however often it is written', async () => {
      const { store, tag, records } = await fresh();
      await store.write(records);
      await store.write([records[3]!]);
      expect((await store.listRequests({ constitution: tag, limit: 100 })).items).toHaveLength(5);
      expect((await store.listViolations({ constitution: tag, limit: 100 })).items).toHaveLength(4);
    });

    it('filters violations by principle, severity, verdict, version, time and text', async () => {
      const { store, tag, records } = await fresh();
      const ids = async (f: Parameters<LogStore['listViolations']>[0]) =>
        (await store.listViolations({ constitution: tag, ...f })).items.map((v) => v.principle);
      expect(await ids({ principle: 'tone' })).toEqual(['tone']);
      expect(await ids({ severity: 'minor' })).toEqual(['urgent-input', 'tone']);
      expect(await ids({ verdict: 'blocked' })).toEqual(['no-keys', 'urgent-input']);
      expect(await ids({ version: `${tag}@aaaaaaaaaaaa` })).toEqual(['tone', 'no-sycophancy']);
      expect(await ids({ from: records[2]!.time, to: records[3]!.time })).toEqual(['tone']);
      expect(await ids({ q: 'myth' })).toEqual(['no-sycophancy']);
      expect(await ids({ q: '100%' })).toEqual([]);
      expect(await ids({ model: 'gpt-b' })).toEqual(['no-keys', 'urgent-input', 'no-sycophancy']);
    });

    it('searches text as a substring: inside words, in any case, short terms, quotes and search operators', async () => {
      const { store, tag, records } = await fresh();
      const ids = async (q: string) =>
        (await store.listViolations({ constitution: tag, q })).items.map((v) => v.principle);
      const requests = async (q: string) =>
        (await store.listRequests({ constitution: tag, q })).items.map((r) => r.id).length;
      expect(await ids('ISIBLE FROM')).toEqual(['no-sycophancy']);
      expect(await ids('ular my')).toEqual(['no-sycophancy']);
      expect(await ids('Ug')).toEqual(['tone']);
      expect(await ids('"Ugh" OR myth')).toEqual([]);
      expect(await ids('fine" OR "myth')).toEqual([]);
      expect(await ids('dismissive*')).toEqual([]);
      expect(await requests('far too narrow')).toBe(1);
      expect(await requests('RAFT 0')).toBe(1);
      const mentions = (term: string) =>
        records.filter((r) => [r.prompt, r.draft, r.final].some((t) => t?.toLowerCase().includes(term)))
          .length;
      expect(mentions('draft')).toBeGreaterThan(1);
      expect(await requests('DRAFT')).toBe(mentions('draft'));
      expect(
        (await store.stats({ constitution: tag, q: 'popular myth' })).principles.map((p) => p.principle),
      ).toEqual(['no-sycophancy']);
    });

    it('pages violations by review label newest first, across pages, with the other filters', async () => {
      const { store, tag, records } = await fresh();
      const all = records.flatMap((r) => r.violations.map((v) => ({ id: v.id, time: r.time })));
      for (const v of all) await store.review(v.id, 'confirmed', '');
      await store.review(all[1]!.id, 'false_positive', 'changed my mind');
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await store.listViolations({
          constitution: tag,
          review: 'confirmed',
          limit: 1,
          ...(cursor ? { cursor } : {}),
        });
        seen.push(...page.items.map((v) => v.id));
        if (!page.next) break;
        cursor = page.next;
      }
      const confirmed = all.filter((_, i) => i !== 1);
      expect(seen).toEqual(
        [...confirmed]
          .sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
          .map((v) => v.id),
      );
      const wrong = await store.listViolations({ constitution: tag, review: 'false_positive' });
      expect(wrong.items.map((v) => [v.id, v.review?.note])).toEqual([[all[1]!.id, 'changed my mind']]);
      expect(
        (await store.listViolations({ constitution: tag, review: 'confirmed', severity: 'critical' })).items,
      ).toHaveLength(1);
    });

    it('filters requests, and pages through them newest first with no gaps or repeats', async () => {
      const { store, tag } = await fresh();
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await store.listRequests({ constitution: tag, limit: 2, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((r) => r.id));
        if (!page.next) break;
        cursor = page.next;
      }
      expect(seen).toEqual([`${tag}-4`, `${tag}-3`, `${tag}-2`, `${tag}-1`, `${tag}-0`]);
      const blocked = await store.listRequests({ constitution: tag, verdict: 'blocked' });
      expect(blocked.items.map((r) => r.id)).toEqual([`${tag}-4`, `${tag}-3`]);
      const byPrinciple = await store.listRequests({ constitution: tag, principle: 'no-sycophancy' });
      expect(byPrinciple.items.map((r) => r.id)).toEqual([`${tag}-1`]);
      expect((await store.listRequests({ constitution: tag, q: 'Great Wall' })).items).toHaveLength(1);
      await expect(store.listRequests({ cursor: 'not-a-cursor' })).rejects.toThrow(/cursor/);
    });

    it('turns reviews into per-principle precision and counts the unreviewed', async () => {
      const { store, tag, records } = await fresh();
      const before = await store.stats({ constitution: tag });
      expect(before.principles.find((p) => p.principle === 'tone')).toMatchObject({
        unreviewed: 1,
        precision: null,
      });
      expect(
        await store.review(records[2]!.violations[0]!.id, 'false_positive', 'It was polite enough.'),
      ).toBe(true);
      expect(await store.review(records[1]!.violations[0]!.id, 'confirmed', '')).toBe(true);
      expect(await store.review('missing', 'confirmed', '')).toBe(false);
      const after = await store.stats({ constitution: tag });
      expect(after.principles.find((p) => p.principle === 'tone')).toMatchObject({
        falsePositive: 1,
        unreviewed: 0,
        precision: 0,
      });
      expect(after.principles.find((p) => p.principle === 'no-sycophancy')?.precision).toBe(1);
      // The latest label wins.
      await store.review(records[2]!.violations[0]!.id, 'confirmed', 'On second thought.');
      expect(
        (await store.stats({ constitution: tag })).principles.find((p) => p.principle === 'tone')?.precision,
      ).toBe(1);
      const unreviewed = await store.listViolations({ constitution: tag, review: 'unreviewed' });
      expect(unreviewed.items.map((v) => v.principle).sort()).toEqual(['no-keys', 'urgent-input']);
      const detail = await store.getRequest(records[2]!.id);
      expect(detail?.violations[0]?.review).toMatchObject({ label: 'confirmed', note: 'On second thought.' });
    });

    it('computes stats from known data', async () => {
      const { store, tag, records } = await fresh();
      const stats = await store.stats({ constitution: tag, bucket: 'hour' });
      expect(stats.requests).toBe(5);
      expect(stats.verdicts).toEqual({ pass: 1, revised: 1, flagged: 1, blocked: 2, error: 0 });
      expect(stats.revisionSuccessRate).toBe(1);
      expect(stats.criticErrorRate).toBe(0.2);
      expect(stats.latency).toEqual({ p50: 300, p95: 500 });
      expect(stats.tokens.model).toBe(50 * 4 + 270);
      expect(stats.tokens.critic).toBe(340 * 2 + 680 + 340);
      expect(stats.series).toContainEqual({ bucket: records[2]!.time, principle: 'tone', count: 1 });
      const daily = await store.stats({ constitution: tag, bucket: 'day' });
      expect(daily.series.reduce((n, s) => n + s.count, 0)).toBe(4);
    });

    it('answers stats from rollups exactly as from the rows: whole hours and days, partial hours, retried writes, a purge', async () => {
      const store = await open();
      const tag = `rollup-${crypto.randomUUID().slice(0, 8)}`;
      // 22:20 to 02:20: partial hours at both ends and a day boundary between them (long before any other test's rows).
      const records = sampleRecords(tag, Date.UTC(1999, 2, 3, 22, 20));
      await store.write(records);
      await store.write(records.slice(1, 3));
      const t = records.map((r) => r.time);
      const minute = 60_000;
      // protocol is a filter the rollups do not carry: the same question answered from the rows alone.
      const agree = async (q: Parameters<LogStore['stats']>[0]) => {
        const fromRollups = await store.stats({ constitution: tag, ...q });
        expect(fromRollups).toEqual(await store.stats({ constitution: tag, protocol: 'chat', ...q }));
        return fromRollups;
      };
      expect((await agree({})).requests).toBe(5);
      expect((await agree({ bucket: 'hour' })).series).toHaveLength(4);
      expect((await agree({ from: t[0]! + 10 * minute, to: t[4]! - 5 * minute })).requests).toBe(3);
      expect((await agree({ from: t[1]!, to: t[3]! + 1, bucket: 'day' })).requests).toBe(3);
      expect((await agree({ from: t[0]! - 3 * 86_400_000 })).verdicts).toEqual({
        pass: 1,
        revised: 1,
        flagged: 1,
        blocked: 2,
        error: 0,
      });
      expect((await agree({ to: t[2]!, version: `${tag}@aaaaaaaaaaaa` })).requests).toBe(2);
      expect(
        (await agree({ verdict: 'blocked', bucket: 'hour' })).principles.map((p) => p.principle),
      ).toEqual(['no-keys', 'urgent-input']);
      // Labels over a time range alone are counted from the reviews themselves: the same as through the violations.
      await store.review(records[1]!.violations[0]!.id, 'confirmed', '');
      const range = { from: t[0]! - minute, to: t[4]! + minute };
      const labelled = await store.stats(range);
      expect(labelled).toEqual(await store.stats({ ...range, protocol: 'chat' }));
      expect(labelled.principles.find((p) => p.principle === 'no-sycophancy')).toMatchObject({
        confirmed: 1,
      });
      // A purge inside an hour: the rollups of that hour and day are counted again from the rows left.
      await store.purge(t[1]! + minute);
      expect((await agree({})).requests).toBe(3);
      expect((await agree({ bucket: 'hour' })).requests).toBe(3);
    });

    it('keeps a request that failed before its answer (verdict error) with the error the client got', async () => {
      const { store, tag, records } = await fresh();
      const failed: RequestRecord = {
        ...records[0]!,
        id: `${tag}-failed`,
        time: records[4]!.time + 3_600_000,
        verdict: 'error',
        criticModel: null,
        criticTokens: 0,
        modelTokens: 0,
        draft: null,
        final: null,
        draftCall: null,
        reason: 'failed (upstream_timeout, HTTP 504): The upstream model did not answer in time.',
        error: {
          code: 'upstream_timeout',
          status: 504,
          message: 'The upstream model did not answer in time.',
        },
      };
      await store.write([failed]);
      const detail = await store.getRequest(failed.id);
      expect(detail?.record).toEqual(failed);
      expect(detail?.row).toMatchObject({ verdict: 'error', errorCode: 'upstream_timeout' });
      expect((await store.getRequest(records[0]!.id))?.row.errorCode).toBeNull();
      const listed = await store.listRequests({ constitution: tag, verdict: 'error' });
      expect(listed.items.map((r) => r.id)).toEqual([failed.id]);
      const stats = await store.stats({ constitution: tag });
      expect(stats.requests).toBe(6);
      expect(stats.verdicts).toEqual({ pass: 1, revised: 1, flagged: 1, blocked: 2, error: 1 });
    });

    it('exports every matching record and violation, oldest first', async () => {
      const { store, tag, records } = await fresh();
      // Whole records, texts and all (the texts are stored in their columns, the rest in detail).
      expect(await collect(store.exportRequests({ constitution: tag }))).toEqual(records);
      const violations = await collect(store.exportViolations({ constitution: tag, severity: 'critical' }));
      expect(violations.map((v) => v.principle)).toEqual(['no-keys']);
    });

    it('lists the constitution versions in use', async () => {
      const { store, tag } = await fresh();
      const mine = (await store.constitutions()).filter((c) => c.name === tag);
      expect(mine.map((c) => [c.hash, c.requests])).toEqual([
        ['bbbbbbbbbbbb', 2],
        ['aaaaaaaaaaaa', 3],
      ]);
    });

    it('searches the prompt, the draft and a revised final, and forgets what a purge removed', async () => {
      const store = await open();
      const tag = `search-${crypto.randomUUID().slice(0, 8)}`;
      // Long before the other tests' rows: the purge below removes only these.
      const records = sampleRecords(tag, Date.UTC(1997, 5, 1));
      await store.write(records);
      const found = async (q: string) =>
        (await store.listRequests({ constitution: tag, q })).items.map((r) => r.id).sort();
      const violations = async (q: string) =>
        (await store.listViolations({ constitution: tag, q })).items.map((v) => v.id);
      expect(await found('great WALL')).toEqual([`${tag}-1`]); // the prompt
      expect(await found('clearly visible')).toEqual([`${tag}-1`]); // the draft only
      expect(await found('far too narrow')).toEqual([`${tag}-1`]); // the revised final only
      expect(await found('Ugh, fine')).toEqual([`${tag}-2`]); // a final that is its draft
      expect(await found('Refused by')).toEqual([`${tag}-3`, `${tag}-4`]);
      // Every trigram of it is in the revised final, the text itself is not.
      expect(await found('is a myth: it is a myth')).toEqual([]);
      expect(await violations('popular myth')).toEqual([records[1]!.violations[0]!.id]);

      expect(await store.purge(records[2]!.time)).toBeGreaterThanOrEqual(2);
      expect(await found('great wall')).toEqual([]);
      expect(await found('far too narrow')).toEqual([]);
      expect(await found('Ugh, fine')).toEqual([`${tag}-2`]);
      expect(await violations('popular myth')).toEqual([]);
      expect(await violations('Curt and')).toEqual([records[2]!.violations[0]!.id]);
      // Written again after the purge: stored and found as new.
      await store.write(records);
      expect(await found('far too narrow')).toEqual([`${tag}-1`]);
      expect(await found('draft ')).toEqual([`${tag}-0`, `${tag}-4`]);
      expect(await violations('popular myth')).toEqual([records[1]!.violations[0]!.id]);
    });

    it('stores a batch of many records and violations whole, a record given twice in it once', async () => {
      const store = await open();
      const tag = `batch-${crypto.randomUUID().slice(0, 8)}`;
      // More values than one statement may bind on D1 (100): the rows are split over several inserts.
      const records = Array.from({ length: 12 }, (_, i) =>
        sampleRecords(`${tag}`, Date.UTC(1996, 0, 1) + i * 86_400_000).map((r) => ({
          ...r,
          id: `${r.id}-${i}`,
          prompt: `${r.prompt} #${i}`,
          violations: r.violations.map((v) => ({ ...v, id: `${v.id}-${i}` })),
        })),
      ).flat();
      await store.write([...records, records[7]!, records[0]!]);
      const stats = await store.stats({ constitution: tag });
      expect(stats.requests).toBe(60);
      expect(stats.principles.reduce((n, p) => n + p.violations, 0)).toBe(48);
      expect((await store.listRequests({ constitution: tag, limit: 500 })).items).toHaveLength(60);
      expect((await store.listViolations({ constitution: tag, limit: 500 })).items).toHaveLength(48);
      expect((await store.getRequest(records[37]!.id))?.record).toEqual(records[37]);
      expect(
        (await store.listRequests({ constitution: tag, q: 'question 0 #11' })).items.map((r) => r.id),
      ).toEqual([records[55]!.id]);
    });

    it('purges records older than the retention age', async () => {
      const { store, tag, records } = await fresh();
      expect(await store.purge(records[2]!.time)).toBeGreaterThanOrEqual(2);
      expect((await store.listRequests({ constitution: tag })).items.map((r) => r.id)).toEqual([
        `${tag}-4`,
        `${tag}-3`,
        `${tag}-2`,
      ]);
    });

    it('keeps test runs: newest first, by constitution and version, the latest per constitution, one whole, purged with the log', async () => {
      const store = await open();
      const tag = `runs-${crypto.randomUUID().slice(0, 8)}`;
      const other = `${tag}-other`;
      const at = Date.UTC(2033, 0, 1);
      const old = testRun(testRunBody(tag, 'aaaaaaaaaaaa'), `${tag}-old`, at);
      const newer = testRun(testRunBody(tag, 'bbbbbbbbbbbb', { allPass: true }), `${tag}-new`, at + 60_000);
      const others = testRun(testRunBody(other, 'cccccccccccc'), `${tag}-x`, at + 30_000);
      const ancient = testRun(testRunBody(tag, 'aaaaaaaaaaaa'), `${tag}-ancient`, Date.UTC(2001, 0, 1));
      for (const run of [old, newer, others, ancient, newer]) await store.writeTestRun(run);

      const mine = await store.listTestRuns({ constitution: tag });
      expect(mine.map((r) => r.id)).toEqual([newer.id, old.id, ancient.id]);
      expect(mine[0]).toEqual({
        id: newer.id,
        time: newer.time,
        constitution: tag,
        version: `${tag}@bbbbbbbbbbbb`,
        ok: true,
        startedAt: newer.startedAt,
        runs: 1,
        criticModel: 'critic-model',
        totals: newer.totals,
        principles: [
          {
            id: 'no-sycophancy',
            status: 'tested',
            examples: 2,
            passed: 2,
            failed: 0,
            precision: 1,
            recall: 1,
            falsePositiveRate: 0,
          },
          expect.objectContaining({ id: 'tone', passed: 2 }),
          expect.objectContaining({ id: 'be-brief', status: 'untested', precision: null }),
        ],
      });
      expect(mine[1]).toMatchObject({ ok: false, totals: { failed: 1 } });
      expect((await store.listTestRuns({ version: `${tag}@aaaaaaaaaaaa` })).map((r) => r.id)).toEqual([
        old.id,
        ancient.id,
      ]);
      expect((await store.listTestRuns({ constitution: tag, limit: 1 })).map((r) => r.id)).toEqual([
        newer.id,
      ]);
      const latest = await store.listTestRuns({ latestPerConstitution: true, limit: 100 });
      expect(latest.filter((r) => r.constitution.startsWith(tag)).map((r) => r.id)).toEqual([
        newer.id,
        others.id,
      ]);

      expect(await store.getTestRun(old.id)).toEqual(old);
      expect(await store.getTestRun('no-such-run')).toBeUndefined();

      await store.purge(Date.UTC(2002, 0, 1));
      expect(await store.getTestRun(ancient.id)).toBeUndefined();
      expect((await store.listTestRuns({ constitution: tag })).map((r) => r.id)).toEqual([newer.id, old.id]);
    });

    it('through the writer: a store that is down, then up, gets every record exactly once', async () => {
      const store = await open();
      const tag = `writer-${crypto.randomUUID().slice(0, 8)}`;
      let failures = 3;
      const flaky: LogStore = {
        ...store,
        write: async (batch) => {
          if (failures-- > 0) throw new Error('database is locked');
          return store.write(batch);
        },
      };
      const writer = createLogWriter(flaky, { logger: quietLogger, baseDelayMs: 1, sleep: async () => {} });
      await Promise.all(sampleRecords(tag).map((r) => writer.record(r)));
      expect(writer.stats()).toMatchObject({ written: 5, failed: 0, pending: 0, retries: 3 });
      expect((await store.listRequests({ constitution: tag, limit: 100 })).items).toHaveLength(5);
    });

    it('through the writer: a store down for good costs nothing but a count', async () => {
      const store = await open();
      const down: LogStore = { ...store, write: async () => Promise.reject(new Error('no such table')) };
      const writer = createLogWriter(down, { logger: quietLogger, attempts: 3, sleep: async () => {} });
      await writer.record(sampleRecords('down')[0]!);
      expect(writer.stats()).toMatchObject({ written: 0, failed: 1, retries: 2, lastError: 'no such table' });
    });
  });
}
