// Reads one constitution file: safe YAML, then the zod schema, every problem with file:line:col and a path.
import { type Document, isMap, isPair, isScalar, LineCounter, type Node, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { formatPath } from '../json-path.ts';
import { suggest } from '../suggest.ts';
import { checkFields, checkKeys, checkKinds } from './check-kinds/index.ts';
import { type ConstitutionFile, constitutionFileSchema, constitutionJsonSchema } from './schema.ts';
import { indentationHint, isIndentationSlip, isStructural } from './yaml-hint.ts';

export const maxFileBytes = 256 * 1024;

export interface Problem {
  file: string;
  line: number;
  column: number;
  /** Where in the document, e.g. `principles[2].severity` ('' for the whole file). */
  path: string;
  message: string;
  level: 'error' | 'warning';
}

/** A parsed file: its spec when valid, its problems, and a way to point at any path in it. */
export interface LoadedFile {
  file: string;
  text: string;
  spec: ConstitutionFile | undefined;
  problems: Problem[];
  /** Line and column (1-based) of the value at `path`, or of its nearest existing parent. */
  locate(path: readonly PropertyKey[], key?: string): { line: number; column: number };
}

const allowedTags = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`),
);

/** Every property name of a JSON Schema, at any depth. */
function propertyNames(schema: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(schema)) for (const s of schema) propertyNames(s, out);
  else if (typeof schema === 'object' && schema !== null) {
    const properties = (schema as { properties?: unknown }).properties;
    if (typeof properties === 'object' && properties !== null)
      for (const key of Object.keys(properties)) out.add(key);
    for (const value of Object.values(schema)) propertyNames(value, out);
  }
  return out;
}

let knownKeyList: string[] | undefined;
/** Every key name the format knows, read from its schema, for "did you mean" suggestions on typos. */
const knownKeys = (): string[] => {
  knownKeyList ??= [
    ...propertyNames(constitutionJsonSchema(), new Set(['$schema', ...Object.keys(checkFields)])),
  ];
  return knownKeyList;
};

function describe(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

const typeWords: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value lines)',
};

/** A zod issue in words a policy owner understands (constitutions, and the red-team probe files). */
export function wordsFor(issue: z.core.$ZodIssue): string {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) return 'is required';
      return `must be ${typeWords[issue.expected] ?? issue.expected} (got ${describe(input)})`;
    case 'invalid_value':
      if (input === undefined) return 'is required';
      return `must be one of ${issue.values.map(String).join(', ')} (got ${describe(input)})`;
    case 'too_small':
      if (issue.origin === 'array')
        return `must have at least ${issue.minimum} item${Number(issue.minimum) === 1 ? '' : 's'}`;
      if (issue.origin === 'number' || issue.origin === 'int')
        return `must be at least ${issue.minimum} (got ${describe(input)})`;
      return issue.message;
    case 'too_big':
      if (issue.origin === 'number' || issue.origin === 'int')
        return `must be at most ${issue.maximum} (got ${describe(input)})`;
      return issue.message;
    case 'invalid_format':
    case 'custom':
      return issue.message;
    default:
      return issue.message;
  }
}

type Raw = Record<string, unknown>;
const isRaw = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Semantic rules the schema cannot express, checked per file. They run on the raw document, so they
 * are reported together with schema errors (every error at once), tolerating any shape.
 */
function semanticProblems(doc: unknown, file: string): Array<{ path: PropertyKey[]; message: string }> {
  const out: Array<{ path: PropertyKey[]; message: string }> = [];
  if (!isRaw(doc)) return out;
  const base = file
    .split(/[\\/]/)
    .pop()
    ?.replace(/\.ya?ml$/, '');
  if (base && typeof doc['name'] === 'string' && doc['name'] !== base) {
    out.push({ path: ['name'], message: `must match the file name "${base}" (got "${doc['name']}")` });
  }
  const principles = Array.isArray(doc['principles']) ? doc['principles'] : [];
  const seen = new Map<string, number>();
  principles.forEach((p: unknown, i) => {
    if (!isRaw(p)) return;
    if (typeof p['id'] === 'string') {
      const first = seen.get(p['id']);
      if (first !== undefined) {
        out.push({
          path: ['principles', i, 'id'],
          message: `duplicate principle id "${p['id']}" (first used in principles[${first}])`,
        });
      } else {
        seen.set(p['id'], i);
      }
    }
    const check = p['check'];
    if (!isRaw(check)) return;
    if (!checkKeys.some((k) => check[k] !== undefined)) {
      out.push({
        path: ['principles', i, 'check'],
        message: `must have at least one of ${checkKeys.join(', ')}`,
      });
    }
    for (const kind of checkKinds) {
      for (const p of kind.problems?.(check) ?? [])
        out.push({ path: ['principles', i, 'check', ...p.path], message: p.message });
    }
  });
  return out;
}

/** Where a path (and, on a map, one of its keys) sits in a parsed YAML document: line and column. */
export function locator(doc: Document, lines: LineCounter) {
  return (path: readonly PropertyKey[], key?: string) => {
    let node: unknown = doc.contents;
    let at = 0;
    for (const part of path) {
      const next = (node as { get?: (k: unknown, keep: boolean) => unknown })?.get?.(part, true);
      if (next === undefined || next === null) break;
      node = next;
      at++;
    }
    let offset = (node as Node | undefined)?.range?.[0] ?? 0;
    if (key !== undefined && at === path.length && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      const keyNode = pair?.key as Node | undefined;
      if (keyNode?.range) offset = keyNode.range[0];
    }
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
}

/** Parses one constitution file. Never throws: every problem is returned, all at once. */
export function loadConstitutionFile(file: string, text: string): LoadedFile {
  const problems: Problem[] = [];
  const add = (where: { line: number; column: number }, path: string, message: string) =>
    problems.push({ file, ...where, path, message, level: 'error' });

  const bytes = new TextEncoder().encode(text).length;
  if (bytes > maxFileBytes) {
    add({ line: 1, column: 1 }, '', `the file is ${bytes} bytes, more than the limit of ${maxFileBytes}`);
    return { file, text, spec: undefined, problems, locate: () => ({ line: 1, column: 1 }) };
  }

  const lines = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter: lines,
    schema: 'core',
    merge: false,
    uniqueKeys: true,
    prettyErrors: false,
    strict: true,
  });
  const locate = locator(doc, lines);
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };

  // A structure error (mostly an indentation slip) comes first and alone, in plain words: the parser's errors after
  // it are a cascade of the same slip ("sequence item without - indicator" ×7).
  const [first, ...cascade] = doc.errors.filter(isStructural);
  if (first) {
    const { line, column } = at(first.pos[0]);
    const hint = isIndentationSlip(first) ? indentationHint(text, line) : undefined;
    const said = first.message.split('\n')[0]?.replace(/\.$/, '') ?? first.code;
    const parser = said.charAt(0).toLowerCase() + said.slice(1);
    const more =
      cascade.length > 0
        ? `${cascade.length} more error${cascade.length === 1 ? '' : 's'} after it not shown`
        : '';
    add(
      hint ? { line: hint.line, column: hint.column } : { line, column },
      '',
      hint
        ? `YAML: ${hint.hint} (the parser says: ${parser}${more ? `; ${more}` : ''})`
        : `YAML: ${parser}${more ? ` (${more})` : ''}`,
    );
  }
  // Unresolved tags are reported once, by the visitor below, in the form the author wrote them.
  const independent = doc.errors.filter((e) => !isStructural(e));
  for (const e of [
    ...(first ? [] : independent),
    ...doc.warnings.filter((w) => w.code !== 'TAG_RESOLVE_FAILED'),
  ]) {
    const message =
      e.code === 'DUPLICATE_KEY'
        ? 'this key appears twice in the same mapping'
        : e.message.charAt(0).toLowerCase() + e.message.slice(1);
    add(at(e.pos[0]), '', `YAML: ${message}`);
  }
  visit(doc, {
    Alias(_, node) {
      add(
        at(node.range?.[0] ?? 0),
        '',
        `YAML aliases (*${node.source}) are not allowed: write the value out in full`,
      );
    },
    Node(_, node) {
      if (node.anchor) add(at(node.range?.[0] ?? 0), '', `YAML anchors (&${node.anchor}) are not allowed`);
      if (node.tag && !allowedTags.has(node.tag)) {
        const tag = node.tag.replace(/^tag:yaml\.org,2002:/, '!!');
        add(
          at(node.range?.[0] ?? 0),
          '',
          `YAML tag ${tag} is not allowed: only plain values (text, numbers, true/false, lists, mappings)`,
        );
      }
    },
  });
  if (problems.length > 0) return { file, text, spec: undefined, problems, locate };

  const value: unknown = doc.toJS({ maxAliasCount: 0 });
  if (value === null || value === undefined) {
    add({ line: 1, column: 1 }, '', 'the file is empty: a constitution needs at least a name');
    return { file, text, spec: undefined, problems, locate };
  }
  const result = constitutionFileSchema.safeParse(value, { reportInput: true });
  for (const p of semanticProblems(value, file)) add(locate(p.path), formatPath(p.path), p.message);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const near = suggest(key, knownKeys());
          const path = formatPath([...issue.path, key]);
          add(
            locate(issue.path, key),
            path,
            `unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}`,
          );
        }
      } else {
        add(locate(issue.path), formatPath(issue.path), wordsFor(issue));
      }
    }
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return {
    file,
    text,
    spec: result.success && problems.length === 0 ? result.data : undefined,
    problems,
    locate,
  };
}

/** `file:line:col path: message`, as compilers print it (warnings say so). */
export function formatProblem(p: Problem): string {
  const where = `${p.file}:${p.line}:${p.column}`;
  const what = p.path ? `${p.path}: ${p.message}` : p.message;
  return p.level === 'warning' ? `${where} warning ${what}` : `${where} ${what}`;
}
