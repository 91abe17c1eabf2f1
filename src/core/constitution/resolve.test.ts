// Resolving constitutions: extends, inheritance of settings, overrides, diamonds, cycles and the version hash.
import { describe, expect, it } from 'vitest';
import { buildConstitutionSet } from './set.ts';

const files = (texts: Record<string, string>) =>
  Object.entries(texts).map(([name, text]) => ({ file: `c/${name}.yaml`, text }));

const base = `name: base
on_block: { message: "Base says no." }
critic: { max_revisions: 3 }
principles:
  - { id: be-kind, critique: Is it unkind?, revision: Be kind., action: revise }
  - { id: no-keys, action: block, check: { detect: [api_key] } }
`;

describe('resolveConstitutions', () => {
  it('includes the parents principles first, inherits settings the child leaves unset, applies overrides', async () => {
    const set = await buildConstitutionSet(
      files({
        base,
        child: `name: child
extends: [base]
critic: { on_error: fail_open }
overrides:
  be-kind: { severity: critical, enabled: false }
principles:
  - { id: on-topic, critique: Is it off topic?, action: flag }
`,
      }),
    );
    expect(set.problems.filter((p) => p.level === 'error')).toEqual([]);
    const child = set.constitutions.get('child');
    expect(child?.principles.map((p) => [p.id, p.from])).toEqual([
      ['be-kind', 'base'],
      ['no-keys', 'base'],
      ['on-topic', 'child'],
    ]);
    expect(child?.principles[0]).toMatchObject({ severity: 'critical', enabled: false });
    expect(child?.critic).toEqual({
      max_revisions: 3,
      on_error: 'fail_open',
      on_exhausted: 'block',
      min_evidence_chars: 12,
    });
    expect(child?.on_block.message).toBe('Base says no.');
    // The parent itself is untouched by the child's overrides.
    expect(set.constitutions.get('base')?.principles[0]).toMatchObject({ severity: 'major', enabled: true });
  });

  it('takes a principle reached along two paths once (diamond)', async () => {
    const set = await buildConstitutionSet(
      files({
        base,
        a: 'name: a\nextends: [base]\n',
        b: 'name: b\nextends: [base]\n',
        both: 'name: both\nextends: [a, b]\n',
      }),
    );
    expect(set.constitutions.get('both')?.principles.map((p) => p.id)).toEqual(['be-kind', 'no-keys']);
  });

  it('rejects a child redefining an inherited principle id, pointing at the child', async () => {
    const set = await buildConstitutionSet(
      files({
        base,
        child:
          'name: child\nextends: [base]\nprinciples:\n  - { id: be-kind, critique: Rude?, action: flag }\n',
      }),
    );
    expect(set.constitutions.has('child')).toBe(false);
    expect(set.problems).toContainEqual(
      expect.objectContaining({
        file: 'c/child.yaml',
        line: 4,
        column: 11,
        path: 'principles[0].id',
        level: 'error',
      }),
    );
  });

  it('reports a cycle and leaves both members out', async () => {
    const set = await buildConstitutionSet(
      files({
        a: 'name: a\nextends: [b]\n',
        b: 'name: b\nextends: [a]\n',
        self: 'name: self\nextends: [self]\n',
      }),
    );
    expect([...set.constitutions.keys()]).toEqual([]);
    const messages = set.problems.map((p) => p.message);
    expect(messages.some((m) => m.includes('is a cycle'))).toBe(true);
    expect(messages).toContain('"self" extends back to "self": self → self is a cycle');
  });

  it('versions by content: same hash for the same rules in another layout, a new one for any change', async () => {
    const hashOf = async (text: string) =>
      (await buildConstitutionSet(files({ base: text }))).constitutions.get('base')?.hash;
    const original = await hashOf(base);
    expect(original).toMatch(/^[0-9a-f]{12}$/);
    const reordered = `# a comment
principles:
  - { action: revise, revision: Be kind., critique: Is it unkind?, id: be-kind }
  - id: no-keys
    action: block
    check:
      detect: [api_key]
critic:
  max_revisions: 3
on_block: { message: "Base says no." }
name: base
`;
    expect(await hashOf(reordered)).toBe(original);
    expect(await hashOf(base.replace('Is it unkind?', 'Is it rude?'))).not.toBe(original);
    expect(await hashOf(base.replace('max_revisions: 3', 'max_revisions: 2'))).not.toBe(original);
  });

  it('a child version changes when its parent changes', async () => {
    const child = 'name: child\nextends: [base]\n';
    const before = (await buildConstitutionSet(files({ base, child }))).constitutions.get('child')?.hash;
    const after = (
      await buildConstitutionSet(files({ base: base.replace('Be kind.', 'Be very kind.'), child }))
    ).constitutions.get('child')?.hash;
    expect(after).not.toBe(before);
  });
  it('names a shadow candidate outside the version, and rejects an unknown or self shadow at its line', async () => {
    const set = await buildConstitutionSet(
      files({
        base,
        live: 'name: live\nextends: [base]\nshadow: base\n',
        plain: 'name: plain\nextends: [base]\n',
        typo: 'name: typo\nshadow: bsae\n',
        self: 'name: self\nshadow: self\n',
      }),
    );
    expect(set.constitutions.get('live')?.shadow).toBe('base');
    // Shipping a candidate in shadow changes nothing enforced: the version stays the same.
    const unshadowed = await buildConstitutionSet(files({ base, live: 'name: live\nextends: [base]\n' }));
    expect(set.constitutions.get('live')?.hash).toBe(unshadowed.constitutions.get('live')?.hash);
    expect(set.constitutions.has('typo')).toBe(false);
    expect(set.constitutions.has('self')).toBe(false);
    const errors = set.problems.filter((p) => p.level === 'error');
    expect(errors.map((p) => `${p.file}:${p.line}:${p.column} ${p.path}: ${p.message}`)).toEqual([
      'c/self.yaml:2:9 shadow: a constitution cannot shadow itself',
      'c/typo.yaml:2:9 shadow: unknown constitution "bsae" (available: base, live, plain, self, typo)',
    ]);
  });
});
