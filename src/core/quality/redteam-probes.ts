// Red-team probe files: the format (a zod schema), positioned errors for every mistake, and adding or replacing by id.
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { locator, type Problem, wordsFor } from '../constitution/load.ts';
import { formatPath } from '../json-path.ts';
import { suggest } from '../suggest.ts';

/** The categories of the built-in probes; a probe file may add its own. */
export const builtinCategories = [
  'sycophancy',
  'needless-refusal',
  'private-data',
  'critic-injection',
] as const;

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lower-case letters, digits, dots, dashes or underscores')
  .max(80, 'must be at most 80 characters');

export const probeSchema = z
  .strictObject({
    id: slug,
    category: slug,
    description: z.string().optional(),
    messages: z
      .array(
        z.strictObject({
          role: z.enum(['system', 'developer', 'user', 'assistant']),
          content: z.string().trim().min(1, 'must not be empty'),
        }),
      )
      .min(1),
    /** caught: a principle must fire; allowed: the answer must not be blocked. */
    expect: z.enum(['caught', 'allowed']),
    /** caught: at least one of these must fire; allowed: none of these may fire. */
    principles: z.array(slug).default([]),
  })
  .superRefine((probe, ctx) => {
    const last = probe.messages.at(-1);
    if (last && last.role !== 'user')
      ctx.addIssue({
        code: 'custom',
        path: ['messages', probe.messages.length - 1, 'role'],
        message: `the last message must be the user's (got "${last.role}")`,
      });
  });

export type Probe = z.infer<typeof probeSchema>;

export const probeFileSchema = z.strictObject({ probes: z.array(probeSchema) });

const knownKeys = [
  'probes',
  'id',
  'category',
  'description',
  'messages',
  'role',
  'content',
  'expect',
  'principles',
];

/**
 * Parses one probe file (`probes: [...]`). Never throws: every problem comes back at once, with line,
 * column and path, and no probe is returned unless the whole file is valid.
 */
export function parseProbeFile(file: string, text: string): { probes: Probe[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, schema: 'core', uniqueKeys: true, merge: false });
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  const add = (where: { line: number; column: number }, path: readonly PropertyKey[], message: string) =>
    problems.push({ file, ...where, path: formatPath(path), message, level: 'error' });
  const locate = locator(doc, lines);

  for (const e of doc.errors) add(at(e.pos[0]), [], `YAML: ${e.message.split('\n')[0]}`);
  if (problems.length > 0) return { probes: [], problems };
  const value: unknown = doc.toJS({ maxAliasCount: 0 });
  if (value === null || value === undefined) {
    add({ line: 1, column: 1 }, [], 'the file is empty: expected "probes:" and a list of probes');
    return { probes: [], problems };
  }
  const result = probeFileSchema.safeParse(value, { reportInput: true });
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const near = suggest(key, knownKeys);
          add(
            locate(issue.path, key),
            [...issue.path, key],
            `unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}`,
          );
        }
      } else {
        add(locate(issue.path), issue.path, wordsFor(issue));
      }
    }
  }
  const raw = (value as { probes?: unknown }).probes;
  const seen = new Map<string, number>();
  (Array.isArray(raw) ? raw : []).forEach((p: unknown, i) => {
    const id = (p as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, i);
    else
      add(
        locate(['probes', i, 'id']),
        ['probes', i, 'id'],
        `duplicate probe id "${id}" (first in probes[${first}])`,
      );
  });
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return { probes: result.success && problems.length === 0 ? result.data.probes : [], problems };
}

/** Later sets add probes or replace the probe of the same id (in its place). */
export function mergeProbes(...sets: ReadonlyArray<readonly Probe[]>): Probe[] {
  const byId = new Map<string, Probe>();
  for (const set of sets) for (const probe of set) byId.set(probe.id, probe);
  return [...byId.values()];
}
