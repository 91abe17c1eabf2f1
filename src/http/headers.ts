// Which headers cross the proxy: hop-by-hop and Tenet's own stay behind, in both directions.
import type { HeaderReader } from '../adapters/upstream.ts';
import { TenetError } from '../core/errors.ts';

const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

const none: ReadonlySet<string> = new Set();

/** The header names a `Connection` header lists (hop-by-hop for this message). */
function named(headers: HeaderReader, name: string): ReadonlySet<string> {
  const value = headers.get(name);
  // Nearly every message has none, or only `keep-alive`/`close`: skip building a set then.
  if (!value || value === 'keep-alive' || value === 'close') return none;
  return new Set(
    value
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * The client's headers as the upstream should get them. Dropped: hop-by-hop ones, `host` and
 * `content-length` (fetch sets them), `accept-encoding` (fetch negotiates and decodes itself),
 * `authorization` (the upstream key replaces it), `cookie` (Tenet's admin session must never leave),
 * Tenet's own `x-tenet-*` and Cloudflare's `cf-*`.
 */
export function toUpstreamHeaders(incoming: HeaderReader): Record<string, string> {
  const listed = named(incoming, 'connection');
  // No prototype: a client's header named `__proto__` is a header like any other.
  const out: Record<string, string> = Object.create(null);
  let size = 0;
  incoming.forEach((value, name) => {
    size += name.length + value.length + 4;
    if (
      hopByHop.has(name) ||
      listed.has(name) ||
      name === 'host' ||
      name === 'content-length' ||
      // Between the client and Tenet, which reads the whole body before it calls the upstream.
      name === 'expect' ||
      name === 'accept-encoding' ||
      name === 'authorization' ||
      name === 'cookie' ||
      name.startsWith('x-tenet-') ||
      name.startsWith('cf-')
    ) {
      return;
    }
    out[name] = value;
  });
  // Upstreams refuse oversized headers by closing the connection (a 502 for the client, which did wrong):
  // refuse them here, as a clear 431.
  if (size > maxForwardedHeaderBytes) {
    throw new TenetError(
      'headers_too_large',
      `The request headers are larger than ${maxForwardedHeaderBytes} bytes; send less in them.`,
    );
  }
  return out;
}

/** The most header bytes forwarded upstream (common servers accept 16–64 KiB in all). */
export const maxForwardedHeaderBytes = 32 * 1024;

/**
 * The upstream's response headers as the client should get them. Dropped: hop-by-hop ones,
 * `content-length` and `content-encoding` (the body was decoded and may be rewritten),
 * `set-cookie` (the upstream's cookies are not for Tenet's host).
 */
export function toClientHeaders(upstream: HeaderReader): Map<string, string> {
  const listed = named(upstream, 'connection');
  const out = new Map<string, string>();
  upstream.forEach((value, name) => {
    if (
      hopByHop.has(name) ||
      listed.has(name) ||
      name === 'content-length' ||
      name === 'content-encoding' ||
      name === 'set-cookie' ||
      name.startsWith('x-tenet-')
    ) {
      return;
    }
    out.set(name, value);
  });
  return out;
}
