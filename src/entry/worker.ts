// The Cloudflare Workers entry: settings from the Worker's vars and secrets, constitutions bundled at build.

import { createSqlAdminSessions, createSqlAuthThrottle } from '../adapters/admin-state.ts';
import { createD1Store, d1Driver } from '../adapters/d1-store.ts';
import {
  consumeLogBatch,
  createQueueLogWriter,
  type LogBatch,
  type LogQueue,
} from '../adapters/log-queue.ts';
import { createWorkersVerdictCache } from '../adapters/verdict-cache.ts';
import { ConfigError, configWarnings, parseConfig } from '../core/config.ts';
import type { Constitution } from '../core/constitution/schema.ts';
import { staticConstitutionSource } from '../core/constitution/set.ts';
import { TenetError } from '../core/errors.ts';
import { createLogger } from '../core/logger.ts';
import { createApp } from '../http/app.ts';
import { buildDeps, constitutionSettingProblems, loggingFor, throttleLimits } from './build-deps.ts';
import { bundledConstitutions, bundleErrors } from './constitutions.bundle.ts';

export interface Env {
  DB?: D1Database;
  /** The log's queue (wrangler.toml): records go through it when bound, else each request writes its own. */
  LOG_QUEUE?: LogQueue | undefined;
  [setting: string]: unknown;
}

type App = ReturnType<typeof createApp>;

export interface TenetWorker {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response>;
  /** The cron trigger: purges log records past TENET_LOG_RETENTION_DAYS. */
  scheduled(controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void>;
  /** The log queue's consumer: writes a batch of records to D1 (retried, then dead-lettered, by the queue). */
  queue(batch: LogBatch, env: Env, ctx: ExecutionContext): Promise<void>;
}

/**
 * A Worker fetch handler serving `constitutions` (the default export serves the bundled ones). `errors` are the
 * constitution errors `tenet dev` bundled beside the last good ones after a broken edit: shown on /health while
 * the last good ones serve; with none to serve, every request is a 503 naming them (file:line:col).
 */
export function createWorker(
  constitutions: readonly Constitution[],
  errors: readonly string[] = [],
): TenetWorker {
  const source = {
    ...staticConstitutionSource(new Map(constitutions.map((c) => [c.name, c]))),
    errors: () => [...errors],
  };
  const broken = constitutions.length === 0 && errors.length > 0;
  // A Worker has no start-up hook: the config is validated once per env (isolate) and the result kept.
  const apps = new WeakMap<object, App | ConfigError>();

  const appFor = (env: Env): App | ConfigError => {
    let app = apps.get(env);
    if (!app) {
      try {
        const config = parseConfig(env);
        const problems = constitutionSettingProblems(config, source);
        if (!env.DB) problems.push('DB: the D1 binding of the log is missing (see wrangler.toml)');
        if (problems.length > 0) throw new ConfigError(problems);
        const logging = loggingFor(config);
        const verdictCache = createWorkersVerdictCache(caches.default, config.verdictCacheTtlSeconds);
        const db = env.DB as D1Database;
        const logStore = createD1Store(db);
        const deps = buildDeps(config, {
          runtime: 'workers',
          constitutions: source,
          logging,
          verdictCache,
          logStore,
          // D1, not isolate memory: every isolate (and every location) sees the same sessions and counts.
          adminSessions: createSqlAdminSessions(d1Driver(db)),
          authThrottle: createSqlAuthThrottle(d1Driver(db), throttleLimits(config)),
          // Set by Cloudflare's edge (a client cannot forge it); absent when the Worker is called directly.
          clientAddress: (c) => c.req.header('cf-connecting-ip'),
          // workerd does not say which port wrangler bound: loopback names are answered on any port.
          boundPort: () => undefined,
        });
        if (env.LOG_QUEUE && config.logEnabled) {
          // The queue carries records past a D1 outage; the request's own write stays for what it refuses.
          deps.logWriter = createQueueLogWriter(env.LOG_QUEUE, deps.logWriter, deps.logger);
        }
        for (const w of configWarnings(config)) deps.logger.warn(w);
        app = createApp(deps);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        console.error(`Tenet cannot start: ${err.message}`);
        app = err;
      }
      apps.set(env, app);
    }
    return app;
  };

  return {
    fetch(request, env, ctx) {
      if (broken) {
        const err = new TenetError(
          'constitution_unavailable',
          `Tenet has no constitution to serve: fix ${errors.join('; ')} (the Worker reloads when the file is saved)`,
          { status: 503 },
        );
        console.error(err.message);
        const id = `req_${crypto.randomUUID().replaceAll('-', '')}`;
        return Response.json(err.toBody(), { status: 503, headers: { 'x-tenet-request-id': id } });
      }
      const app = appFor(env);
      if (app instanceof ConfigError) {
        const err = new TenetError('config_invalid', `Tenet is misconfigured: ${app.problems.join('; ')}`);
        const id = `req_${crypto.randomUUID().replaceAll('-', '')}`;
        return Response.json(err.toBody(), { status: 500, headers: { 'x-tenet-request-id': id } });
      }
      return app.fetch(request, env, ctx);
    },
    async queue(batch, env) {
      if (!env.DB) throw new Error('DB: the D1 binding of the log is missing (see wrangler.toml)');
      let logger = createLogger((t) => t);
      try {
        logger = loggingFor(parseConfig(env)).logger;
      } catch {
        // A bad setting stops the proxy, not the writing of records already queued.
      }
      await consumeLogBatch(batch, createD1Store(env.DB), logger);
    },
    async scheduled(_controller, env) {
      const days = Number(env['TENET_LOG_RETENTION_DAYS'] ?? 30);
      if (!env.DB || !(days > 0)) return;
      const purged = await createD1Store(env.DB).purge(Date.now() - days * 86_400_000);
      if (purged > 0)
        console.log(
          JSON.stringify({ level: 'info', msg: 'log retention purged requests', requests: purged, days }),
        );
    },
  };
}

export default createWorker(bundledConstitutions, bundleErrors) satisfies ExportedHandler<Env>;
