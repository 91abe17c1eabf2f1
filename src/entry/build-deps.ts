// Builds the app's dependencies from a parsed config: the same wiring for both runtimes.
import { createUpstream } from '../adapters/upstream.ts';
import type { Config } from '../core/config.ts';
import { secretsOf } from '../core/config.ts';
import { createLogger, type LogSink } from '../core/logger.ts';
import { createRedactor } from '../core/redact.ts';
import type { AppDeps } from '../http/app.ts';

export interface BuildOptions {
  runtime: AppDeps['runtime'];
  fetch?: typeof fetch;
  logSink?: LogSink;
}

export function buildDeps(config: Config, options: BuildOptions): AppDeps {
  const redact = createRedactor(secretsOf(config));
  const logger = createLogger(redact, options.logSink ? { sink: options.logSink } : {});
  const upstream = createUpstream({
    baseUrl: config.upstreamUrl,
    apiKey: config.upstreamKey,
    timeoutMs: config.upstreamTimeoutMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return { config, upstream, logger, redact, runtime: options.runtime };
}
