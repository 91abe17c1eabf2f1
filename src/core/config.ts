// Tenet's settings: parsed and validated once from the environment, with errors that name the setting.
import { z } from 'zod';
import { TenetFault } from './errors.ts';
import { suggest } from './suggest.ts';

/** A client key Tenet accepts; `id` is what logs and headers may show, never the key itself. */
export interface ClientKey {
  id: string;
  key: string;
}

/** A client key's constitutions: its default, and (pinned) the only ones the header may select. */
export interface KeyConstitutions {
  default: string;
  /** Undefined: any loaded constitution may be selected; else the allow-list (the default first). */
  allowed: string[] | undefined;
}

export interface Config {
  upstreamUrl: string;
  upstreamKey: string | undefined;
  criticUrl: string;
  criticKey: string | undefined;
  criticModel: string | undefined;
  apiKeys: ClientKey[];
  byok: boolean;
  adminToken: string | undefined;
  constitution: string;
  /** Client key name → its default constitution and, when pinned, the only ones its requests may select. */
  keyConstitutions: Record<string, KeyConstitutions>;
  maxBodyBytes: number;
  upstreamTimeoutMs: number;
  streamIdleTimeoutMs: number;
  streamKeepAliveMs: number;
  criticTimeoutMs: number;
  /** How long a verdict is reused for the same text (0 = never). */
  verdictCacheTtlSeconds: number;
  /** Log records older than this are purged (0 = kept forever). */
  logRetentionDays: number;
  /** Whether requests are recorded at all. */
  logEnabled: boolean;
  /** Anthropic Messages requests (`/v1/messages`) go here, with this key. */
  anthropicUpstreamUrl: string;
  anthropicUpstreamKey: string | undefined;
  /** Generation routes no protocol guards: refused (default) or forwarded unjudged. */
  unguarded: 'refuse' | 'forward';
  /** Failed admin sign-ins allowed per client address per window (0 = no limit). */
  adminAuthFailures: number;
  adminAuthWindowMs: number;
  /** Host names (or host:port) an open proxy answers besides its loopback address (TENET_ALLOWED_HOSTS). */
  allowedHosts: string[];
}

