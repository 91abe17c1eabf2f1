// The Cloudflare Workers entry: reads settings from the Worker's vars and secrets, serves the app.
import { ConfigError, configWarnings, parseConfig } from '../core/config.ts';
import { TenetError } from '../core/errors.ts';
import { createApp } from '../http/app.ts';
import { buildDeps } from './build-deps.ts';

export interface Env {
  DB?: D1Database;
  [setting: string]: unknown;
}

type App = ReturnType<typeof createApp>;

// A Worker has no start-up hook: the config is validated once per env (isolate) and the result kept.
const apps = new WeakMap<object, App | ConfigError>();

function appFor(env: Env): App | ConfigError {
  let app = apps.get(env);
  if (!app) {
    try {
      const config = parseConfig(env);
      const deps = buildDeps(config, { runtime: 'workers' });
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
}

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    const app = appFor(env);
    if (app instanceof ConfigError) {
      const err = new TenetError('config_invalid', `Tenet is misconfigured: ${app.problems.join('; ')}`);
      const id = `req_${crypto.randomUUID().replaceAll('-', '')}`;
      return Response.json(err.toBody(), { status: 500, headers: { 'x-tenet-request-id': id } });
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
