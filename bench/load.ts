// Load generator for the proxy benchmark: closed-loop workers on keep-alive undici pools, and percentiles.
import { Pool } from 'undici';

export type Mode = 'json' | 'stream';

/** What one measurement window saw on one target. */
export interface WindowResult {
  requests: number;
  elapsedMs: number;
  /** Whole-request latency in ms (to the last byte of the body). */
  latencies: number[];
  /** Time to the first body chunk in ms (recorded for streams only). */
  ttfc: number[];
  /** Body chunks the client received, summed (how finely the stream arrived). */
  chunks: number;
}

const prompt =
  'I am planning a three-day trip to Lisbon in late October with my partner. We like food markets, ' +
  'small museums and walking. Suggest a rough plan per day and one restaurant for each evening.';

/** A realistic small chat request (~300 bytes, one user message), as the client sends it. */
export function chatBody(mode: Mode): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: prompt }],
      temperature: 0.7,
      max_tokens: 512,
      ...(mode === 'stream' ? { stream: true } : {}),
    }),
  );
}

const maxRequestsPerWindow = 2_000_000;

/** One keep-alive client per (target, connection count), reused across windows so connections stay warm. */
export class LoadClient {
  readonly #pools = new Map<number, Pool>();
  readonly #bodies: Record<Mode, Buffer> = { json: chatBody('json'), stream: chatBody('stream') };
  readonly #headers: Record<string, string>;

  constructor(
    readonly name: string,
    readonly origin: string,
    apiKey: string,
  ) {
    this.#headers = { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` };
  }

  #pool(connections: number): Pool {
    let pool = this.#pools.get(connections);
    if (!pool) {
      pool = new Pool(this.origin, {
        connections,
        pipelining: 1,
        headersTimeout: 15_000,
        bodyTimeout: 15_000,
      });
      this.#pools.set(connections, pool);
    }
    return pool;
  }

  /** Sends one request and reads the body to the end; throws on anything but a complete 200 answer. */
  async once(mode: Mode, connections: number, out?: WindowResult): Promise<string | undefined> {
    try {
      return await this.#once(mode, connections, out);
    } catch (err) {
      throw new Error(`${this.name} (${this.origin}), ${mode} request: ${String(err)}`, { cause: err });
    }
  }

  async #once(mode: Mode, connections: number, out?: WindowResult): Promise<string | undefined> {
    const keep = out === undefined;
    const t0 = performance.now();
    const res = await this.#pool(connections).request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: this.#headers,
      body: this.#bodies[mode],
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new Error(`answered ${res.statusCode}: ${text.slice(0, 300)}`);
    }
    let first = -1;
    let chunks = 0;
    let prev: Buffer | undefined;
    let last: Buffer | undefined;
    const all: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      res.body.on('data', (chunk: Buffer) => {
        if (first < 0) first = performance.now();
        chunks++;
        prev = last;
        last = chunk;
        if (keep) all.push(chunk);
      });
      res.body.once('end', resolve);
      res.body.once('error', reject);
    });
    const t1 = performance.now();
    const tail = Buffer.concat([prev ?? Buffer.alloc(0), last ?? Buffer.alloc(0)]).toString('utf8');
    const complete = mode === 'stream' ? tail.endsWith('data: [DONE]\n\n') : tail.trimEnd().endsWith('}');
    if (!complete) throw new Error(`incomplete ${mode} answer, ending ${JSON.stringify(tail)}`);
    if (out) {
      out.latencies.push(t1 - t0);
      if (mode === 'stream') out.ttfc.push(first - t0);
      out.chunks += chunks;
      out.requests++;
    }
    return keep ? Buffer.concat(all).toString('utf8') : undefined;
  }

  /** Opens every connection of the pool (and the proxy's own upstream connections) before a window. */
  async prime(mode: Mode, connections: number): Promise<void> {
    await Promise.all(Array.from({ length: connections }, () => this.once(mode, connections)));
  }

  /** Closed loop: `connections` workers send back-to-back requests until `durationMs` has passed. */
  async window(mode: Mode, connections: number, durationMs: number): Promise<WindowResult> {
    const out: WindowResult = { requests: 0, elapsedMs: 0, latencies: [], ttfc: [], chunks: 0 };
    const start = performance.now();
    const deadline = start + durationMs;
    const worker = async () => {
      while (performance.now() < deadline && out.requests < maxRequestsPerWindow) {
        await this.once(mode, connections, out);
      }
    };
    await Promise.all(Array.from({ length: connections }, worker));
    out.elapsedMs = performance.now() - start;
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.destroy()));
    this.#pools.clear();
  }
}

/** Nearest-rank percentile of `values` (sorted in place); NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  const rank = Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1));
  return values[rank] ?? Number.NaN;
}
