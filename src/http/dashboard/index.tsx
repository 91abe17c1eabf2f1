// The reviewer dashboard (mounted at /admin): sign-in, overview, violation list, request and test-run pages, reviews.

import { zValidator } from '@hono/zod-validator';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { csrf } from 'hono/csrf';
import { createMiddleware } from 'hono/factory';
import { HTTPException } from 'hono/http-exception';
import { throttleAttempt } from '../../../middleware/admin-auth.ts';
import { TenetError } from '../../core/errors.ts';
import { lenientFilterParam, lenientViolationsQuery } from '../../core/log-filter.ts';
import { type AppEnv, contentfulStatus } from '../app-env.ts';
import { base, MessagePage } from './layout.tsx';
import { ClosedPage, LoginPage } from './login.tsx';
import { OverviewPage, type RangeKey, ranges } from './overview.tsx';
import { RequestPage } from './request.tsx';
import { endSession, hasSession, isAdminToken, startSession } from './session.ts';
import { TestRunPage } from './test-run.tsx';
import { ViolationsPage, violationQuery } from './violations.tsx';

/** No script may run and no other site may frame or receive anything: the pages are plain HTML and forms. */
const securityHeaders = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** Every dashboard route: security headers, and the "admin closed" page when there is no admin token. */
const open = createMiddleware<AppEnv>(async (c, next) => {
  for (const [name, value] of Object.entries(securityHeaders)) c.header(name, value);
  if (c.var.deps.config.adminToken === undefined) return c.html(<ClosedPage />, 403);
  await next();
});

/** Pages behind the session cookie; without a valid one the reviewer goes to the sign-in form. */
const signedIn = createMiddleware<AppEnv>(async (c, next) => {
  if (!(await hasSession(c, c.var.deps.config.adminToken ?? ''))) return c.redirect(`${base}/login`, 303);
  await next();
});

/**
 * Every POST: a small form body, and from this origin only (Sec-Fetch-Site: same-origin, or a matching
 * Origin); with the SameSite=Strict cookie that closes cross-site request forgery.
 */
const post = [bodyLimit({ maxSize: 64 * 1024 }), csrf()] as const;

const token = (c: Context<AppEnv>) => c.var.deps.config.adminToken ?? '';

/** Only a path inside the dashboard: a review form cannot be turned into an open redirect. */
function backTo(value: unknown): string {
  return typeof value === 'string' && value.startsWith(`${base}/`) && !/[\\\s]/.test(value)
    ? value
    : `${base}/violations`;
}

/** The posted form; a body that does not parse as one (broken multipart, …) is a 400, not a fault. */
async function formOf(c: Context<AppEnv>) {
  try {
    return await c.req.parseBody();
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    throw new TenetError('invalid_request', 'The request body is not a valid form.');
  }
}

