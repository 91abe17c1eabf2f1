import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConstitutionFile } from '../load.ts';
import { constitutionJsonSchema } from '../schema.ts';
import { checkFields, checkKeys, checkKinds } from './index.ts';

const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');

const withCheck = (check: string) =>
  loadConstitutionFile('c.yaml', `name: c\nprinciples:\n  - id: p\n    action: flag\n    check: ${check}\n`);

describe('the check-kind registry', () => {
  it('gives each field to one kind, and each kind keys among its own fields', () => {
    const names = checkKinds.flatMap((k) => Object.keys(k.fields));
    expect(new Set(names).size).toBe(names.length);
    for (const kind of checkKinds)
      for (const key of kind.keys) expect(Object.keys(kind.fields)).toContain(key);
  });

  it('is what the editor schema offers under check:', () => {
    const schema = constitutionJsonSchema() as {
      properties: { principles: { items: { properties: { check: { properties: object } } } } };
    };
    const check = schema.properties.principles.items.properties.check;
    expect(Object.keys(check.properties)).toEqual(Object.keys(checkFields));
  });

  it('is what the loader asks for and suggests', () => {
    expect(withCheck('{}').problems.map((p) => p.message)).toEqual([
      `must have at least one of ${checkKeys.join(', ')}`,
    ]);
    expect(withCheck('{ max_lenght: 3 }').problems.map((p) => p.message)).toContain(
      'unknown key "max_lenght" (did you mean "max_length"?)',
    );
  });

  it("is listed in the README, each kind's docs line", () => {
    for (const kind of checkKinds) expect(readme).toContain(`- ${kind.docs}\n`);
  });
});
