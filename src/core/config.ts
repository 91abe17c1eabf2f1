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

/** One setting: its zod type (with its default), its doc line, whether it is a secret, where it is read. */
interface Setting {
  type: z.ZodType;
  /** What it means: `tenet serve --help` and the README's settings table (markdown). */
  doc: string;
  /** The README's default column when the type's default does not say it (computed, or clearer in words). */
  shownDefault?: string;
  /** Never echoed in an error or a log line. */
  secret?: true;
  /** Read by the Node runtime only (else by both, on Workers as a var or secret). */
  nodeOnly?: true;
  /** A line in `.dev.vars.example`: its comment above it, and the value written (blank: unset). */
  example?: { comment?: string; value?: string };
}

/**
 * Every setting Tenet reads, declared once: parsing on Node and Workers, the "did you mean" list, `tenet serve
 * --help`, `.dev.vars.example` and the README's table are derived from it (`tenet settings` writes the two files).
 */
export const settingTable = {
  TENET_UPSTREAM_URL: {
    type: baseUrl('https://api.openai.com/v1'),
    doc: 'OpenAI-compatible base URL of the model apps talk to',
    example: { value: 'https://api.openai.com/v1' },
  },
  TENET_UPSTREAM_KEY: { type: optionalText, doc: 'its API key (secret)', secret: true, example: {} },
  TENET_ANTHROPIC_UPSTREAM_URL: {
    type: baseUrl('https://api.anthropic.com'),
    doc: 'the Anthropic API for `/v1/messages`, `count_tokens` and requests with `anthropic-version`',
  },
  TENET_ANTHROPIC_UPSTREAM_KEY: {
    type: optionalText,
    doc: "the Anthropic API's key (secret, sent as `x-api-key`)",
    secret: true,
  },
  TENET_UNGUARDED: {
    type: z.preprocess(
      blankToUndefined,
      z.enum(['refuse', 'forward'], { error: 'must be refuse or forward' }).default('refuse'),
    ),
    doc: '`refuse` or `forward` generation routes no protocol guards (images, audio, assistants runs, batches …)',
  },
  TENET_CRITIC_URL: {
    type: optionalBaseUrl,
    doc: "the critic's endpoint",
    shownDefault: "the upstream's",
    example: {
      comment:
        "The critic: blank = the upstream's URL and key; the model blank = the client's model (warned at start).",
    },
  },
  TENET_CRITIC_KEY: {
    type: optionalText,
    doc: "the critic's API key (secret)",
    shownDefault: "the upstream's",
    secret: true,
    example: {},
  },
  TENET_CRITIC_MODEL: {
    type: optionalText,
    doc: "the critic model (a constitution's `critic.model` wins)",
    shownDefault: "the client's model, with a warning at start",
    example: {},
  },
  TENET_API_KEYS: {
    type: apiKeys,
    doc: 'client keys Tenet accepts, comma-separated, each `key` or `name:key` (the name is what logs show); empty = open proxy, announced at start',
    shownDefault: 'empty',
    secret: true,
    example: {
      comment:
        'Client keys Tenet accepts: `key` or `name:key`, comma-separated. Empty = open proxy (warned at start).',
    },
  },
  TENET_BYOK: {
    type: boolean,
    doc: "bring your own key: the client's `Authorization` bearer goes to the upstream; Tenet's own key then travels in `x-tenet-api-key`",
    example: {
      comment: "Pass the client's own bearer to the upstream instead of TENET_UPSTREAM_KEY.",
      value: 'false',
    },
  },
  TENET_ADMIN_TOKEN: {
    type: z.preprocess(blankToUndefined, z.string().min(16, 'must be at least 16 characters').optional()),
    doc: 'token for `/admin` and the log API (secret, ≥ 16 characters)',
    shownDefault: '— (admin closed)',
    secret: true,
    example: {
      comment:
        'Opens /admin and the log API (at least 16 characters); tenet logs | stats | export send it too.',
    },
  },
  TENET_CONSTITUTION: {
    type: constitutionName,
    doc: "the default constitution's name",
    example: { value: 'default' },
  },
  TENET_KEY_CONSTITUTIONS: {
    type: keyConstitutions,
    doc: 'per client key default constitution, `keyname:constitution,…`; `keyname:name!` pins the key to it, `keyname:a|b` allows only those (a is the default): any other `x-tenet-constitution` is a 403',
    shownDefault: '—',
    example: {
      comment:
        'Per key: `app:support-bot` a default, `app:support-bot!` pinned to it (no other x-tenet-constitution).',
    },
  },
  TENET_ALLOWED_HOSTS: {
    type: hostList,
    doc: 'open proxy only (no `TENET_API_KEYS`): `Host` names (or `host:port`) answered besides `127.0.0.1`, `localhost`, `[::1]` on its port',
    shownDefault: '—',
    example: {
      comment: 'Open proxy only: extra Host names it answers besides 127.0.0.1, localhost and [::1].',
    },
  },
  TENET_ADMIN_AUTH_FAILURES: {
    type: integer(0, 1_000_000, 10),
    doc: 'failed admin sign-ins (bearer or form) allowed per client address per window, then 429 with `Retry-After` (0 = no limit)',
  },
  TENET_ADMIN_AUTH_WINDOW_S: {
    type: integer(1, 86_400, 300),
    doc: 'the window of `TENET_ADMIN_AUTH_FAILURES` (s)',
  },
  TENET_MAX_BODY_BYTES: {
    type: integer(1024, 1024 ** 3, 20 * 1024 * 1024),
    doc: 'largest request body accepted (413 above)',
    shownDefault: '`20971520` (20 MiB)',
  },
  TENET_UPSTREAM_TIMEOUT_MS: {
    type: integer(100, 3_600_000, 600_000),
    doc: 'how long the upstream may take to answer (504 after)',
  },
  TENET_STREAM_IDLE_TIMEOUT_MS: {
    type: integer(100, 3_600_000, 300_000),
    doc: 'longest silence inside an upstream stream before Tenet ends it with an error event',
  },
  TENET_STREAM_KEEPALIVE_MS: {
    type: integer(50, 600_000, 5_000),
    doc: 'buffered streams: keep-alive interval, and how long verdict headers may wait',
  },
  TENET_CRITIC_TIMEOUT_MS: {
    type: integer(100, 600_000, 60_000),
    doc: 'how long one critic or revision call may take',
  },
  TENET_VERDICT_CACHE_TTL_S: {
    type: integer(0, 30 * 86_400, 3_600),
    doc: 'how long a verdict for the same version, context and text is reused (0 = off)',
  },
  TENET_LOG: {
    type: z.preprocess(blankToUndefined, z.enum(['on', 'off'], { error: 'must be on or off' }).default('on')),
    doc: '`on` or `off`: record every request in the log (off: nothing is written, `/health` says so)',
  },
  TENET_LOG_RETENTION_DAYS: {
    type: integer(0, 36_500, 30),
    doc: 'log records older than this are purged (0 = keep forever)',
  },
  PORT: { type: integer(0, 65_535, 8787), doc: 'listen port', nodeOnly: true },
  TENET_HOST: {
    type: z.preprocess(blankToUndefined, z.string().trim().default('127.0.0.1')),
    doc: 'listen address',
    nodeOnly: true,
  },
  TENET_DB: {
    type: z.preprocess(blankToUndefined, z.string().trim().default('.tenet/tenet.db')),
    doc: 'the log: a SQLite file, or `postgres://user:password@host:port/db` for a fleet sharing one Postgres log (the password is a secret: never logged, shown or stored)',
    // A postgres:// URL carries its password.
    secret: true,
    nodeOnly: true,
  },
  TENET_DB_POOL: {
    type: integer(1, 1_000, 10),
    doc: "Postgres: connections each instance keeps open at most (instances × pool must stay under the server's `max_connections`)",
    nodeOnly: true,
  },
  TENET_CONSTITUTIONS_DIR: {
    type: z.preprocess(blankToUndefined, z.string().trim().default('constitutions')),
    doc: 'folder of constitutions, reloaded on change',
    nodeOnly: true,
  },
  TENET_HEADERS_TIMEOUT_MS: {
    type: integer(1_000, 3_600_000, 30_000),
    doc: 'time a client has to send its headers; then 408 and the socket closes',
    nodeOnly: true,
  },
  TENET_REQUEST_TIMEOUT_MS: {
    type: integer(1_000, 3_600_000, 300_000),
    doc: 'time a client has to send its whole request (headers and body); then 408 and the socket closes. Answers may stream for longer',
    nodeOnly: true,
  },
} satisfies Record<string, Setting>;

