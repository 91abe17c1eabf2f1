// The shipped constitutions and the editor schema: valid, versioned, documented by examples, schema current.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readConstitutionFiles } from '../../src/adapters/constitution-files.ts';
import { constitutionSchemaText, schemaPath } from '../../src/cli/schema.ts';
import { buildConstitutionSet } from '../../src/core/constitution/set.ts';
import { segmentsOf } from '../../src/core/critique.ts';
import { checkRules } from '../../src/core/verdict.ts';

const root = new URL('../..', import.meta.url).pathname;

describe('shipped constitutions', () => {
  it('the committed JSON Schema is the one generated from the zod schema (run `npx tenet schema` if stale)', () => {
    expect(readFileSync(`${root}/${schemaPath}`, 'utf8')).toBe(constitutionSchemaText());
  });

  it('every shipped file starts with the yaml-language-server schema comment', () => {
    const files = readdirSync(`${root}/constitutions`).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      expect(readFileSync(`${root}/constitutions/${f}`, 'utf8').split('\n')[0]).toBe(
        '# yaml-language-server: $schema=./constitution.schema.json',
      );
    }
  });

  it('resolve without problems; domain constitutions extend default', async () => {
    const set = await buildConstitutionSet(readConstitutionFiles(`${root}constitutions`));
    expect(set.problems).toEqual([]);
    const domain = [...set.constitutions.values()].filter(
      (c) => !['default', 'passthrough'].includes(c.name),
    );
    expect(domain.length).toBeGreaterThanOrEqual(2);
    const defaults = set.constitutions.get('default')?.principles.map((p) => p.id) ?? [];
    for (const c of domain) expect(c.principles.map((p) => p.id)).toEqual(expect.arrayContaining(defaults));
  });

  it('every principle has a violating and a non-violating example, and deterministic ones agree with them', async () => {
    const set = await buildConstitutionSet(readConstitutionFiles(`${root}constitutions`));
    for (const c of set.constitutions.values()) {
      for (const p of c.principles) {
        expect(p.examples.filter((e) => e.violates).length, `${c.name}/${p.id}`).toBeGreaterThanOrEqual(1);
        expect(p.examples.filter((e) => !e.violates).length, `${c.name}/${p.id}`).toBeGreaterThanOrEqual(1);
        if (!p.check || p.critique) continue;
        for (const e of p.examples) {
          const text = p.applies_to === 'input' ? e.user : (e.response ?? '');
          const answer = { text, toolCalls: p.applies_to === 'input' ? [] : (e.tool_calls ?? []) };
          const found = checkRules([p], segmentsOf(p.applies_to, answer));
          expect(found.length > 0, `${c.name}/${p.id}: ${JSON.stringify(answer)}`).toBe(e.violates);
        }
      }
    }
  });
});
