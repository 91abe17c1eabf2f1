// Dashboard sessions: the admin token checked in constant time, then a signed HttpOnly cookie naming an open session.
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import {
  adminCookieName,
  adminSessionTtlMs,
  createAdminSession,
  isOpenSession,
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

export function hasSession(c: Context<AppEnv>, token: string): Promise<boolean> {
  return isOpenSession(c.var.deps, token, getCookie(c, adminCookieName));
}

/** Opens a session (kept server-side, so that signing out ends it) and sets its cookie. */
export async function startSession(c: Context<AppEnv>, token: string): Promise<void> {
  const now = Date.now();
  const value = await createAdminSession(token, now, adminSessionTtlMs);
  const session = await verifyAdminSession(token, value, now);
  if (session) await c.var.deps.adminSessions.open(session.id, session.expires);
  setCookie(c, adminCookieName, value, { ...cookieOptions(c), maxAge: Math.floor(adminSessionTtlMs / 1000) });
}

/** Closes the session for good (its cookie, replayed, no longer works) and deletes the cookie. */
export async function endSession(c: Context<AppEnv>, token: string): Promise<void> {
  const value = getCookie(c, adminCookieName);
  const session = value === undefined ? undefined : await verifyAdminSession(token, value, Date.now());
  if (session) await c.var.deps.adminSessions.close(session.id);
  deleteCookie(c, adminCookieName, cookieOptions(c));
}
