// Verdicts already paid for: an in-memory LRU with a TTL (Node), or the Workers Cache API (shared per colo).
import type { CachedJudgement, VerdictCache } from '../core/loop.ts';

/** Node: a bounded LRU; entries expire after `ttlMs`. */
export function createMemoryVerdictCache(options: {
  max: number;
  ttlMs: number;
  now?: () => number;
}): VerdictCache {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { value: CachedJudgement; expires: number }>();
  return {
    async get(key) {
      const hit = entries.get(key);
      if (!hit) return undefined;
      entries.delete(key);
      if (hit.expires <= now()) return undefined;
      entries.set(key, hit); // most recently used goes last
      return hit.value;
    },
    async put(key, value) {
      entries.delete(key);
      entries.set(key, { value, expires: now() + options.ttlMs });
      while (entries.size > options.max) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
  };
}

/** Workers: the Cache API, keyed by a synthetic URL; a failing cache is a miss, never an error. */
export function createWorkersVerdictCache(cache: Cache, ttlSeconds: number): VerdictCache {
  const url = (key: string) => `https://tenet.cache/verdicts/${encodeURIComponent(key)}`;
  return {
    async get(key) {
      try {
        const hit = await cache.match(url(key));
        return hit ? ((await hit.json()) as CachedJudgement) : undefined;
      } catch {
        return undefined;
      }
    },
    async put(key, value) {
      try {
        await cache.put(
          url(key),
          new Response(JSON.stringify(value), {
            headers: { 'content-type': 'application/json', 'cache-control': `max-age=${ttlSeconds}` },
          }),
        );
      } catch {
        // A verdict not cached costs a critic call next time; nothing more.
      }
    },
  };
}
