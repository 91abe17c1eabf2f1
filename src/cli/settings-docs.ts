// `tenet settings`: writes the README's settings table and `.dev.vars.example` from the settings table
// (src/core/config.ts `settingTable`); a test keeps both files in step with it.
import { readFileSync, writeFileSync } from 'node:fs';
import { cliVariables, settingTable } from '../core/config.ts';

interface Row {
  doc: string;
  shownDefault?: string;
  nodeOnly?: true;
  type: { safeParse(v: unknown): { success: boolean; data?: unknown } };
  example?: { comment?: string; value?: string };
}

const rows = Object.entries(settingTable as Record<string, Row>);

/** The default column: said in words where the table says so, else the type's own default. */
function shownDefault(row: Row): string {
  if (row.shownDefault !== undefined) return row.shownDefault;
  const parsed = row.type.safeParse(undefined);
  const value = parsed.success ? parsed.data : undefined;
  return value === undefined ? '—' : `\`${String(value)}\``;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The README's settings table, its columns padded as the formatter (biome) writes them. */
export function settingsTable(): string {
  const table = [
    ['setting (env var / Worker var or secret)', 'meaning', 'default'],
    ...rows.map(([name, row]) => [
      `\`${name}\``,
      cell(row.nodeOnly ? `Node only: ${row.doc}` : row.doc),
      cell(shownDefault(row)),
    ]),
  ];
  const widths = [0, 1, 2].map((col) => Math.max(...table.map((r) => (r[col] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [header = [], ...body] = table;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...body.map(line)].join('\n');
}

/** `.dev.vars.example`: the settings a first run may fill in, with their comments. */
export function devVarsExample(): string {
  const lines = [
    '# Copy to .dev.vars (never commit it). Used by `npm start` (wrangler dev) and `npx tenet serve --env-file .dev.vars`;',
    '# every other tenet command reads it with `--env-file .dev.vars` too. A setting left blank is unset (its default).',
  ];
  const entries = [...rows, ...Object.entries(cliVariables as Record<string, Pick<Row, 'example'>>)];
  for (const [name, { example }] of entries) {
    if (!example) continue;
    if (example.comment) lines.push(`# ${example.comment}`);
    lines.push(`${name}=${example.value ?? ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The README with its settings table (the table after `## Settings`) replaced by `table`. */
export function withSettingsTable(readme: string, table: string): string {
  const start = readme.indexOf('| setting (env var');
  const end = readme.indexOf('\n\n', start);
  if (start < 0 || end < 0) throw new Error('README.md: no settings table after "## Settings"');
  return `${readme.slice(0, start)}${table}${readme.slice(end)}`;
}

export function writeSettingsDocs(): number {
  const readme = readFileSync('README.md', 'utf8');
  writeFileSync('README.md', withSettingsTable(readme, settingsTable()));
  writeFileSync('.dev.vars.example', devVarsExample());
  process.stdout.write('tenet settings: wrote the settings table of README.md and .dev.vars.example\n');
  return 0;
}
