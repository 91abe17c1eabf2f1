// A port clash at start, explained: which port, what holds it (when the system says), and the setting to change.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { TenetFault } from '../core/errors.ts';

/** Thrown instead of a raw EADDRINUSE: its message says what to do. */
export class PortInUseError extends TenetFault {
  readonly code = 'port_in_use';
  constructor(message: string) {
    super(message);
    this.name = 'PortInUseError';
  }
}

/** Resolves when `host:port` can be listened on; rejects with the listen error (EADDRINUSE, EACCES …) otherwise. */
export async function checkPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * The process listening on a TCP port, read from /proc on Linux (the socket's inode in /proc/net/tcp*, then the
 * process holding it); undefined anywhere else, or for another user's process we may not inspect.
 */
function listenerOf(port: number): string | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      // State 0A is LISTEN; the local address ends with the port in hex.
      if (cols[3] === '0A' && local && Number.parseInt(local.split(':')[1] ?? '', 16) === port && cols[9])
        inodes.add(`socket:[${cols[9]}]`);
    }
  }
  if (inodes.size === 0) return undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!inodes.has(target)) continue;
      let command = '';
      try {
        command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      } catch {
        // the process just ended
      }
      return `process ${pid}${command ? ` (${command.slice(0, 120)})` : ''}`;
    }
  }
  return undefined;
}

/** Whether a Tenet answers on that port (its /health names the runtime). */
async function tenetOn(host: string, port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}/health`, {
      signal: AbortSignal.timeout(1_000),
    });
    const body = (await res.json()) as { runtime?: unknown };
    return typeof body.runtime === 'string' ? `another Tenet (runtime ${body.runtime})` : undefined;
  } catch {
    return undefined;
  }
}

/** The message for a port that is taken: which one, what holds it if knowable, and how to pick another. */
export async function portInUseMessage(
  host: string,
  port: number,
  runtime: 'node' | 'workers',
): Promise<string> {
  const holder = [await tenetOn(host, port), listenerOf(port)].filter(Boolean).join(', ');
  const other = runtime === 'node' ? 'npm start' : 'npx tenet serve';
  const change =
    runtime === 'node'
      ? `set PORT to a free port (PORT=${port + 1} npx tenet serve)`
      : `set PORT to a free port (PORT=${port + 1} npm start) or pass --port ${port + 1}`;
  return (
    `port ${port} on ${host} is already in use${holder ? ` by ${holder}` : ''}. ` +
    `Stop it, or ${change}. (npm start and npx tenet serve both default to 8787: to run both, give ${other} another PORT.)`
  );
}
