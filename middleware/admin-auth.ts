// Admin authentication: the admin token as a bearer, or a signed session cookie (the dashboard); client keys get 403.
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { AdminSessions, AuthThrottle } from '../src/adapters/admin-state.ts';
import type { ClientKey } from '../src/core/config.ts';
import { TenetError } from '../src/core/errors.ts';
import { bearerOf } from './client-auth.ts';

export const adminCookieName = 'tenet_admin';

/** How long a dashboard session lasts unless the caller says otherwise. */
export const adminSessionTtlMs = 12 * 60 * 60 * 1000;

export interface AdminAuthOptions {
  /** TENET_ADMIN_TOKEN; undefined closes the admin API. */
  token: string | undefined;
  /** The client keys (TENET_API_KEYS), refused with 403; default: those of `c.var.deps.config`. */
  clientKeys?: readonly ClientKey[];
}

const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/** Equal-length digests compared without an early exit: the time taken never depends on where they differ. */
function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Compares secrets of any length in constant time by comparing their hashes. */
export async function sameSecret(presented: string, secret: string): Promise<boolean> {
  return sameDigest(await sha256(presented), await sha256(secret));
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

async function sign(token: string, payload: string): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(token),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(payload)));
}

/**
 * A session cookie value, `v2.<expiry ms>.<session id>.<HMAC-SHA256(token, "v2.<expiry>.<id>")>`: it proves the
 * token was presented without containing it; changing the token ends every session, and closing the session id
 * (sign-out) ends this one.
 */
export async function createAdminSession(
  token: string,
  now: number,
  ttlMs = adminSessionTtlMs,
  id = base64url(crypto.getRandomValues(new Uint8Array(16))),
): Promise<string> {
  const payload = `v2.${Math.floor(now + ttlMs)}.${id}`;
  return `${payload}.${base64url(await sign(token, payload))}`;
}

const sessionPattern = /^v2\.(\d{1,16})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** The session id and expiry of a cookie value signed with `token` that has not expired at `now`. */
export async function verifyAdminSession(
  token: string,
  value: string,
  now: number,
): Promise<{ id: string; expires: number } | undefined> {
  const match = sessionPattern.exec(value);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  const expected = base64url(await sign(token, `v2.${match[1]}.${match[2]}`));
  const valid = sameDigest(encoder.encode(match[3]), encoder.encode(expected));
  return valid && Number(match[1]) > now ? { id: match[2], expires: Number(match[1]) } : undefined;
}

/** What the admin side needs from the app: where sessions live, the throttle, and who is asking. */
export interface AdminAuthDeps {
  config: { apiKeys: readonly ClientKey[] };
  adminSessions?: AdminSessions;
  authThrottle?: AuthThrottle | undefined;
  clientAddress?: (c: Context) => string | undefined;
}

type AdminEnv = { Variables: { deps?: AdminAuthDeps } };

/** True when the cookie is a session signed with `token`, unexpired, and still open (not signed out). */
export async function isOpenSession(
  deps: AdminAuthDeps | undefined,
  token: string,
  value: string | undefined,
): Promise<boolean> {
  if (value === undefined) return false;
  const now = Date.now();
  const session = await verifyAdminSession(token, value, now);
  const sessions = deps?.adminSessions;
  return session !== undefined && (sessions === undefined || (await sessions.isOpen(session.id, now)));
}

/**
 * Guessing the admin token is throttled per client address: past TENET_ADMIN_AUTH_FAILURES failures in the
 * window, that address gets 429 (right token or not) until the window ends; other addresses are not affected.
 * Returns the function that counts a failure.
 */
export async function throttleAttempt(
  c: Context,
  deps: AdminAuthDeps | undefined,
): Promise<() => Promise<void>> {
  const address = deps?.clientAddress?.(c);
  const throttle = deps?.authThrottle;
  if (address === undefined || throttle === undefined) return async () => {};
  const wait = await throttle.wait(address, Date.now());
  if (wait > 0) {
    throw new TenetError(
      'too_many_attempts',
      `Too many failed admin sign-ins from this address: try again in ${wait} s.`,
      { headers: { 'retry-after': String(wait) } },
    );
  }
  return () => throttle.failed(address, Date.now());
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

export function adminAuth(options: AdminAuthOptions) {
  const { token } = options;
  return createMiddleware<AdminEnv>(async (c, next) => {
    if (token === undefined) {
      throw new TenetError(
        'admin_closed',
        'The admin API is closed: set TENET_ADMIN_TOKEN (at least 16 characters) to open it.',
      );
    }
    const header = c.req.header('authorization');
    const bearer = bearerOf(header);
    if (bearer !== undefined) {
      const failed = await throttleAttempt(c, c.var.deps);
      if (await sameSecret(bearer, token)) return next();
      await failed();
      const clientKeys = options.clientKeys ?? c.var.deps?.config.apiKeys ?? [];
      let isClientKey = false;
      // Every key is compared, always: the time taken does not tell which one matched.
      for (const k of clientKeys) if (await sameSecret(bearer, k.key)) isClientKey = true;
      if (isClientKey) {
        throw new TenetError(
          'forbidden',
          'Client API keys cannot use the admin API; use the admin token (TENET_ADMIN_TOKEN).',
        );
      }
      throw new TenetError('invalid_admin_token', 'Incorrect admin token provided.', {
        headers: { 'www-authenticate': 'Bearer realm="tenet-admin"' },
      });
    }
    const session = getCookie(c, adminCookieName);
    if (await isOpenSession(c.var.deps, token, session)) {
      // A cookie rides along on cross-site requests a page makes; a state change must come from our own origin.
      if (!safeMethods.has(c.req.method) && !sameOrigin(c.req.header('origin'), c.req.url)) {
        throw new TenetError('forbidden', 'Cross-origin request refused.');
      }
      return next();
    }
    throw new TenetError(
      'invalid_admin_token',
      header === undefined && session === undefined
        ? 'Missing admin token: send it as an Authorization header (Bearer), or sign in at /admin.'
        : 'Incorrect admin token or expired session.',
      { headers: { 'www-authenticate': 'Bearer realm="tenet-admin"' } },
    );
  });
}

function sameOrigin(origin: string | undefined, url: string): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).origin === new URL(url).origin;
  } catch {
    return false;
  }
}
