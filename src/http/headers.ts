// Which headers cross the proxy: hop-by-hop and Tenet's own stay behind, in both directions.

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

function named(headers: Headers, name: string): Set<string> {
  return new Set(
    (headers.get(name) ?? '')
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
export function toUpstreamHeaders(incoming: Headers): Headers {
  const listed = named(incoming, 'connection');
  const out = new Headers();
  incoming.forEach((value, name) => {
    if (
      hopByHop.has(name) ||
      listed.has(name) ||
      name === 'host' ||
      name === 'content-length' ||
      name === 'accept-encoding' ||
      name === 'authorization' ||
      name === 'cookie' ||
      name.startsWith('x-tenet-') ||
      name.startsWith('cf-')
    ) {
      return;
    }
    out.set(name, value);
  });
  return out;
}

/**
 * The upstream's response headers as the client should get them. Dropped: hop-by-hop ones,
 * `content-length` and `content-encoding` (the body was decoded and may be rewritten),
 * `set-cookie` (the upstream's cookies are not for Tenet's host).
 */
export function toClientHeaders(upstream: Headers): Headers {
  const listed = named(upstream, 'connection');
  const out = new Headers();
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
