// The overview page: violations over time, verdict mix, rates and latency, per-principle precision, constitution versions.
import type { FC } from 'hono/jsx';
import type { ConstitutionUse, Stats } from '../../core/log-store.ts';
import { VerdictMix, ViolationsChart } from './chart.tsx';
import { formatCount, formatMs, formatShare, formatTime } from './format.ts';
import { base, Layout } from './layout.tsx';

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

const Principles: FC<{ stats: Stats }> = ({ stats }) =>
  stats.principles.length === 0 ? (
    <p class="notice">No violations recorded in this range.</p>
  ) : (
    <table id="principles">
      <thead>
        <tr>
          <th>principle</th>
          <th class="num">violations</th>
          <th class="num">confirmed</th>
          <th class="num">false positives</th>
          <th class="num">unreviewed</th>
          <th class="num">precision</th>
        </tr>
      </thead>
      <tbody>
        {stats.principles.map((p) => (
          <tr data-principle={p.principle}>
            <td>
              <a href={violationsLink({ principle: p.principle })}>{p.principle}</a>
            </td>
            <td class="num">{formatCount(p.violations)}</td>
            <td class="num">{formatCount(p.confirmed)}</td>
            <td class="num">{formatCount(p.falsePositive)}</td>
            <td class="num">
              {p.unreviewed > 0 ? (
                <a href={violationsLink({ principle: p.principle, review: 'unreviewed' })}>
                  {formatCount(p.unreviewed)}
                </a>
              ) : (
                '0'
              )}
            </td>
            <td class="num precision" title="confirmed / (confirmed + false positives)">
              {formatShare(p.precision)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );

const Versions: FC<{ used: ConstitutionUse[]; loaded: OverviewProps['loaded'] }> = ({ used, loaded }) => {
  const current = new Set(loaded.map((c) => `${c.name}@${c.hash}`));
  const rows = [...used];
  for (const c of loaded) {
    if (!used.some((u) => u.name === c.name && u.hash === c.hash)) {
      rows.push({ name: c.name, hash: c.hash, requests: 0, first: 0, last: 0 });
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
              <code>{r.hash}</code>
            </td>
            <td>
              {current.has(`${r.name}@${r.hash}`) ? (
                <span class="badge v-pass">in force</span>
              ) : (
                <span class="badge s-minor">earlier</span>
              )}
            </td>
            <td class="num">{formatCount(r.requests)}</td>
            <td>{r.requests > 0 ? formatTime(r.first) : '—'}</td>
            <td>{r.requests > 0 ? formatTime(r.last) : '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
};

export const OverviewPage: FC<OverviewProps> = ({ range, from, to, stats, used, loaded }) => {
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
              <a href={`${base}?range=${key}`}>{ranges[key].label}</a>
            ),
          )}
        </nav>
      </div>
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
      <h2>Principles: precision from reviews</h2>
      <Principles stats={stats} />
      <h2>Constitution versions</h2>
      <Versions used={used} loaded={loaded} />
    </Layout>
  );
};
