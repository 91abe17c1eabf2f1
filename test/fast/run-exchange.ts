// Runs one request through the exchange in-process: the ports a test scripts (upstream, loop deps, constitution),
// the rest filled in (a record list, background work awaited, a silent logger), and the answer read whole.
import type { Constitution } from '../../src/core/constitution/schema.ts';
import { buildConstitutionSet } from '../../src/core/constitution/set.ts';
import type { AnyProtocol } from '../../src/core/exchange/protocol.ts';
import { type ExchangePorts, type Reply, serveExchange } from '../../src/core/exchange/serve.ts';
import { SseRelay } from '../../src/core/exchange/sse-relay.ts';
import type { RequestRecord } from '../../src/core/log-record.ts';
import { builtRecord } from '../../src/core/log-record.ts';
import { createLogger } from '../../src/core/logger.ts';
import { createRedactor } from '../../src/core/redact.ts';

export type ScriptedPorts = Pick<ExchangePorts, 'constitution' | 'sendUpstream' | 'loopDeps'> &
  Partial<ExchangePorts>;

export async function runExchange(
  protocol: AnyProtocol,
  body: unknown,
  scripted: ScriptedPorts,
  options: { read?: (body: ReadableStream<Uint8Array>) => Promise<string> } = {},
): Promise<{ reply: Reply; text: string; records: RequestRecord[] }> {
  const records: RequestRecord[] = [];
  const background: Array<Promise<unknown>> = [];
  const redact = createRedactor(scripted.secrets ?? []);
  const ports: ExchangePorts = {
    requestId: 'req_fast',
    keyId: 'app',
    criticModel: () => 'critic',
    record: async (r) => {
      records.push(builtRecord(r));
    },
    background: (work) => background.push(work),
    // The next turn, as on Workers: after the answer is read.
    afterResponse: () => new Promise((resolve) => setTimeout(resolve, 0)),
    logger: createLogger(redact, { sink: () => {} }),
    redact,
    signal: new AbortController().signal,
    logEnabled: true,
    streamIdleTimeoutMs: 5_000,
    streamKeepAliveMs: 5_000,
    secrets: [],
    ...scripted,
  };
  const raw = JSON.stringify(body);
  const reply = await serveExchange(protocol, protocol.parse(raw), raw, ports);
  const readStream = (stream: ReadableStream<Uint8Array>) =>
    options.read?.(stream) ?? new Response(stream).text();
  const text =
    reply.body === null
      ? ''
      : typeof reply.body === 'string'
        ? reply.body
        : reply.body instanceof Uint8Array
          ? new TextDecoder().decode(reply.body)
          : await readStream(reply.body instanceof SseRelay ? reply.body.stream() : reply.body);
  await Promise.all(background);
  return { reply, text, records };
}

/** Resolves constitution texts (name → YAML) as the proxy does; a test's constitutions must load without errors. */
export async function constitutionsOf(files: Record<string, string>): Promise<Map<string, Constitution>> {
  const set = await buildConstitutionSet(
    Object.entries(files).map(([name, text]) => ({ file: `${name}.yaml`, text })),
  );
  const errors = set.problems.filter((p) => p.level === 'error');
  if (errors.length > 0) throw new Error(`test constitutions do not load: ${JSON.stringify(errors)}`);
  return set.constitutions;
}
