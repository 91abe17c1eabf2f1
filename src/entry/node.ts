// The Node entry: validates settings and constitutions at start, serves the app, reloads constitutions on change.
import type { AddressInfo } from 'node:net';
import { type HttpBindings, serve } from '@hono/node-server';
import { createMemoryAuthThrottle, createSqlAdminSessions } from '../adapters/admin-state.ts';
import { watchConstitutions } from '../adapters/constitution-files.ts';
import { createNodeFetch } from '../adapters/node-fetch.ts';
import { withNodeBody } from '../adapters/node-request.ts';
import { CoalescingResponse } from '../adapters/node-response.ts';
import { createNodeUpstream } from '../adapters/node-upstream.ts';
import { createPostgresStore } from '../adapters/postgres-store.ts';
import { createSqliteStore } from '../adapters/sqlite-store.ts';
import { createMemoryVerdictCache } from '../adapters/verdict-cache.ts';
import {
  ConfigError,
  configWarnings,
  isPostgresUrl,
  type NodeConfig,
  parseNodeConfig,
} from '../core/config.ts';
import { createApp } from '../http/app.ts';
import { buildDeps, constitutionSettingProblems, loggingFor, throttleLimits } from './build-deps.ts';
import { PortInUseError, portInUseMessage } from './port-in-use.ts';

export interface NodeServer {
  url: string;
  close(): Promise<void>;
}

/** How long a stop waits for requests' after-work (their records, built just after their answers) to finish. */
const afterWorkWaitMs = 1_000;

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
  let logStore: Awaited<ReturnType<typeof openLogStore>>;
  try {
    logStore = await openLogStore(config);
  } catch (err) {
    constitutions.close();
    // A driver's message can quote the URL it was given: scrubbed of the password like every other line.
    throw new Error(`the log store (TENET_DB) could not be opened: ${logging.redact(String(err))}`);
  }
  const deps = buildDeps(config, {
    runtime: 'node',
    constitutions,
    logging,
    verdictCache,
    logStore,
    // undici's dispatcher with a keep-alive pool: cheaper per call than fetch (no web streams, no Request/Response)
    // and per streamed chunk than node:http's client (no copy, no Readable).
    upstream: createNodeUpstream,
    modelFetch: createNodeFetch(),
    adminSessions: createSqlAdminSessions(logStore.sql),
    authThrottle: createMemoryAuthThrottle(throttleLimits(config)),
    // The socket's peer: a header could be forged. (Behind a reverse proxy that is the proxy's address.)
    clientAddress: (c) => (c.env as HttpBindings | undefined)?.incoming?.socket.remoteAddress,
    boundPort: (c) => (c.env as HttpBindings | undefined)?.incoming?.socket.localPort,
    // Served by @hono/node-server (its bindings are there): it writes the relay out through its reader.
    relayBody: (c, relay) =>
      (c.env as HttpBindings | undefined)?.outgoing
        ? (relay as unknown as ReadableStream<Uint8Array>)
        : relay.stream(),
  });
  const purge = retention(config.logRetentionDays, deps);
  for (const warning of configWarnings(config)) deps.logger.warn(warning);
  const app = createApp(deps);
  // Node has no request lifetime to extend: work given to waitUntil runs on by itself. It is kept (a request's
  // record is built ~25 ms after its answer: see generation.ts) so that a stop writes the last answers' records
  // too. Passing a context also spares Hono building (and the app catching) a "no ExecutionContext" error on
  // every request.
  const afterWork = new Set<Promise<unknown>>();
  const nodeExecutionContext = {
    waitUntil(work: Promise<unknown>) {
      afterWork.add(work);
      const done = () => afterWork.delete(work);
      work.then(done, done);
    },
    passThroughOnException() {},
    props: {},
  };

  const listening = new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve(
      {
        // Bodies and abort signals come straight from node:http (see node-request.ts); the app is the same.
        // (The server is node:http's, HTTP/1.1: the bindings are never HTTP/2's.)
        fetch: (request, env) => {
          const { incoming, outgoing } = env as HttpBindings;
          return app.fetch(withNodeBody(request, incoming, outgoing), env, nodeExecutionContext);
        },
        port: config.port,
        hostname: config.host,
        serverOptions: {
          ServerResponse: CoalescingResponse,
          // A client must send its headers, then its whole request, within these (a slow-drip body would hold a
          // socket for ever). Both clocks stop once the request is in: a long streamed answer is never cut.
          headersTimeout: config.headersTimeoutMs,
          requestTimeout: config.requestTimeoutMs,
          // How often node:http checks those clocks (its default, 30 s, would let short limits run long).
          connectionsCheckingInterval: Math.min(
            30_000,
            Math.max(250, Math.floor(config.headersTimeoutMs / 4)),
          ),
        },
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  let server: Awaited<typeof listening>;
  try {
    server = await listening;
  } catch (err) {
    constitutions.close();
    clearInterval(purge);
    await logStore.close();
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new PortInUseError(await portInUseMessage(config.host, config.port, 'node'));
  }
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
        clearInterval(purge);
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => {
          // The last answers' records are queued (their after-work done, or a second past), then whatever is
          // still queued is written before the store closes.
          let timer: ReturnType<typeof setTimeout> | undefined;
          const waited = new Promise((r) => {
            timer = setTimeout(r, afterWorkWaitMs);
          });
          Promise.race([Promise.allSettled([...afterWork]), waited])
            .then(() => clearTimeout(timer))
            .then(() => deps.logWriter.flush())
            .then(() => logStore.close())
            .finally(resolve);
        });
      }),
  };
}

/** The log: a Postgres server for a postgres:// URL (a fleet shares it), else a SQLite file. */
async function openLogStore(config: NodeConfig) {
  if (isPostgresUrl(config.db)) return await createPostgresStore(config.db, { poolSize: config.dbPool });
  return createSqliteStore(config.db);
}

/** Purges records past the retention age now and every hour (0 days: keep everything). */
function retention(
  days: number,
  deps: ReturnType<typeof buildDeps>,
): ReturnType<typeof setInterval> | undefined {
  if (days <= 0) return undefined;
  const run = () =>
    deps.logStore.purge(Date.now() - days * 86_400_000).then(
      (n) => n > 0 && deps.logger.info('log retention purged requests', { requests: n, days }),
      (err: unknown) => deps.logger.error('log retention failed', { error: String(err) }),
    );
  void run();
  const timer = setInterval(run, 3_600_000);
  timer.unref();
  return timer;
}
