// How the dashboard writes times, shares, durations and counts: UTC everywhere, a dash for "no data".

const pad = (n: number) => String(n).padStart(2, '0');

/** `2025-03-01 14:05:09` in UTC (every page says UTC once; the store keeps ms since the epoch). */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** The value of an `<input type="datetime-local">` for `ms`, read back as UTC by the log filter (core/log-filter.ts). */
export function toLocalInput(ms: number): string {
  return formatTime(ms).slice(0, 16).replace(' ', 'T');
}

export function formatShare(share: number | null): string {
  return share === null ? '—' : `${Math.round(share * 1000) / 10}%`;
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '—';
  return ms >= 1000 ? `${(ms / 1000).toFixed(ms >= 10_000 ? 0 : 1)} s` : `${Math.round(ms)} ms`;
}

export function formatCount(n: number | null): string {
  return n === null ? '—' : Math.round(n).toLocaleString('en-US');
}

/** The first `max` characters of a logged text, for list cells (the request page shows it whole). */
export function clip(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