export function dashboard(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/login', open, async (c) => {
    if (await hasSession(c, token(c))) return c.redirect(base, 303);
    return c.html(<LoginPage />);
  });

  app.post('/login', open, ...post, async (c) => {
    const form = await formOf(c);
    const presented = typeof form['token'] === 'string' ? form['token'] : '';
    let failed: () => Promise<void>;
    try {
      failed = await throttleAttempt(c, c.var.deps);
    } catch (err) {
      if (!(err instanceof TenetError)) throw err;
      return c.html(<LoginPage error={err.message} />, 429, err.headers);
    }
    if (!(await isAdminToken(presented, token(c)))) {
      await failed();
      return c.html(<LoginPage error="That is not the admin token." />, 401);
    }
    await startSession(c, token(c));
    return c.redirect(base, 303);
  });

  app.post('/logout', open, ...post, async (c) => {
    await endSession(c, token(c));
    return c.redirect(`${base}/login`, 303);
  });

  app.get('/', open, signedIn, async (c) => {
    const { logStore, constitutions } = c.var.deps;
    const key = c.req.query('range');
    const range: RangeKey = key !== undefined && key in ranges ? (key as RangeKey) : '7d';
    const to = Date.now();
    const from = to - ranges[range].ms;
    // Narrowed to one version (`name@hash`) or one constitution: stats, test runs and stale marks follow it.
    const version = lenientFilterParam('version', c.req.query('version'));
    const constitution = version?.includes('@')
      ? version.slice(0, version.indexOf('@'))
      : lenientFilterParam('constitution', c.req.query('constitution'));
    const filter = { ...(constitution ? { constitution } : {}), ...(version ? { version } : {}) };
    const [stats, used] = await Promise.all([
      logStore.stats({ from, to, bucket: ranges[range].bucket, ...filter }),
      logStore.constitutions(),
    ]);
    const loaded = constitutions.names().flatMap((name) => {
      const hash = constitutions.get(name)?.hash;
      return hash ? [{ name, hash }] : [];
    });
    // The version viewed has its own latest run; without one, the constitution's latest (shown as stale).
    let runs = version ? await logStore.listTestRuns({ ...filter, limit: 1 }) : [];
    if (runs.length === 0 && constitution) runs = await logStore.listTestRuns({ constitution, limit: 1 });
    if (!constitution && !version) {
      runs = await logStore.listTestRuns({ latestPerConstitution: true, limit: 100 });
    }
    const shadow =
      stats.shadow.judged > 0
        ? ((await logStore.listRequests({ from, to, ...filter, shadow: 'judged', limit: 1 })).items[0]
            ?.shadow ?? null)
        : null;
    return c.html(
      <OverviewPage
        range={range}
        from={from}
        to={to}
        stats={stats}
        used={used}
        loaded={loaded}
        viewing={filter}
        runs={runs}
        shadow={shadow}
      />,
    );
  });

  app.get('/test-runs/:id', open, signedIn, async (c) => {
    const run = await c.var.deps.logStore.getTestRun(c.req.param('id'));
    if (!run) {
      return c.html(<MessagePage title="Not found" message="No test run with this id is in the log." />, 404);
    }
    return c.html(<TestRunPage run={run} />);
  });

  app.get('/violations', open, signedIn, zValidator('query', lenientViolationsQuery), async (c) => {
    const { logStore, constitutions } = c.var.deps;
    const query = violationQuery(c.req.valid('query'));
    let page: Awaited<ReturnType<typeof logStore.listViolations>>;
    try {
      page = await logStore.listViolations(query);
    } catch (err) {
      // The store rejects a cursor it did not make with a RangeError: a stale or edited link.
      if (!(err instanceof RangeError)) throw err;
      return c.html(
        <MessagePage title="Invalid page link" message="That page link is not valid any more." />,
        400,
      );
    }
    const names = constitutions.names();
    const principles = new Set(names.flatMap((n) => constitutions.get(n)?.principles.map((p) => p.id) ?? []));
    return c.html(
      <ViolationsPage
        query={query}
        items={page.items}
        next={page.next}
        options={{ principles: [...principles].sort(), constitutions: names }}
      />,
    );
  });

  app.get('/requests/:id', open, signedIn, async (c) => {
    const detail = await c.var.deps.logStore.getRequest(c.req.param('id'));
    if (!detail) {
      return c.html(<MessagePage title="Not found" message="No request with this id is in the log." />, 404);
    }
    return c.html(<RequestPage detail={detail} />);
  });

  app.post('/violations/:id/review', open, ...post, signedIn, async (c) => {
    const form = await formOf(c);
    const label = form['label'];
    if (label !== 'confirmed' && label !== 'false_positive') {
      return c.html(<MessagePage title="Bad review" message="Choose confirmed or false positive." />, 400);
    }
    const note = typeof form['note'] === 'string' ? form['note'].trim().slice(0, 2000) : '';
    if (!(await c.var.deps.logStore.review(c.req.param('id'), label, note))) {
      return c.html(
        <MessagePage title="Not found" message="No violation with this id is in the log." />,
        404,
      );
    }
    return c.redirect(backTo(form['back']), 303);
  });

  // Refusals raised by middleware (CSRF, body size) as pages; faults go on to the app's own error mapping.
  app.onError((err, c) => {
    if (err instanceof HTTPException && err.status < 500) {
      const message =
        err.status === 403
          ? 'This form did not come from the dashboard itself. Reload the page and try again.'
          : 'The request could not be processed.';
      return c.html(<MessagePage title="Refused" message={message} signedIn={false} />, err.status);
    }
    if (err instanceof TenetError && err.status < 500) {
      return c.html(
        <MessagePage title="Refused" message={err.message} signedIn={false} />,
        contentfulStatus(err.status),
      );
    }
    throw err;
  });

  return app;
}
