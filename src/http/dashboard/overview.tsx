// The overview page: violations over time, verdict mix, rates and latency, per-principle quality, constitution versions.
import type { FC } from 'hono/jsx';
import type { ConstitutionUse, Stats } from '../../core/log-store.ts';
import type { TestRunSummary } from '../../core/quality/test-run.ts';
import { VerdictMix, ViolationsChart } from './chart.tsx';
import { formatCount, formatMs, formatShare, formatTime } from './format.ts';
import { base, Layout } from './layout.tsx';
import { QualityTable } from './quality.tsx';

/** The ranges the overview offers, each with the bucket its chart uses. */
export const ranges = {
  '24h': { label: 'Last 24 hours', ms: 86_400_000, bucket: 'hour' },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000, bucket: 'day' },
  '30d': { label: 'Last 30 days', ms: 30 * 86_400_000, bucket: 'day' },
} as const;
export type RangeKey = keyof typeof ranges;

export interface OverviewProps {
  range: RangeKey;
  from: number;
  to: number;
  stats: Stats;
  used: ConstitutionUse[];
  /** The constitutions loaded now, with the version in force. */
  loaded: Array<{ name: string; hash: string }>;
  /** The one constitution (`name`) or version (`name@hash`) the page is narrowed to, if any. */
  viewing?: { constitution?: string; version?: string } | undefined;
  /** The latest test run per constitution shown (of the version viewed, when one is). */
  runs?: TestRunSummary[];
  /** The shadow candidate that judged traffic in the range, if one did. */
  shadow?: string | null;
}

/** The overview's URL for a range and a narrowing (constitution or version). */
export function overviewUrl(range: RangeKey, viewing: OverviewProps['viewing']): string {
  const params = new URLSearchParams({ range });
  if (viewing?.version) params.set('version', viewing.version);
  else if (viewing?.constitution) params.set('constitution', viewing.constitution);
  return `${base}?${params.toString()}`;
}

/** Per constitution, the hash a test run must have to be current: the version viewed, else the newest in use. */
export function currentHashes(
  used: readonly ConstitutionUse[],
  loaded: OverviewProps['loaded'],
  viewing: OverviewProps['viewing'],
): Map<string, string> {
  const current = new Map<string, string>();
  // `used` comes newest first: the first row of a name is its newest version in use.
  for (const u of used) if (!current.has(u.name)) current.set(u.name, u.hash);
  for (const c of loaded) if (!current.has(c.name)) current.set(c.name, c.hash);
  const version = viewing?.version;
  if (version?.includes('@'))
    current.set(version.slice(0, version.indexOf('@')), version.slice(version.indexOf('@') + 1));
  return current;
}

const violationsLink = (query: Record<string, string>) =>
  `${base}/violations?${new URLSearchParams(query).toString()}`;

const Card: FC<{ k: string; v: string; hint?: string }> = ({ k, v, hint }) => (
  <div class="card">
    <div class="k">{k}</div>
    <div class="v">{v}</div>
    {hint ? <div class="muted small">{hint}</div> : null}
  </div>
);

const Versions: FC<{ used: ConstitutionUse[]; loaded: OverviewProps['loaded'] }> = ({ used, loaded }) => {
  const current = new Set(loaded.map((c) => `${c.name}@${c.hash}`));
  const rows = [...used];
  for (const c of loaded) {
    if (!used.some((u) => u.name === c.name && u.hash === c.hash)) {
      rows.push({ name: c.name, hash: c.hash, requests: 0, criticTokens: 0, first: 0, last: 0 });
    }
  }
  rows.sort((a, b) => a.name.localeCompare(b.name) || b.last - a.last);
  return (
    <table id="constitutions">
      <thead>
        <tr>
          <th>constitution</th>
          <th>version</th>
          <th>status</th>
          <th class="num">requests</th>
          <th class="num">critic tokens / request</th>
          <th>first seen (UTC)</th>
          <th>last seen (UTC)</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr>
            <td>
              <a href={violationsLink({ constitution: r.name })}>{r.name}</a>
            </td>
            <td>
              <a
                href={`${base}?version=${encodeURIComponent(`${r.name}@${r.hash}`)}`}
                title="overview of this version"
              >
                <code>{r.hash}</code>
              </a>
            </td>
            <td>
              {current.has(`${r.name}@${r.hash}`) ? (
                <span class="badge v-pass">in force</span>
              ) : (
                <span class="badge s-minor">earlier</span>
              )}
            </td>
            <td class="num">{formatCount(r.requests)}</td>
            <td class="num" data-critic-per-request>
              {r.requests > 0 ? formatCount(Math.round(r.criticTokens / r.requests)) : '—'}
            </td>
            <td>{r.requests > 0 ? formatTime(r.first) : '—'}</td>
            <td>{r.requests > 0 ? formatTime(r.last) : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

export const OverviewPage: FC<OverviewProps> = ({
  range,
  from,
  to,
  stats,
  used,
  loaded,
  viewing,
  runs = [],
  shadow = null,
}) => {
  const { bucket } = ranges[range];
  const perRequest = stats.tokens.perRequest;
  return (
    <Layout title="Overview" active="overview">
      <div class="actions" style="justify-content:space-between">
        <h1>Overview</h1>
        <nav class="actions small" aria-label="Range">
          {(Object.keys(ranges) as RangeKey[]).map((key) =>
            key === range ? (
              <strong>{ranges[key].label}</strong>
            ) : (
              <a href={overviewUrl(key, viewing)}>{ranges[key].label}</a>
            ),
          )}
        </nav>
      </div>
      {viewing?.version || viewing?.constitution ? (
        <p class="notice viewing">
          Showing <code>{viewing.version ?? viewing.constitution}</code> only.{' '}
          <a href={overviewUrl(range, undefined)}>Show every constitution</a>
        </p>
      ) : null}
      <div class="grid">
        <Card k="requests" v={formatCount(stats.requests)} />
        <Card
          k="revision success"
          v={formatShare(stats.revisionSuccessRate)}
          hint="of requests that needed a revision"
        />
        <Card k="critic errors" v={formatShare(stats.criticErrorRate)} hint="of requests" />
        <Card k="latency p50" v={formatMs(stats.latency.p50)} />
        <Card k="latency p95" v={formatMs(stats.latency.p95)} />
        <Card
          k="tokens per request"
          v={`${formatCount(perRequest.model)} + ${formatCount(perRequest.critic)}`}
          hint="model + critic"
        />
      </div>
      <h2>Violations per principle, per {bucket}</h2>
      <p class="muted small">
        {formatTime(from)} to {formatTime(to)} UTC
      </p>
      <ViolationsChart series={stats.series} bucket={bucket} from={from} to={to} />
      <h2>Verdict mix</h2>
      <VerdictMix verdicts={stats.verdicts} />
      <h2>Principles: precision from reviews, examples, shadow</h2>
      <QualityTable
        stats={stats}
        runs={runs}
        current={currentHashes(used, loaded, viewing)}
        shadow={shadow}
      />
      <h2>Constitution versions</h2>
      <Versions used={used} loaded={loaded} />
    </Layout>
  );
};
