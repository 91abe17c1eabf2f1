// Process groups the tests and the bench start their servers in (spawned detached, one group per server).
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Every process this machine lists in /proc: its id, state, parent and group. */
export function processes(): { pid: number; state: string; ppid: number; pgrp: number }[] {
  const out: { pid: number; state: string; ppid: number; pgrp: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // After the command's name: state, ppid, pgrp, …
    const [state = '', ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.push({ pid: Number(entry), state, ppid: Number(ppid), pgrp: Number(pgrp) });
  }
  return out;
}

/** Whether a live (not zombie) process is left in process group `pgid`. */
export function groupAlive(pgid: number): boolean {
  if (!existsSync('/proc/self/stat')) {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  return processes().some((p) => p.state !== 'Z' && p.pgrp === pgid);
}
