// createApp(deps): the Hono app both runtimes serve — routes, auth, limits, and the one error mapping.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { getPath } from 'hono/utils/url';
import { adminAuth } from '../../middleware/admin-auth.ts';
import { clientAuth } from '../../middleware/client-auth.ts';
import { openProxyGuard } from '../../middleware/open-proxy-guard.ts';
import { requestIds } from '../../middleware/request-id.ts';
import { selectConstitution } from '../../middleware/select-constitution.ts';
import { TenetError } from '../core/errors.ts';
import { messagesProtocol, protocols } from '../protocols/index.ts';
import { adminApi } from './admin-api.ts';
import { type AppDeps, type AppEnv, contentfulStatus } from './app-env.ts';
import { dashboard } from './dashboard/index.tsx';
import { generationRoute } from './generation.ts';
import { passthrough } from './passthrough.ts';
import { guardedRoutes, isAnthropicRequest, normalisePath, unguardedGeneration } from './paths.ts';

export type { AppDeps } from './app-env.ts';

/** Maps any thrown value to an OpenAI-shaped error: TenetErrors as they are, everything else as a 500. */
function toTenetError(err: unknown): TenetError {
  if (err instanceof TenetError) return err;
  if (err instanceof HTTPException) {
    const code =
      err.status === 413 ? 'request_too_large' : err.status === 404 ? 'not_found' : 'invalid_request';
    return new TenetError(code, err.message || 'The request could not be processed.', { status: err.status });
  }
  return new TenetError('internal_error', 'The server had an error while processing your request.', {
    cause: err,
  });
}

/** Hono's path, normalised only when it could be a second spelling of a route (the common case costs one test). */
function routingPath(request: Request): string {
  const path = getPath(request);
  return /[%;A-Z]|\/\/|\/\.|.\/$/.test(path) ? normalisePath(path) : path;
}

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ getPath: routingPath });

  app.use(requestIds());
  app.use(async (c, next) => {
    c.set('deps', deps);
    await next();
  });
  if (deps.config.apiKeys.length === 0) {
    app.use(openProxyGuard({ allowedHosts: deps.config.allowedHosts, boundPort: deps.boundPort }));
  }

  app.get('/health', (c) => {
    const { constitutions } = deps;
    const errors = constitutions.errors();
    const log = deps.logWriter.stats();
    return c.json({
      status: errors.length > 0 || log.status === 'degraded' ? 'degraded' : 'ok',
      runtime: deps.runtime,
      byok: deps.config.byok,
      default_constitution: deps.config.constitution,
      constitutions: constitutions.names().map((name) => `${name}@${constitutions.get(name)?.hash}`),
      constitution_errors: errors,
      // What is held to the constitutions, and what happens to generation routes no protocol guards.
      guarded: guardedRoutes,
      unguarded: deps.config.unguarded,
      // The log: ok or degraded (the store failing), records written, waiting, lost, retries so far.
      log: { ...log, lastError: log.lastError === null ? null : deps.redact(log.lastError) },
    });
  });

  // The log, for reviewers: the JSON API behind the admin token (or the dashboard's session), and the dashboard.
  app.use('/admin/api/*', adminAuth({ token: deps.config.adminToken, clientKeys: deps.config.apiKeys }));
  app.route('/admin/api', adminApi());
  app.route('/admin', dashboard());

  app.use('/v1/*', clientAuth({ keys: deps.config.apiKeys, byok: deps.config.byok }));
  const tooLarge = (): never => {
    throw new TenetError(
      'request_too_large',
      `The request body is larger than the limit of ${deps.config.maxBodyBytes} bytes (TENET_MAX_BODY_BYTES).`,
    );
  };
  const limitStreamedBody = bodyLimit({ maxSize: deps.config.maxBodyBytes, onError: tooLarge });
  app.use('/v1/*', (c, next) => {
    // A declared length is checked as bodyLimit would, without touching the body (on Node that would build a
    // web stream for it); a chunked body is counted as it streams in.
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number.parseInt(length, 10) > deps.config.maxBodyBytes ? tooLarge() : next();
    }
    return limitStreamedBody(c, next);
  });

  const constitutionOf = selectConstitution({
    source: deps.constitutions,
    keyDefaults: deps.config.keyConstitutions,
    fallback: deps.config.constitution,
  });
  for (const protocol of protocols) {
    app.post(protocol.path, constitutionOf, generationRoute(protocol));
    app.on(['GET', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'], protocol.path, () => {
      throw new TenetError('method_not_allowed', `Use POST for ${protocol.path}.`);
    });
  }
  // A route that generates content without a protocol to judge it is never forwarded unjudged by default.
  app.all('/v1/*', async (c, next) => {
    if (deps.config.unguarded === 'forward' || !unguardedGeneration(c.req.path)) return next();
    throw new TenetError(
      'unguarded_route',
      `${c.req.method} ${c.req.path} generates content that Tenet cannot hold to a constitution, so it is refused. ` +
        `Guarded routes: ${guardedRoutes.join(', ')}. To forward unguarded generation routes unjudged, set TENET_UNGUARDED=forward.`,
    );
  });
  app.all('/v1/*', passthrough);

  app.notFound((c) => {
    const err = new TenetError(
      'not_found',
      `Unknown request URL: ${c.req.method} ${new URL(c.req.url).pathname}. Please check the URL for typos.`,
    );
    return c.json(err.toBody(), 404);
  });

  app.onError((thrown, c) => {
    const err = toTenetError(thrown);
    if (err.status >= 500) {
      const cause = err.cause instanceof Error ? `${err.cause.name}: ${err.cause.message}` : undefined;
      deps.logger.error(err.message, { request_id: c.var.requestId, code: err.code, cause });
    }
    // Every field may carry an upstream's words (its message, type, code, param, retry headers): all are scrubbed.
    const redactNullable = (v: string | null) => (v === null ? null : deps.redact(v));
    const safe = new TenetError(err.code, deps.redact(err.message), {
      status: err.status,
      type: deps.redact(err.type),
      param: redactNullable(err.param),
      wireCode: redactNullable(err.wireCode),
      headers: Object.fromEntries(Object.entries(err.headers).map(([k, v]) => [k, deps.redact(v)])),
    });
    // Each client gets errors in its own API's shape: Anthropic's SDK reads {"type":"error","error":{…}}.
    const anthropic = isAnthropicRequest(c.req.path, c.req.raw.headers);
    const body = anthropic ? messagesProtocol.errorBody(safe) : safe.toBody();
    return c.json(body, contentfulStatus(err.status), err.headers);
  });

  return app;
}
