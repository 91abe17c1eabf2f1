// The overview's per-principle quality table: review precision, examples passing, last test run, shadow disagreements.
import type { FC } from 'hono/jsx';
import type { Stats } from '../../core/log-store.ts';
import { hashOf, type TestRunSummary } from '../../core/quality/test-run.ts';
import { formatCount, formatShare, formatTime } from './format.ts';
import { base } from './layout.tsx';

export interface QualityProps {
  stats: Stats;
  /** The test runs the page compares against: at most one per constitution. */
  runs: TestRunSummary[];
  /** Per constitution, the hash a run must have to be current (the version viewed, else the newest in use). */
  current: ReadonlyMap<string, string>;
  /** The shadow candidate's name@hash (the latest one that judged traffic in the range). */
  shadow: string | null;
}

const violationsLink = (query: Record<string, string>) =>
  `${base}/violations?${new URLSearchParams(query).toString()}`;

type Run = TestRunSummary;
type RunPrinciple = Run['principles'][number];

/** Every principle worth a row: logged violations first (most first), then ones only tests or the shadow know. */
function principleIds(stats: Stats, runs: readonly Run[]): string[] {
  const ids = stats.principles.map((p) => p.principle);
  for (const run of runs) ids.push(...run.principles.map((p) => p.id));
  ids.push(...stats.shadow.principles.map((p) => p.principle));
  return [...new Set(ids)];
}

const isStale = (run: Run, current: QualityProps['current']) => {
  const hash = current.get(run.constitution);
  return hash !== undefined && hash !== hashOf(run.version);
};

const Stale: FC<{ run: Run }> = ({ run }) => (
  <span class="badge s-major" title={`run against ${run.version}, not the version in use`}>
    stale
  </span>
);

/** `passed/total` of one run for one principle; its status when it has no examples. */
const Examples: FC<{ run: Run; p: RunPrinciple; many: boolean; stale: boolean }> = ({
  run,
  p,
  many,
  stale,
}) => (
  <div class="examples" data-constitution={run.constitution}>
    {p.status === 'tested' ? (
      <span class={p.failed > 0 ? 'v-blocked' : 'v-pass'} title="examples passed / examples">
        {`${p.passed}/${p.examples}`}
      </span>
    ) : (
      <span class="muted">{p.status}</span>
    )}
    {many ? <span class="muted small"> {run.constitution}</span> : null} {stale ? <Stale run={run} /> : null}
  </div>
);

const LastRun: FC<{ run: Run }> = ({ run }) => (
  <div class="last-run">
    <a href={`${base}/test-runs/${encodeURIComponent(run.id)}`}>{formatTime(run.time)}</a>{' '}
    {run.ok ? <span class="badge v-pass">ok</span> : <span class="badge v-blocked">failed</span>}
  </div>
);

export const ShadowSummary: FC<{ stats: Stats; shadow: string | null }> = ({ stats, shadow }) =>
  stats.shadow.judged === 0 ? null : (
    <p class="shadow-summary">
      shadow <code>{shadow ?? 'candidate'}</code>: judged {formatCount(stats.shadow.judged)}, disagreed{' '}
      <a href={violationsLink({ shadow: 'disagree' })}>{formatCount(stats.shadow.disagreements)}</a>
    </p>
  );

export const QualityTable: FC<QualityProps> = ({ stats, runs, current, shadow }) => {
  const ids = principleIds(stats, runs);
  if (ids.length === 0) {
    return <p class="notice">No violations, test runs or shadow disagreements recorded in this range.</p>;
  }
  const many = runs.length > 1;
  return (
    <>
      <ShadowSummary stats={stats} shadow={shadow} />
      <table id="principles">
        <thead>
          <tr>
            <th>principle</th>
            <th class="num">violations</th>
            <th class="num">confirmed</th>
            <th class="num">false positives</th>
            <th class="num">unreviewed</th>
            <th class="num">precision</th>
            <th>examples</th>
            <th>last test run (UTC)</th>
            <th>shadow</th>
          </tr>
        </thead>
        <tbody>
          {ids.map((id) => {
            const p = stats.principles.find((s) => s.principle === id);
            const tested = runs.flatMap((run) => {
              const rp = run.principles.find((q) => q.id === id);
              return rp ? [{ run, rp }] : [];
            });
            const diff = stats.shadow.principles.find((s) => s.principle === id);
            return (
              <tr data-principle={id}>
                <td>
                  <a href={violationsLink({ principle: id })}>{id}</a>
                </td>
                <td class="num">{formatCount(p?.violations ?? 0)}</td>
                <td class="num">{formatCount(p?.confirmed ?? 0)}</td>
                <td class="num">{formatCount(p?.falsePositive ?? 0)}</td>
                <td class="num">
                  {p && p.unreviewed > 0 ? (
                    <a href={violationsLink({ principle: id, review: 'unreviewed' })}>
                      {formatCount(p.unreviewed)}
                    </a>
                  ) : (
                    '0'
                  )}
                </td>
                <td class="num precision" title="confirmed / (confirmed + false positives)">
                  {formatShare(p?.precision ?? null)}
                </td>
                <td class="examples-cell">
                  {tested.length === 0
                    ? '—'
                    : tested.map(({ run, rp }) => (
                        <Examples run={run} p={rp} many={many} stale={isStale(run, current)} />
                      ))}
                </td>
                <td class="last-run-cell">
                  {tested.length === 0 ? '—' : tested.map(({ run }) => <LastRun run={run} />)}
                </td>
                <td class="shadow-cell small">
                  {diff
                    ? `only candidate: ${formatCount(diff.onlyShadow)} / only primary: ${formatCount(diff.onlyPrimary)}`
                    : '—'}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
};
