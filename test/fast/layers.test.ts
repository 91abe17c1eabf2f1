// The layering DESIGN.md promises: src/core and src/protocols use no runtime, Hono or SDK, only zod, yaml and each other
// (and the few pure, runtime-free libraries core is built on: text diffs, regex parsing and ReDoS analysis).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) && !name.includes('test-fixtures')
      ? [path]
      : [];
  });
}

/** Every module a file imports (static `import … from`, `export … from`, and dynamic `import()`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s+['"]([^'"]+)['"]/g)].map(
    (m) => m[1],
  );
  found.push(...[...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]));
  found.push(...[...text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)].map((m) => m[1]));
  return found.filter((s): s is string => s !== undefined);
}

/** Libraries with no runtime of their own (no I/O, no globals beyond web standards), allowed in src/core. */
const pureLibraries = new Set(['zod', 'yaml', 'diff', '@eslint-community/regexpp']);

const runtimeGlobals = /\b(process\.|Buffer\.|require\(|__dirname|Deno\.|Bun\.)/;

describe.each([
  ['src/core', ['src/core']],
  ['src/protocols', ['src/core', 'src/protocols']],
])('%s', (folder, allowed) => {
  const files = sources(join(root, folder));

  it('imports only zod, yaml and its own layers', () => {
    const bad: string[] = [];
    for (const file of files) {
      for (const spec of importsOf(file)) {
        if (pureLibraries.has(spec)) continue;
        if (spec.startsWith('.')) {
          const target = relative(root, join(file, '..', spec));
          if (allowed.some((dir) => target.startsWith(`${dir}/`))) continue;
        }
        bad.push(`${relative(root, file)} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('uses no runtime globals beyond web standards', () => {
    const bad = files
      .filter((file) => runtimeGlobals.test(readFileSync(file, 'utf8')))
      .map((file) => relative(root, file));
    expect(bad).toEqual([]);
  });
});