/** Node-only settings: where to listen and where the log lives (a SQLite file, or a Postgres server). */
export interface NodeConfig extends Config {
  port: number;
  host: string;
  /** A SQLite file path, or a postgres:// (postgresql://) URL. */
  db: string;
  /** Postgres only: connections each instance keeps at most. */
  dbPool: number;
  constitutionsDir: string;
  /** Time to receive a request's headers, and its whole request (headers and body), before the socket is closed. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

/** Every setting Tenet reads, with what it means (shown in errors, `tenet serve --help` and the README). */
export const settings = {
  TENET_UPSTREAM_URL: 'OpenAI-compatible base URL of the model apps talk to',
  TENET_UPSTREAM_KEY: 'API key for the upstream (secret)',
  TENET_ANTHROPIC_UPSTREAM_URL: 'base URL of the Anthropic Messages API (for /v1/messages requests)',
  TENET_ANTHROPIC_UPSTREAM_KEY: 'API key for the Anthropic upstream (secret)',
  TENET_UNGUARDED:
    'refuse | forward: generation routes no protocol guards (assistants runs, audio, images …)',
  TENET_CRITIC_URL: "the critic's base URL (default: the upstream's)",
  TENET_CRITIC_KEY: "the critic's API key (secret; default: the upstream's)",
  TENET_CRITIC_MODEL: 'the critic model',
  TENET_API_KEYS: 'client keys Tenet accepts, comma-separated, each `key` or `name:key`; empty = open',
  TENET_BYOK: "bring your own key: pass the client's bearer to the upstream (true|false)",
  TENET_ADMIN_TOKEN: 'token for /admin and the log API (secret)',
  TENET_CONSTITUTION: "the default constitution's name",
  TENET_KEY_CONSTITUTIONS:
    'per client key default constitution, comma-separated `keyname:constitution`; `keyname:name!` pins the key to it, `keyname:a|b` allows only those (a is the default)',
  TENET_ALLOWED_HOSTS:
    'open proxy only: Host names (or host:port) answered besides 127.0.0.1, localhost and [::1], comma-separated',
  TENET_ADMIN_AUTH_FAILURES:
    'failed admin sign-ins (token or form) allowed per client address per window before 429 (0 = no limit)',
  TENET_ADMIN_AUTH_WINDOW_S: 'the window of TENET_ADMIN_AUTH_FAILURES (s)',
  TENET_MAX_BODY_BYTES: 'largest request body accepted, in bytes',
  TENET_UPSTREAM_TIMEOUT_MS: 'how long to wait for the upstream to answer (ms)',
  TENET_STREAM_IDLE_TIMEOUT_MS: 'longest silence allowed inside an upstream stream (ms)',
  TENET_CRITIC_TIMEOUT_MS: 'how long one critic or revision call may take (ms)',
  TENET_LOG: 'on | off: record every request in the log (off: nothing is written)',
  TENET_LOG_RETENTION_DAYS: 'log records older than this many days are purged (0 = keep forever)',
  TENET_VERDICT_CACHE_TTL_S:
    'how long a verdict for the same constitution version and text is reused (s; 0 = off)',
  TENET_STREAM_KEEPALIVE_MS:
    'while a buffered stream is judged: SSE keep-alive interval, and how long verdict headers may wait (ms)',
  PORT: 'Node only: listen port',
  TENET_HOST: 'Node only: listen address',
  TENET_DB:
    'Node only: the log: a SQLite file path, or postgres://user:password@host:port/db for a fleet sharing one Postgres log (the password is a secret)',
  TENET_DB_POOL: 'Node only, Postgres log: connections each instance keeps open at most',
  TENET_CONSTITUTIONS_DIR: 'Node only: folder of constitution files, reloaded on change',
  TENET_HEADERS_TIMEOUT_MS: "Node only: time allowed to receive a request's headers (ms)",
  TENET_REQUEST_TIMEOUT_MS:
    'Node only: time allowed to receive a whole request, headers and body (ms; answers may stream longer)',
} as const;

export type SettingName = keyof typeof settings;

/** The settings whose values are secrets: never echoed in errors or logs. */
const secretSettings = new Set<string>([
  'TENET_UPSTREAM_KEY',
  'TENET_ANTHROPIC_UPSTREAM_KEY',
  'TENET_CRITIC_KEY',
  'TENET_API_KEYS',
  'TENET_ADMIN_TOKEN',
  // A postgres:// URL carries its password.
  'TENET_DB',
]);

export class ConfigError extends TenetFault {
  readonly code = 'config_invalid';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const urlText = z
  .string()
  .trim()
  .refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without credentials, e.g. https://api.openai.com/v1')
  .transform((v) => v.replace(/\/+$/, ''));

/**
 * An http(s) base URL; blank means unset (the shipped .dev.vars.example leaves optional ones empty), so the
 * blank check wraps the default or the optional: `preprocess(…).optional()` would still run the inner
 * string check on the `undefined` a blank becomes.
 */
const baseUrl = (fallback: string) => z.preprocess(blankToUndefined, urlText.default(fallback));
const optionalBaseUrl = z.preprocess(blankToUndefined, urlText.optional());

const optionalText = z.preprocess(blankToUndefined, z.string().trim().optional());

const integer = (min: number, max: number, fallback: number) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .trim()
      .regex(/^\d+$/, 'must be a whole number')
      .transform(Number)
      .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
      .default(fallback),
  );

const boolean = z.preprocess(
  blankToUndefined,
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes')
    .default(false),
);

const keyIdPattern = /^[A-Za-z0-9._-]{1,64}$/;

const apiKeys = z.preprocess(
  blankToUndefined,
  z
    .string()
    .default('')
    .transform((raw, ctx): ClientKey[] => {
      const keys: ClientKey[] = [];
      const entries = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      entries.forEach((entry, i) => {
        const colon = entry.indexOf(':');
        const id = colon > 0 ? entry.slice(0, colon) : `key${i + 1}`;
        const key = colon > 0 ? entry.slice(colon + 1) : entry;
        if (colon > 0 && !keyIdPattern.test(id)) {
          ctx.addIssue({
            code: 'custom',
            message: `entry ${i + 1}: the name before ':' must be 1-64 letters, digits, '.', '_' or '-'`,
          });
        } else if (key.length < 8) {
          ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: a key must be at least 8 characters` });
        } else if (keys.some((k) => k.id === id)) {
          ctx.addIssue({ code: 'custom', message: `entry ${i + 1}: the name "${id}" is used twice` });
        } else {
          keys.push({ id, key });
        }
      });
      return keys;
    }),
);

const constitutionName = z.preprocess(
  blankToUndefined,
  z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a constitution name: lower-case letters, digits and dashes')
    .default('default'),
);

const namePattern = /^[a-z0-9][a-z0-9-]*$/;

const keyConstitutions = z.preprocess(
  blankToUndefined,
  z
    .string()
    .default('')
    .transform((raw, ctx) => {
      const out: Record<string, KeyConstitutions> = {};
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .forEach((entry, i) => {
          const [key, value, ...rest] = entry.split(':').map((s) => s.trim());
          // `name` a default, `name!` pinned to it, `a|b|c` an allow-list whose first is the default.
          const pinned = value?.endsWith('!') ?? false;
          const names = (pinned ? value?.slice(0, -1) : value)?.split('|').map((s) => s.trim()) ?? [];
          const first = names[0];
          if (!key || !first || rest.length > 0 || !names.every((n) => namePattern.test(n))) {
            ctx.addIssue({
              code: 'custom',
              message: `entry ${i + 1}: must be keyname:constitution, keyname:constitution! or keyname:a|b (got "${entry}")`,
            });
          } else {
            out[key] = { default: first, allowed: pinned || names.length > 1 ? names : undefined };
          }
        });
      return out;
    }),
);

/** Host names as the Host header carries them (lower case), `host` or `host:port`. */
const hostList = z.preprocess(
  blankToUndefined,
  z
    .string()
    .default('')
    .transform((raw, ctx) => {
      const hosts = raw
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean);
      for (const host of hosts) {
        if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?$/.test(host)) {
          ctx.addIssue({ code: 'custom', message: `"${host}" is not a host name or host:port` });
        }
      }
      return hosts;
    }),
);

const baseShape = {
  TENET_UPSTREAM_URL: baseUrl('https://api.openai.com/v1'),
  TENET_UPSTREAM_KEY: optionalText,
  TENET_ANTHROPIC_UPSTREAM_URL: baseUrl('https://api.anthropic.com'),
  TENET_ANTHROPIC_UPSTREAM_KEY: optionalText,
  TENET_UNGUARDED: z.preprocess(
    blankToUndefined,
    z.enum(['refuse', 'forward'], { error: 'must be refuse or forward' }).default('refuse'),
  ),
  TENET_CRITIC_URL: optionalBaseUrl,
  TENET_CRITIC_KEY: optionalText,
  TENET_CRITIC_MODEL: optionalText,
  TENET_API_KEYS: apiKeys,
  TENET_BYOK: boolean,
  TENET_ADMIN_TOKEN: z.preprocess(
    blankToUndefined,
    z.string().min(16, 'must be at least 16 characters').optional(),
  ),
  TENET_CONSTITUTION: constitutionName,
  TENET_KEY_CONSTITUTIONS: keyConstitutions,
  TENET_MAX_BODY_BYTES: integer(1024, 1024 ** 3, 20 * 1024 * 1024),
  TENET_UPSTREAM_TIMEOUT_MS: integer(100, 3_600_000, 600_000),
  TENET_STREAM_IDLE_TIMEOUT_MS: integer(100, 3_600_000, 300_000),
  TENET_STREAM_KEEPALIVE_MS: integer(50, 600_000, 5_000),
  TENET_CRITIC_TIMEOUT_MS: integer(100, 600_000, 60_000),
  TENET_VERDICT_CACHE_TTL_S: integer(0, 30 * 86_400, 3_600),
  TENET_LOG_RETENTION_DAYS: integer(0, 36_500, 30),
  TENET_LOG: z.preprocess(
    blankToUndefined,
    z.enum(['on', 'off'], { error: 'must be on or off' }).default('on'),
  ),
  TENET_ALLOWED_HOSTS: hostList,
  TENET_ADMIN_AUTH_FAILURES: integer(0, 1_000_000, 10),
  TENET_ADMIN_AUTH_WINDOW_S: integer(1, 86_400, 300),
};

const nodeShape = {
  ...baseShape,
  PORT: integer(0, 65_535, 8787),
  TENET_HOST: z.preprocess(blankToUndefined, z.string().trim().default('127.0.0.1')),
  TENET_DB: z.preprocess(blankToUndefined, z.string().trim().default('.tenet/tenet.db')),
  TENET_DB_POOL: integer(1, 1_000, 10),
  TENET_CONSTITUTIONS_DIR: z.preprocess(blankToUndefined, z.string().trim().default('constitutions')),
  TENET_HEADERS_TIMEOUT_MS: integer(1_000, 3_600_000, 30_000),
  TENET_REQUEST_TIMEOUT_MS: integer(1_000, 3_600_000, 300_000),
};

type Env = Record<string, unknown>;

function problemsOf(error: z.ZodError, env: Env): string[] {
  return error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '');
    const value = env[name];
    const got =
      secretSettings.has(name) || typeof value !== 'string' ? '' : ` (got ${JSON.stringify(value)})`;
    return `${name}: ${issue.message}${got}`;
  });
}

/**
 * Variables the `tenet` CLI reads (`tenet logs|stats|export|replay|redteam`): not the server's, but at home in the
 * same shell or `.dev.vars`, so the server accepts and ignores them.
 */
export const cliVariables = ['TENET_URL', 'TENET_KEY'] as const;

/** A TENET_* variable Tenet does not know is a typo until proven otherwise: it would silently be ignored. */
function unknownSettings(env: Env): string[] {
  const known = [...Object.keys(settings), ...cliVariables];
  return Object.keys(env)
    .filter((k) => k.startsWith('TENET_') && typeof env[k] === 'string' && !known.includes(k))
    .map((k) => {
      const near = suggest(k, known);
      return `${k}: unknown setting${near ? ` (did you mean ${near}?)` : ''}`;
    });
}

function crossProblems(v: z.infer<z.ZodObject<typeof baseShape>>): string[] {
  const names = new Set(v.TENET_API_KEYS.map((k) => k.id));
  return Object.keys(v.TENET_KEY_CONSTITUTIONS)
    .filter((key) => !names.has(key))
    .map((key) => `TENET_KEY_CONSTITUTIONS: no client key named "${key}" in TENET_API_KEYS`);
}

function toConfig(v: z.infer<z.ZodObject<typeof baseShape>>): Config {
  return {
    upstreamUrl: v.TENET_UPSTREAM_URL,
    upstreamKey: v.TENET_UPSTREAM_KEY,
    criticUrl: v.TENET_CRITIC_URL ?? v.TENET_UPSTREAM_URL,
    criticKey: v.TENET_CRITIC_KEY ?? v.TENET_UPSTREAM_KEY,
    criticModel: v.TENET_CRITIC_MODEL,
    apiKeys: v.TENET_API_KEYS,
    byok: v.TENET_BYOK,
    adminToken: v.TENET_ADMIN_TOKEN,
    constitution: v.TENET_CONSTITUTION,
    keyConstitutions: v.TENET_KEY_CONSTITUTIONS,
    maxBodyBytes: v.TENET_MAX_BODY_BYTES,
    upstreamTimeoutMs: v.TENET_UPSTREAM_TIMEOUT_MS,
    streamIdleTimeoutMs: v.TENET_STREAM_IDLE_TIMEOUT_MS,
    streamKeepAliveMs: v.TENET_STREAM_KEEPALIVE_MS,
    criticTimeoutMs: v.TENET_CRITIC_TIMEOUT_MS,
    verdictCacheTtlSeconds: v.TENET_VERDICT_CACHE_TTL_S,
    logRetentionDays: v.TENET_LOG_RETENTION_DAYS,
    logEnabled: v.TENET_LOG === 'on',
    anthropicUpstreamUrl: v.TENET_ANTHROPIC_UPSTREAM_URL,
    anthropicUpstreamKey: v.TENET_ANTHROPIC_UPSTREAM_KEY,
    unguarded: v.TENET_UNGUARDED,
    adminAuthFailures: v.TENET_ADMIN_AUTH_FAILURES,
    adminAuthWindowMs: v.TENET_ADMIN_AUTH_WINDOW_S * 1000,
    allowedHosts: v.TENET_ALLOWED_HOSTS,
  };
}

/** Parses the settings shared by both runtimes; throws a ConfigError listing every problem. */
export function parseConfig(env: Env): Config {
  const result = z.object(baseShape).safeParse(env);
  const problems = [
    ...(result.success ? crossProblems(result.data) : problemsOf(result.error, env)),
    ...unknownSettings(env),
  ];
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  return toConfig(result.data);
}

/** Parses the settings of the Node runtime (the shared ones plus PORT, TENET_HOST, TENET_DB). */
export function parseNodeConfig(env: Env): NodeConfig {
  const result = z.object(nodeShape).safeParse(env);
  const problems = [
    ...(result.success ? crossProblems(result.data) : problemsOf(result.error, env)),
    ...(result.success && result.data.TENET_HEADERS_TIMEOUT_MS > result.data.TENET_REQUEST_TIMEOUT_MS
      ? [
          'TENET_HEADERS_TIMEOUT_MS: must not be longer than TENET_REQUEST_TIMEOUT_MS (which includes the headers)',
        ]
      : []),
    ...unknownSettings(env),
  ];
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  return {
    ...toConfig(result.data),
    port: result.data.PORT,
    host: result.data.TENET_HOST,
    db: result.data.TENET_DB,
    dbPool: result.data.TENET_DB_POOL,
    constitutionsDir: result.data.TENET_CONSTITUTIONS_DIR,
    headersTimeoutMs: result.data.TENET_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: result.data.TENET_REQUEST_TIMEOUT_MS,
  };
}

/** Whether TENET_DB names a Postgres server (else it is a SQLite file). */
export const isPostgresUrl = (db: string) => /^postgres(ql)?:\/\//i.test(db);

/** The password of a postgres:// URL, as written and decoded (either may turn up in a driver's message). */
function databasePasswords(config: Config): string[] {
  const db = 'db' in config && typeof config.db === 'string' ? config.db : '';
  if (!isPostgresUrl(db)) return [];
  try {
    const { password } = new URL(db);
    return password ? [password, decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}

/** Every secret value in the config, so log lines and error messages can be scrubbed of them. */
export function secretsOf(config: Config): string[] {
  return [
    ...databasePasswords(config),
    config.upstreamKey,
    config.anthropicUpstreamKey,
    config.criticKey,
    config.adminToken,
    ...config.apiKeys.map((k) => k.key),
  ].filter((s): s is string => typeof s === 'string' && s.length > 0);
}

/** What an operator should hear at start: settings that work but are probably not what they want. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (config.apiKeys.length === 0) {
    warnings.push(
      'TENET_API_KEYS is empty: the proxy is OPEN, anyone who can reach it can use it' +
        (config.byok ? ' (with their own upstream key)' : ' on your upstream key') +
        '. Set TENET_API_KEYS before exposing it.',
    );
  }
  if (!config.upstreamKey && !config.byok) {
    warnings.push(
      `TENET_UPSTREAM_KEY is not set: requests go to ${config.upstreamUrl} without a key (fine for a local Ollama or vLLM).`,
    );
  }
  if (!config.adminToken) warnings.push('TENET_ADMIN_TOKEN is not set: /admin is closed.');
  if (!config.criticModel) {
    warnings.push(
      'TENET_CRITIC_MODEL is not set: answers are judged by the model that wrote them, unless a constitution names critic.model.',
    );
  }
  return warnings;
}
