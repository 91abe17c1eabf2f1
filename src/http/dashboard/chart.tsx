// Inline SVG charts for the overview: violations per principle per bucket (stacked bars) and the verdict mix.
import type { FC } from 'hono/jsx';
import type { Stats } from '../../core/log-store.ts';
import { formatTime } from './format.ts';

// Hues apart from the verdict colours (green, blue, amber, red), so a principle never reads as a verdict.
const palette = [
  '#6639ba',
  '#1b7c83',
  '#bc4c00',
  '#bf3989',
  '#0550ae',
  '#7d4e00',
  '#3f8f5c',
  '#a40e26',
  '#57606a',
];
export const colorOf = (index: number) => palette[index % palette.length] ?? '#6e7781';

const bucketMs = { hour: 3_600_000, day: 86_400_000 } as const;

export interface ChartProps {
  series: Stats['series'];
  bucket: 'hour' | 'day';
  from: number;
  to: number;
}

/** Every bucket start from `from` to `to` (UTC-aligned), plus any the store reported outside them. */
function bucketsOf({ series, bucket, from, to }: ChartProps): number[] {
  const size = bucketMs[bucket];
  const starts = new Set<number>();
  for (let t = Math.floor(from / size) * size; t < to; t += size) starts.add(t);
  for (const point of series) starts.add(point.bucket);
  return [...starts].sort((a, b) => a - b);
}

/** Principles by total, most frequent first: the order of the stack and the legend. */
export function principlesByTotal(series: Stats['series']): Array<{ principle: string; total: number }> {
  const totals = new Map<string, number>();
  for (const p of series) totals.set(p.principle, (totals.get(p.principle) ?? 0) + p.count);
  return [...totals]
    .map(([principle, total]) => ({ principle, total }))
    .sort((a, b) => b.total - a.total || a.principle.localeCompare(b.principle));
}

export const ViolationsChart: FC<ChartProps> = (props) => {
  const { series, bucket } = props;
  const principles = principlesByTotal(series);
  if (principles.length === 0) return <p class="notice">No violations in this range.</p>;
  const buckets = bucketsOf(props);
  const counts = new Map<string, number>();
  for (const p of series) counts.set(`${p.bucket}|${p.principle}`, p.count);
  const totals = buckets.map((b) =>
    principles.reduce((sum, p) => sum + (counts.get(`${b}|${p.principle}`) ?? 0), 0),
  );
  const step = Math.max(1, Math.ceil(Math.max(...totals) / 4));
  const top = step * 4;

  // About the page's content width, so the SVG is drawn near 1:1 and its 11px labels stay 11px.
  const width = 1100;
  const height = 240;
  const left = 40;
  const right = 8;
  const topPad = 10;
  const bottom = 28;
  const plotW = width - left - right;
  const plotH = height - topPad - bottom;
  const slot = plotW / buckets.length;
  const barW = Math.max(1, Math.min(48, slot * 0.7));
  const y = (value: number) => topPad + plotH - (value / top) * plotH;
  const labelEvery = Math.ceil(buckets.length / 8);
  const label = (ms: number) => {
    const t = formatTime(ms);
    return bucket === 'day' ? t.slice(5, 10) : `${t.slice(5, 10)} ${t.slice(11, 13)}h`;
  };

  return (
    <figure style="margin:0">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        role="img"
        aria-label={`Violations per principle per ${bucket}`}
        class="chart"
      >
        {[0, 1, 2, 3, 4].map((i) => (
          <g>
            <line x1={left} x2={width - right} y1={y(i * step)} y2={y(i * step)} stroke="#d1d9e0" />
            <text x={left - 6} y={y(i * step) + 4} text-anchor="end" font-size="11" fill="#59636e">
              {i * step}
            </text>
          </g>
        ))}
        {buckets.map((b, i) => {
          let base = 0;
          const x = left + i * slot + (slot - barW) / 2;
          return (
            <g>
              {principles.map((p, pi) => {
                const count = counts.get(`${b}|${p.principle}`) ?? 0;
                if (count === 0) return null;
                const y0 = y(base);
                base += count;
                return (
                  <rect x={x} y={y(base)} width={barW} height={y0 - y(base)} fill={colorOf(pi)}>
                    <title>{`${p.principle}: ${count} (${formatTime(b)} UTC, per ${bucket})`}</title>
                  </rect>
                );
              })}
              {i % labelEvery === 0 ? (
                <text x={x + barW / 2} y={height - 8} text-anchor="middle" font-size="11" fill="#59636e">
                  {label(b)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        {principles.map((p, i) => (
          <span>
            <span class="swatch" style={`background:${colorOf(i)}`} />
            {p.principle} ({p.total})
          </span>
        ))}
      </figcaption>
    </figure>
  );
};

const verdictColors = {
  pass: '#1a7f37',
  revised: '#0969da',
  flagged: '#9a6700',
  blocked: '#cf222e',
  error: '#57606a',
} as const;

/** The verdict mix as one proportional bar with counts. */
export const VerdictMix: FC<{ verdicts: Stats['verdicts'] }> = ({ verdicts }) => {
  const entries = (Object.keys(verdictColors) as Array<keyof typeof verdictColors>).map((v) => ({
    verdict: v,
    count: verdicts[v] ?? 0,
  }));
  const total = entries.reduce((sum, e) => sum + e.count, 0);
  return (
    <div>
      <div class="bar" role="img" aria-label="Verdict mix">
        {total === 0
          ? null
          : entries.map((e) =>
              e.count === 0 ? null : (
                <span
                  style={`width:${(e.count / total) * 100}%;background:${verdictColors[e.verdict]}`}
                  title={`${e.verdict}: ${e.count}`}
                />
              ),
            )}
      </div>
      <div class="legend">
        {entries.map((e) => (
          <span data-verdict={e.verdict}>
            <span class="swatch" style={`background:${verdictColors[e.verdict]}`} />
            {e.verdict} <strong>{e.count}</strong>
            {total > 0 ? <span class="muted"> ({Math.round((e.count / total) * 100)}%)</span> : null}
          </span>
        ))}
      </div>
    </div>
  );
};
