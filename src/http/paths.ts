// Which route a request path means: one spelling per route, and which routes generate content without a guard.
import { protocols } from '../protocols/index.ts';

/**
 * The path as routing sees it: percent-escapes decoded (an escaped `/` or `.` is still one), `;params` dropped,
 * dot segments resolved, repeated slashes merged, a trailing slash removed. Every spelling of a guarded route
 * reaches its guard (and is forwarded, when forwarded, as this one spelling). A guarded or generating route is
 * also lower-cased: `/V1/Chat/Completions` is the same route to an upstream that ignores case.
 */
export function normalisePath(raw: string): string {
  let path = raw;
  for (let i = 0; i < 3 && path.includes('%'); i++) {
    try {
      path = decodeURIComponent(path);
    } catch {
      break;
    }
  }
  const out: string[] = [];
  for (const segment of path.split('/')) {
    const name = segment.split(';')[0] ?? '';
    if (name === '' || name === '.') continue;
    if (name === '..') out.pop();
    else out.push(name);
  }
  const clean = `/${out.join('/')}`;
  const lower = clean.toLowerCase();
  return guardedPaths.has(lower) || unguardedGeneration(lower) ? lower : clean;
}

const guardedPaths = new Set(protocols.map((p) => p.path));

/** The routes each protocol guards, for /health. */
export const guardedRoutes = protocols.map((p) => `POST ${p.path}`);

/**
 * Routes that generate (or hand back generated) content and that no protocol guards: refused unless
 * TENET_UNGUARDED=forward. Stored answers are here too: what the upstream stored is the draft, which Tenet
 * may have revised or blocked.
 */
const generating: readonly RegExp[] = [
  /^\/v1\/threads(\/|$)/, // assistants runs and the messages they write
  /^\/v1\/realtime(\/|$)/,
  /^\/v1\/audio\/(speech|transcriptions|translations)$/,
  /^\/v1\/images\/(generations|edits|variations)$/,
  /^\/v1\/videos(\/|$)/,
  /^\/v1\/batches(\/|$)/,
  /^\/v1\/evals\/[^/]+\/runs(\/|$)/,
  /^\/v1\/responses\/(?!input_tokens$)[^/]+(\/|$)/, // stored responses, their input items, cancel
  /^\/v1\/chat\/completions\/[^/]+(\/|$)/, // stored chat completions
  /^\/v1\/engines\/[^/]+\/(chat\/)?completions$/,
  /^\/v1\/messages\/batches(\/|$)/,
  /^\/v1\/complete$/, // Anthropic's legacy text completions
];

export function unguardedGeneration(path: string): boolean {
  return generating.some((re) => re.test(path));
}

/** A pass-through request for the Anthropic API: its own paths, or any request carrying `anthropic-version`. */
export function isAnthropicRequest(path: string, headers: { get(name: string): string | null }): boolean {
  return path.startsWith('/v1/messages') || headers.get('anthropic-version') !== null;
}
