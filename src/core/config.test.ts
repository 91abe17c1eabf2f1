// parseConfig: defaults, every problem named at once, secrets never echoed, typos caught.
import { describe, expect, it } from 'vitest';
import { ConfigError, configWarnings, parseConfig, parseNodeConfig, secretsOf, settings } from './config.ts';

const problems = (env: Record<string, string>): string[] => {
  try {
    parseNodeConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('parseConfig', () => {
  it('fills in the documented defaults', () => {
    const c = parseNodeConfig({});
    expect(c).toMatchObject({
      upstreamUrl: 'https://api.openai.com/v1',
      criticUrl: 'https://api.openai.com/v1',
      apiKeys: [],
      byok: false,
      constitution: 'default',
      port: 8787,
      host: '127.0.0.1',
      db: '.tenet/tenet.db',
      dbPool: 10,
    });
  });

  it("treats a Postgres URL's password as a secret: scrubbed from log lines, never echoed", () => {
    const c = parseNodeConfig({ TENET_DB: 'postgres://tenet:p%40ss-w0rd-xyz@db.internal:5432/tenet' });
    expect(secretsOf(c)).toEqual(expect.arrayContaining(['p%40ss-w0rd-xyz', 'p@ss-w0rd-xyz']));
    expect(secretsOf(parseNodeConfig({ TENET_DB: '/var/lib/tenet/tenet.db' }))).toEqual([]);
    expect(() => parseNodeConfig({ TENET_DB: 'postgres://u:p@h/d', TENET_DB_POOL: '0' })).toThrow(
      /TENET_DB_POOL/,
    );
  });

  it('reads every setting left blank (as in .dev.vars.example) as unset', () => {
    for (const blank of ['', '  ']) {
      const env = Object.fromEntries(Object.keys(settings).map((name) => [name, blank]));
      expect(parseNodeConfig(env)).toEqual(parseNodeConfig({}));
    }
  });

  it('derives the critic endpoint and key from the upstream and trims a trailing slash', () => {
    const c = parseConfig({
      TENET_UPSTREAM_URL: 'http://127.0.0.1:11434/v1/',
      TENET_UPSTREAM_KEY: 'sk-up-123456',
    });
    expect(c.upstreamUrl).toBe('http://127.0.0.1:11434/v1');
    expect(c.criticUrl).toBe('http://127.0.0.1:11434/v1');
    expect(c.criticKey).toBe('sk-up-123456');
  });

  it('parses named and unnamed client keys', () => {
    const c = parseConfig({ TENET_API_KEYS: 'web:key-web-123456, key-plain-123456' });
    expect(c.apiKeys).toEqual([
      { id: 'web', key: 'key-web-123456' },
      { id: 'key2', key: 'key-plain-123456' },
    ]);
  });

  it('reports every bad setting at once, by name', () => {
    const found = problems({
      TENET_UPSTREAM_URL: 'ftp://example.com',
      TENET_MAX_BODY_BYTES: '12kb',
      TENET_BYOK: 'maybe',
      PORT: '70000',
      TENET_CONSTITUTION: 'Support Bot',
    });
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual([
      'PORT',
      'TENET_BYOK',
      'TENET_CONSTITUTION',
      'TENET_MAX_BODY_BYTES',
      'TENET_UPSTREAM_URL',
    ]);
    expect(found.find((p) => p.startsWith('PORT'))).toContain('at most 65535');
  });

  it('never echoes a secret value in its errors', () => {
    const found = problems({ TENET_API_KEYS: 'web:short', TENET_ADMIN_TOKEN: 'tiny-token' });
    expect(found).toHaveLength(2);
    expect(found.join('\n')).not.toMatch(/short|tiny-token/);
  });

  it('rejects a URL carrying credentials', () => {
    expect(problems({ TENET_UPSTREAM_URL: 'https://user:pass@example.com/v1' })[0]).toMatch(
      /^TENET_UPSTREAM_URL:/,
    );
  });

  it('calls an unknown TENET_ variable a typo and suggests the setting', () => {
    expect(problems({ TENET_UPSTREM_URL: 'http://x' })).toEqual([
      'TENET_UPSTREM_URL: unknown setting (did you mean TENET_UPSTREAM_URL?)',
    ]);
  });

  it("accepts the CLI's own variables (TENET_URL, TENET_KEY) in the server's environment", () => {
    expect(problems({ TENET_URL: 'http://127.0.0.1:8787', TENET_KEY: 'client-key-0123456789' })).toEqual([]);
  });

  it('warns loudly about an open proxy and lists every secret for redaction', () => {
    const open = parseConfig({});
    expect(configWarnings(open).join('\n')).toMatch(/OPEN/);
    const closed = parseConfig({
      TENET_API_KEYS: 'a:key-aaaaaaaa',
      TENET_UPSTREAM_KEY: 'sk-up-1234',
      TENET_ADMIN_TOKEN: 'admin-token-0123456789',
    });
    expect(configWarnings(closed).join('\n')).not.toMatch(/OPEN/);
    expect(secretsOf(closed).sort()).toEqual([
      'admin-token-0123456789',
      'key-aaaaaaaa',
      'sk-up-1234',
      'sk-up-1234',
    ]);
  });
});
