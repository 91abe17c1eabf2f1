// The `tenet` command's start-up: bad settings stop it with their names, an open proxy is announced.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settings } from '../../src/core/config.ts';
import { startTenet } from '../tenet-process.ts';

const root = new URL('../..', import.meta.url).pathname;

function tenet(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['bin/tenet.mjs', ...args], {
    cwd: root,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, out: result.stdout + result.stderr };
}

describe('tenet serve / tenet dev start-up', () => {
  it.each(['serve', 'dev'])('%s refuses to start on a bad setting and names every one', (command) => {
    const { code, out } = tenet([command], {
      TENET_UPSTREAM_URL: 'localhost:11434',
      TENET_API_KEYS: 'web:tiny',
      TENET_CRITIC_MODLE: 'gpt-4o-mini',
    });
    expect(code).toBe(1);
    expect(out).toContain('TENET_UPSTREAM_URL: must be an http(s) URL');
    expect(out).toContain('TENET_API_KEYS: entry 1: a key must be at least 8 characters');
    expect(out).toContain('TENET_CRITIC_MODLE: unknown setting (did you mean TENET_CRITIC_MODEL?)');
    expect(out).not.toContain('tiny');
    expect(out).not.toMatch(/\n\s+at /);
  });

  it('serve announces an open proxy when no client keys are set', async () => {
    const server = await startTenet('node', { TENET_UPSTREAM_URL: 'http://127.0.0.1:9/v1' });
    try {
      expect(server.output()).toMatch(/TENET_API_KEYS is empty: the proxy is OPEN/);
    } finally {
      await server.stop();
    }
  });

  it('serve reads settings from --env-file', async () => {
    const { code, out } = tenet(['serve', '--env-file', '/nonexistent/.dev.vars'], {});
    expect(code).not.toBe(0);
    expect(out).toContain('/nonexistent/.dev.vars');
  });

  it('help lists every setting', () => {
    const { code, out } = tenet(['help'], {});
    expect(code).toBe(0);
    for (const name of [
      'TENET_UPSTREAM_URL',
      'TENET_API_KEYS',
      'TENET_BYOK',
      'TENET_MAX_BODY_BYTES',
      'PORT',
    ]) {
      expect(out).toContain(name);
    }
  });
});

describe('the README', () => {
  it('opens with the two set-up commands and documents every setting', () => {
    const readme = readFileSync(`${root}/README.md`, 'utf8');
    const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1]?.trim().split('\n') ?? [];
    expect(block.map((l) => l.replace(/\s+#.*$/, ''))).toEqual(['npm ci && npm start', 'npm ci && npm test']);
    for (const name of Object.keys(settings)) expect(readme).toContain(`\`${name}\``);
  });
});
