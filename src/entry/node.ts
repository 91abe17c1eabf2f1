// The Node entry: validates settings and constitutions at start, serves the app, reloads constitutions on change.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { watchConstitutions } from '../adapters/constitution-files.ts';
import { createMemoryVerdictCache } from '../adapters/verdict-cache.ts';
import { ConfigError, configWarnings, parseNodeConfig } from '../core/config.ts';
import { createApp } from '../http/app.ts';
import { buildDeps, constitutionSettingProblems, loggingFor } from './build-deps.ts';

export interface NodeServer {
  url: string;
  close(): Promise<void>;
}

/** Starts Tenet on Node from `env` (normally process.env). Throws a ConfigError naming any bad setting. */
export async function startNodeServer(env: Record<string, string | undefined>): Promise<NodeServer> {
  const config = parseNodeConfig(env);
  const logging = loggingFor(config);
  const constitutions = await watchConstitutions(config.constitutionsDir, logging.logger);
  const problems = constitutionSettingProblems(config, constitutions);
  if (problems.length > 0) {
    constitutions.close();
    throw new ConfigError(problems);
  }
  const verdictCache = createMemoryVerdictCache({ max: 10_000, ttlMs: config.verdictCacheTtlSeconds * 1000 });
  const deps = buildDeps(config, { runtime: 'node', constitutions, logging, verdictCache });
  for (const warning of configWarnings(config)) deps.logger.warn(warning);
  const app = createApp(deps);

  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
    s.once('error', reject);
  });
  // Long generations stream for minutes: never cut a request off on our side.
  if ('requestTimeout' in server) server.requestTimeout = 0;
  if ('keepAliveTimeout' in server) server.keepAliveTimeout = 65_000;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  deps.logger.info('tenet listening', {
    url,
    upstream: config.upstreamUrl,
    constitutions: constitutions
      .names()
      .map((n) => `${n}@${constitutions.get(n)?.hash}`)
      .join(' '),
    default_constitution: config.constitution,
  });

  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        constitutions.close();
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
