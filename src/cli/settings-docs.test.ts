import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settings } from '../core/config.ts';
import { devVarsExample, settingsTable, withSettingsTable } from './settings-docs.ts';

const root = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');

describe('the settings table (`tenet settings` writes both files)', () => {
  it("is the README's settings table, a row for every setting", () => {
    const readme = read('README.md');
    expect(withSettingsTable(readme, settingsTable())).toBe(readme);
    for (const name of Object.keys(settings)) expect(settingsTable()).toContain(`| \`${name}\` `);
  });

  it('is .dev.vars.example', () => {
    expect(read('.dev.vars.example')).toBe(devVarsExample());
  });
});
