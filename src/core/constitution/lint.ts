// Warnings for likely mistakes in a valid constitution file: things that parse but probably don't do what was meant.
import { segmentsOf } from '../critique.ts';
import { formatPath } from '../json-path.ts';
import { checkKinds } from './check-kinds/index.ts';
import { runCheck, runCheckOnToolCall } from './checks.ts';
import type { LoadedFile, Problem } from './load.ts';
import type { CheckSpec } from './schema.ts';

const normalise = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/** The warnings of one file (its errors come from loading); empty for a file that did not load. */
export function lintConstitutionFile(f: LoadedFile): Problem[] {
  const spec = f.spec;
  if (!spec) return [];
  const out: Problem[] = [];
  const warn = (path: PropertyKey[], pathText: string, message: string) =>
    out.push({ file: f.file, ...f.locate(path), path: pathText, message, level: 'warning' });

  const critiques = new Map<string, number>();
  (spec.principles ?? []).forEach((p, i) => {
    const at = `principles[${i}]`;
    const action = p.action ?? 'revise';
    const stage = p.applies_to ?? 'output';
    if (stage === 'input' && p.targets) {
      warn(
        ['principles', i, 'targets'],
        `${at}.targets`,
        'targets only narrow output principles: an input is text',
      );
    }
    if (stage === 'input' && action === 'revise') {
      warn(
        ['principles', i],
        at,
        `"${p.id}" judges the input, which cannot be revised: a violation blocks it (say block or flag)`,
      );
    } else if (action === 'revise' && !p.revision) {
      warn(
        ['principles', i],
        at,
        `"${p.id}" has action revise but no revision: say how to fix a violating answer`,
      );
    }
    if (!p.check && !p.critique) {
      warn(
        ['principles', i],
        at,
        `"${p.id}" has neither a check nor a critique, so nothing can ever find it violated`,
      );
    }
    if (p.critique) {
      const key = normalise(p.critique);
      const first = critiques.get(key);
      if (first !== undefined) {
        warn(['principles', i, 'critique'], `${at}.critique`, `the same critique as principles[${first}]`);
      } else {
        critiques.set(key, i);
      }
    }
    const check = p.check;
    for (const kind of check ? checkKinds : []) {
      for (const w of kind.lint?.(check as CheckSpec) ?? []) {
        const path = ['principles', i, 'check', ...w.path];
        warn(path, formatPath(path), w.message);
      }
    }
    const examples = p.examples ?? [];
    if (!examples.some((e) => e.violates) || !examples.some((e) => !e.violates)) {
      warn(
        ['principles', i],
        at,
        `"${p.id}" should have at least one violating and one non-violating example`,
      );
    }
    examples.forEach((e, j) => {
      const path = ['principles', i, 'examples', j];
      const pathText = `${at}.examples[${j}]`;
      if (stage === 'output' && e.response === undefined && !e.tool_calls) {
        warn(path, pathText, 'an example of an output principle needs a response or tool calls to judge');
        return;
      }
      if (stage === 'input' && e.tool_calls) {
        warn(path, pathText, 'tool_calls only apply to examples of output principles');
      }
      if (!check) return;
      const text = stage === 'input' ? e.user : (e.response ?? '');
      const targets = stage === 'input' ? ['text'] : (p.targets ?? ['text', 'tool_calls']);
      const calls = stage === 'input' || !targets.includes('tool_calls') ? [] : (e.tool_calls ?? []);
      const hit =
        (targets.includes('text') && (text !== '' || !e.tool_calls) ? runCheck(check, text) : null) ??
        calls
          .map((c) =>
            runCheckOnToolCall(check, segmentsOf('output', { text: '', toolCalls: [c] })[0]?.content ?? ''),
          )
          .find((h) => h !== null) ??
        null;
      if (hit && !e.violates) {
        warn(
          path,
          pathText,
          `marked violates: false, but the check fires on it (${hit.reason}: "${hit.evidence.slice(0, 60)}")`,
        );
      }
      if (!hit && e.violates && !p.critique) {
        warn(
          path,
          pathText,
          'marked violates: true, but the check does not fire on it and there is no critique to catch it',
        );
      }
    });
  });
  return out;
}
