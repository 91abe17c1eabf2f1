// Dashboard sessions: the admin token checked in constant time, then a signed HttpOnly cookie scoped to /admin.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import {
  adminCookieName,
  adminSessionTtlMs,
  createAdminSession,
  verifyAdminSession,
} from '../../../middleware/admin-auth.ts';
import type { AppEnv } from '../app-env.ts';
import { base } from './layout.tsx';

const encoder = new TextEncoder();

const digest = async (text: string) =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));

/** Compares the hashes, so neither the length nor the first differing byte of the token shows in the timing. */
export async function isAdminToken(presented: string, token: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(presented), digest(token)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** Behind a TLS-terminating proxy the request URL says http; the forwarded scheme tells the truth. */
function isHttps(c: Context<AppEnv>): boolean {
  const forwarded = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return new URL(c.req.url).protocol === 'https:' || forwarded === 'https';
}

const cookieOptions = (c: Context<AppEnv>) =>
  ({ path: base, httpOnly: true, sameSite: 'Strict', secure: isHttps(c) }) as const;

export async function hasSession(c: Context<AppEnv>, token: string): Promise<boolean> {
  const value = getCookie(c, adminCookieName);
  return value !== undefined && (await verifyAdminSession(token, value, Date.now()));
}

export async function startSession(c: Context<AppEnv>, token: string): Promise<void> {
  const value = await createAdminSession(token, Date.now(), adminSessionTtlMs);
  setCookie(c, adminCookieName, value, { ...cookieOptions(c), maxAge: Math.floor(adminSessionTtlMs / 1000) });
}

export function endSession(c: Context<AppEnv>): void {
  deleteCookie(c, adminCookieName, cookieOptions(c));
}
