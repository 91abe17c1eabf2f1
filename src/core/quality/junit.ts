// JUnit XML of a `tenet test` run: a testsuite per constitution, a testcase per example, for CI dashboards.
import type { ExampleResult, PrincipleResult, Totals } from './metrics.ts';

export interface SuiteInput {
  name: string;
  version: string;
  principles: readonly PrincipleResult[];
  totals: Totals;
}

// XML 1.0 allows no control characters but tab, newline and carriage return, not even escaped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
const invalidXml = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Text safe inside an XML attribute or element. */
export function escapeXml(text: string): string {
  return text
    .replace(invalidXml, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** What went wrong with an example, in a line (the failure's message) and in detail (its body). */
function failureOf(r: ExampleResult): { message: string; body: string } {
  const expected = r.expected ? 'violates' : 'does not violate';
  const got =
    r.predicted === 'violated'
      ? 'the critic flagged it'
      : r.predicted === 'clean'
        ? 'the critic did not flag it'
        : 'no majority outcome (critic errors or a split)';
  const message = `expected: ${expected}; ${got} (${r.correctRuns}/${r.runs.length} runs right)`;
  const lines = [`user: ${r.user}`];
  if (r.response !== undefined) lines.push(`response: ${r.response}`);
  r.runs.forEach((run, i) => {
    const head = `run ${i + 1}: ${run.outcome}${run.source ? ` (${run.source})` : ''}`;
    const detail = [
      run.evidence ? `evidence: "${run.evidence}"` : '',
      run.critique ? `critique: ${run.critique}` : '',
      run.fault ? `critic error ${run.fault.code}: ${run.fault.message}` : '',
      run.note ?? '',
      run.others.length > 0 ? `other principles violated: ${run.others.join(', ')}` : '',
    ].filter(Boolean);
    lines.push(detail.length > 0 ? `${head}: ${detail.join('; ')}` : head);
  });
  return { message, body: lines.join('\n') };
}

export function renderJunit(suites: readonly SuiteInput[], totals: Totals): string {
  const attr = (name: string, value: string | number) => ` ${name}="${escapeXml(String(value))}"`;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites${attr('name', 'tenet test')}${attr('tests', totals.examples)}${attr('failures', totals.failed)}` +
      `${attr('errors', 0)}${attr('skipped', totals.skipped)}${attr('time', seconds(totals.criticMs))}>`,
  );
  for (const s of suites) {
    out.push(
      `  <testsuite${attr('name', s.name)}${attr('tests', s.totals.examples)}${attr('failures', s.totals.failed)}` +
        `${attr('errors', 0)}${attr('skipped', s.totals.skipped)}${attr('time', seconds(s.totals.criticMs))}>`,
    );
    // Principles without examples are no testcase (not a failure), but CI should still see them.
    const untested = s.principles.filter((p) => p.status === 'untested').map((p) => p.id);
    out.push(
      `    <properties><property${attr('name', 'version')}${attr('value', s.version)}/>` +
        `<property${attr('name', 'untested')}${attr('value', untested.join(','))}/></properties>`,
    );
    for (const p of s.principles) {
      for (const r of p.results) {
        const open = `    <testcase${attr('classname', `${s.name}.${p.id}`)}${attr('name', r.name)}${attr('time', seconds(r.criticMs))}`;
        if (r.skipped !== undefined) {
          out.push(`${open}><skipped${attr('message', r.skipped)}/></testcase>`);
        } else if (r.passed) {
          out.push(`${open}/>`);
        } else {
          const f = failureOf(r);
          out.push(
            `${open}><failure${attr('message', f.message)}${attr('type', 'ExampleFailed')}>${escapeXml(f.body)}</failure></testcase>`,
          );
        }
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
