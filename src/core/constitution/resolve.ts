// Resolves constitutions across files: `extends`, overrides, defaults, and the content hash that versions them.
import type { LoadedFile, Problem } from './load.ts';
import {
  type Constitution,
  type ConstitutionFile,
  defaultRefusal,
  type Principle,
  targets,
} from './schema.ts';

export interface ConstitutionSet {
  constitutions: Map<string, Constitution>;
  /** Every error and warning of every file, in file order. */
  problems: Problem[];
}

/** Object keys sorted at every level, so the hash depends on content, not on key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

async function contentHash(value: unknown): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical(value)));
  return [...new Uint8Array(digest)]
    .slice(0, 6)
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
}

/** The first value set along the chain, child first, then its parents in `extends` order. */
/** The judged-length cap and what overflows it, taken together from the nearest file that sets them. */
function judgedLength(
  chain: ConstitutionFile[],
): Pick<Constitution['critic'], 'max_judged_chars' | 'on_overflow'> {
  const f = chain.find((c) => c.critic?.max_judged_chars !== undefined);
  if (!f?.critic) return {};
  return { max_judged_chars: f.critic.max_judged_chars, on_overflow: f.critic.on_overflow };
}

function inherit<T>(chain: ConstitutionFile[], pick: (f: ConstitutionFile) => T | undefined): T | undefined {
  for (const f of chain) {
    const v = pick(f);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Resolves every valid file into a Constitution; a file whose chain has an error is left out. */
export async function resolveConstitutions(files: LoadedFile[]): Promise<ConstitutionSet> {
  const problems: Problem[] = files.flatMap((f) => f.problems);
  const byName = new Map<string, LoadedFile>();
  for (const f of files) if (f.spec) byName.set(f.spec.name, f);

  const error = (f: LoadedFile, path: PropertyKey[], pathText: string, message: string, key?: string) =>
    problems.push({ file: f.file, ...f.locate(path, key), path: pathText, message, level: 'error' });

  // principles (with origin) per name; undefined = broken; the chain is used for setting inheritance.
  const resolved = new Map<string, { principles: Principle[]; chain: ConstitutionFile[] } | undefined>();

  const resolve = (
    name: string,
    stack: string[],
  ): { principles: Principle[]; chain: ConstitutionFile[] } | undefined => {
    if (resolved.has(name)) return resolved.get(name);
    const f = byName.get(name);
    const spec = f?.spec;
    if (!f || !spec) return undefined;
    let ok = true;
    const principles: Principle[] = [];
    const chain: ConstitutionFile[] = [spec];
    const origin = new Map<string, string>();

    (spec.extends ?? []).forEach((parent, i) => {
      if (parent === name || stack.includes(parent)) {
        error(
          f,
          ['extends', i],
          `extends[${i}]`,
          `"${parent}" extends back to "${name}": ${[...stack, name, parent].join(' → ')} is a cycle`,
        );
        ok = false;
        return;
      }
      if (!byName.has(parent)) {
        const known = files.some((x) => x.file.replace(/^.*\//, '').replace(/\.ya?ml$/, '') === parent);
        error(
          f,
          ['extends', i],
          `extends[${i}]`,
          known
            ? `"${parent}" has errors of its own; fix them first`
            : `unknown constitution "${parent}" (available: ${[...byName.keys()].sort().join(', ')})`,
        );
        ok = false;
        return;
      }
      const got = resolve(parent, [...stack, name]);
      if (!got) {
        if (!stack.includes(parent))
          error(f, ['extends', i], `extends[${i}]`, `"${parent}" could not be resolved (see its errors)`);
        ok = false;
        return;
      }
      for (const p of got.principles) {
        const other = principles.find((q) => q.id === p.id);
        // The same principle reached along two paths (a diamond through a shared parent) is included once.
        if (other && other.from === p.from) continue;
        if (other) {
          const why = `principle "${p.id}" comes from both "${origin.get(p.id)}" and "${parent}"`;
          error(f, ['extends', i], `extends[${i}]`, why);
          ok = false;
          continue;
        }
        origin.set(p.id, parent);
        principles.push({ ...p });
      }
      chain.push(...got.chain);
    });

    for (const [id, change] of Object.entries(spec.overrides ?? {})) {
      const target = principles.find((p) => p.id === id);
      if (!target) {
        error(f, ['overrides'], `overrides.${id}`, `no inherited principle "${id}" to override`, id);
        ok = false;
        continue;
      }
      if (change.enabled !== undefined) target.enabled = change.enabled;
      if (change.severity !== undefined) target.severity = change.severity;
      if (change.action !== undefined) target.action = change.action;
    }

    (spec.principles ?? []).forEach((p, i) => {
      const other = origin.get(p.id);
      if (other !== undefined) {
        error(
          f,
          ['principles', i, 'id'],
          `principles[${i}].id`,
          `principle "${p.id}" is already defined in "${other}": use overrides to change it, or pick another id`,
        );
        ok = false;
        return;
      }
      origin.set(p.id, name);
      principles.push({
        id: p.id,
        title: p.title ?? p.id.replace(/-/g, ' ').replace(/^./, (c) => c.toUpperCase()),
        applies_to: p.applies_to ?? 'output',
        targets: (p.applies_to ?? 'output') === 'input' ? ['text'] : (p.targets ?? [...targets]),
        severity: p.severity ?? 'major',
        action: p.action ?? 'revise',
        critique: p.critique,
        revision: p.revision,
        check: p.check,
        examples: p.examples ?? [],
        enabled: p.enabled ?? true,
        from: name,
      });
    });

    const result = ok ? { principles, chain } : undefined;
    resolved.set(name, result);
    return result;
  };

  const constitutions = new Map<string, Constitution>();
  for (const name of [...byName.keys()].sort()) {
    const got = resolve(name, []);
    if (!got) continue;
    const { chain } = got;
    const spec = chain[0] as ConstitutionFile;
    const stream = inherit(chain, (f) => f.stream) ?? 'buffer';
    const window = { chars: inherit(chain, (f) => f.window?.chars) ?? 600 };
    const body = {
      name,
      description: spec.description ?? '',
      critic: {
        model: inherit(chain, (f) => f.critic?.model),
        max_revisions: inherit(chain, (f) => f.critic?.max_revisions) ?? 2,
        on_error: inherit(chain, (f) => f.critic?.on_error) ?? 'fail_closed',
        on_exhausted: inherit(chain, (f) => f.critic?.on_exhausted) ?? 'block',
        ...judgedLength(chain),
        min_evidence_chars: inherit(chain, (f) => f.critic?.min_evidence_chars) ?? 12,
      },
      stream,
      // Part of the version only where it changes what is judged (existing versions keep their hash).
      ...(stream === 'progressive' ? { window } : {}),
      on_block: {
        mode: inherit(chain, (f) => f.on_block?.mode) ?? 'message',
        message: inherit(chain, (f) => f.on_block?.message) ?? defaultRefusal,
        status: inherit(chain, (f) => f.on_block?.status) ?? 400,
      },
      logging: { content: inherit(chain, (f) => f.logging?.content) ?? 'redacted' },
      principles: got.principles,
    } satisfies Omit<Constitution, 'hash' | 'draft_with_input' | 'window'>;
    // The version covers what is enforced: settings and principle texts, not where they were written.
    const hash = await contentHash({
      ...body,
      principles: body.principles.map(({ from: _from, ...p }) => p),
    });
    // The shadow is not inherited and not part of the version: shipping a candidate changes nothing enforced.
    // Nor is when the draft starts (draft_with_input): the same principles judge the same texts.
    constitutions.set(name, {
      ...body,
      window,
      hash,
      draft_with_input: inherit(chain, (f) => f.draft_with_input) ?? 'auto',
      ...(spec.shadow ? { shadow: spec.shadow } : {}),
    });
  }
  for (const [name, c] of constitutions) {
    if (!c.shadow) continue;
    const f = byName.get(name) as LoadedFile;
    const why =
      c.shadow === name
        ? 'a constitution cannot shadow itself'
        : constitutions.has(c.shadow)
          ? undefined
          : byName.has(c.shadow)
            ? `"${c.shadow}" has errors of its own; fix them first`
            : `unknown constitution "${c.shadow}" (available: ${[...byName.keys()].sort().join(', ')})`;
    if (why) {
      error(f, ['shadow'], 'shadow', why);
      constitutions.delete(name);
    }
  }
  problems.sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column,
  );
  return { constitutions, problems };
}
