// Dashboard sessions: the admin token checked in constant time, then a signed HttpOnly cookie scoped to /admin.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import {
  adminCookieName,
  adminSessionTtlMs,
  createAdminSession,
  sameSecret,
  verifyAdminSession,
} from '../../../middleware/admin-auth.ts';
import type { AppEnv } from '../app-env.ts';
import { base } from './layout.tsx';

/** The sign-in form's token, compared like the API's bearer (hashes, constant time). */
export const isAdminToken = (presented: string, token: string): Promise<boolean> =>
  sameSecret(presented, token);

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
