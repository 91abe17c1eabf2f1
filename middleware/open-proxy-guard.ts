// An open proxy (no client keys) answers only its own loopback names and TENET_ALLOWED_HOSTS, and no other site's pages.
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { TenetError } from '../src/core/errors.ts';

export interface OpenProxyGuardOptions {
  /** TENET_ALLOWED_HOSTS: `host` (any port) or `host:port`, lower case. */
  allowedHosts: readonly string[];
  /** The port the server listens on (Node); undefined where the runtime does not say (workerd: any port). */
  boundPort: (c: Context) => number | undefined;
}

const loopback = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** `host` or `host:port` (IPv6 in brackets) split in two; undefined when it is not a Host value. */
function splitHost(value: string): { name: string; port: number | undefined } | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/.exec(value.trim().toLowerCase());
  if (!match?.[1]) return undefined;
  return { name: match[1].replace(/\.$/, ''), port: match[2] === undefined ? undefined : Number(match[2]) };
}

/**
 * DNS rebinding: a web page whose name the attacker points at 127.0.0.1 talks to a loopback Tenet under the
 * attacker's Host, with the browser's own network position; with no client key required, that would spend the
 * upstream key. So an open proxy answers only Host values naming it (loopback names on the port it listens on, or
 * one of TENET_ALLOWED_HOSTS), and refuses requests to /v1/* that a page of another site made (Sec-Fetch-Site, or
 * an Origin that is not an allowed host). With client keys the key is the guard and none of this applies.
 */
export function openProxyGuard(options: OpenProxyGuardOptions) {
  const allowed = (value: string | undefined, c: Context): boolean => {
    if (value === undefined) return false;
    const host = splitHost(value);
    if (!host) return false;
    const port = options.boundPort(c);
    if (loopback.has(host.name) && (port === undefined || (host.port ?? 80) === port)) return true;
    return options.allowedHosts.some((entry) =>
      entry.includes(':') && !entry.startsWith('[')
        ? entry === `${host.name}${host.port === undefined ? '' : `:${host.port}`}`
        : entry === host.name || entry === `${host.name}:${host.port}`,
    );
  };
  return createMiddleware(async (c, next) => {
    const host = c.req.header('host') ?? new URL(c.req.url).host;
    if (!allowed(host, c)) {
      throw new TenetError(
        'host_not_allowed',
        `This Tenet has no client keys (TENET_API_KEYS), so it only answers its own address (127.0.0.1, localhost, ` +
          `[::1]) and TENET_ALLOWED_HOSTS; add "${host.slice(0, 100)}" there to serve it under that name.`,
      );
    }
    if (c.req.path.startsWith('/v1/')) {
      const site = c.req.header('sec-fetch-site');
      const origin = c.req.header('origin');
      let originHost: string | undefined;
      try {
        originHost = origin === undefined ? undefined : new URL(origin).host;
      } catch {
        originHost = undefined;
      }
      if (
        site === 'cross-site' ||
        site === 'same-site' ||
        (origin !== undefined && !allowed(originHost, c))
      ) {
        throw new TenetError(
          'host_not_allowed',
          'A page of another site cannot use this Tenet: it has no client keys (set TENET_API_KEYS to serve browsers).',
        );
      }
    }
    await next();
  });
}