export type SettingName = keyof typeof settingTable;
type Table = typeof settingTable;

/** Every setting with its doc line (`tenet serve --help`; Node-only ones say so). */
export const settings = Object.fromEntries(
  Object.entries(settingTable as Record<SettingName, Setting>).map(([name, s]) => [
    name,
    s.nodeOnly ? `Node only: ${s.doc}` : s.doc,
  ]),
) as Record<SettingName, string>;

/** The settings whose values are secrets: never echoed in errors or logs. */
const secretSettings = new Set<string>(
  Object.entries(settingTable as Record<string, Setting>)
    .filter(([, s]) => s.secret)
    .map(([name]) => name),
);

type ShapeOf<Names extends SettingName> = { [K in Names]: Table[K]['type'] };
type SharedName = { [K in SettingName]: Table[K] extends { nodeOnly: true } ? never : K }[SettingName];

const shapeOf = <Names extends SettingName>(keep: (s: Setting) => boolean) =>
  Object.fromEntries(
    Object.entries(settingTable as Record<string, Setting>)
      .filter(([, s]) => keep(s))
      .map(([name, s]) => [name, s.type]),
  ) as ShapeOf<Names>;

/** The settings both runtimes read (on Workers, vars and secrets). */
const baseShape = shapeOf<SharedName>((s) => !s.nodeOnly);
/** The Node runtime's: all of them. */
const nodeShape = shapeOf<SettingName>(() => true);

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
export const cliVariables = {
  TENET_URL: {
    doc: 'where Tenet runs, for the CLI',
    example: {
      comment:
        'For the CLI (tenet logs | stats | export | replay | redteam): where Tenet runs. The server ignores it.',
      value: 'http://127.0.0.1:8787',
    },
  },
  TENET_KEY: { doc: 'a client key, for `tenet redteam`' },
} as const;

/** A TENET_* variable Tenet does not know is a typo until proven otherwise: it would silently be ignored. */
function unknownSettings(env: Env): string[] {
  const known = [...Object.keys(settings), ...Object.keys(cliVariables)];
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
