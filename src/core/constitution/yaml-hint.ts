// A YAML structure error in plain words: the first one only (the rest usually follow from it), with the line to re-indent and the line it must line up with.
import type { YAMLError } from 'yaml';

/** Errors that break the document's structure: after the first, the parser's view of the rest is unreliable. */
const structural = new Set([
  'BAD_INDENT',
  'BLOCK_AS_IMPLICIT_KEY',
  'MULTILINE_IMPLICIT_KEY',
  'MISSING_CHAR',
  'UNEXPECTED_TOKEN',
  'TAB_AS_INDENT',
  'BAD_SCALAR_START',
  'BLOCK_IN_FLOW',
  'IMPOSSIBLE',
]);

export const isStructural = (e: YAMLError): boolean => structural.has(e.code);

/** Structure errors an indentation slip causes (a missing closing quote is one too, but not about indentation). */
export const isIndentationSlip = (e: YAMLError): boolean =>
  ['BAD_INDENT', 'BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY', 'TAB_AS_INDENT'].includes(e.code) ||
  (e.code === 'MISSING_CHAR' && /indicator|followed by map values/.test(e.message));

interface Line {
  /** 1-based line number. */
  number: number;
  text: string;
  indent: number;
  /** Where its key starts: the indent, or after `- ` for a list item holding a mapping. */
  keyColumn: number | undefined;
  item: boolean;
}

function lineAt(lines: string[], index: number): Line | undefined {
  const text = lines[index];
  if (text === undefined || text.trim() === '' || text.trim().startsWith('#')) return undefined;
  const indent = text.length - text.trimStart().length;
  const body = text.trimStart();
  const item = body === '-' || body.startsWith('- ');
  const afterDash = item ? body.slice(1).length - body.slice(1).trimStart().length + 1 : 0;
  const keyText = body.slice(afterDash);
  const keyColumn = /^[^\s#{[\]'"][^:#]*:(\s|$)/.test(keyText) ? indent + afterDash : undefined;
  return { number: index + 1, text, indent, keyColumn, item };
}

/** What a reader looks for on a line: its key (`critique:`) or its list dash. */
const landmark = (line: Line, item: boolean) => {
  if (item) return 'the `-`';
  const key = line.text.slice(line.keyColumn).match(/^([^:]+):/)?.[1];
  return key ? `\`${key}:\`` : 'the text';
};

/** A `key: value` line whose value is a scalar on the same line: nothing may be nested under it. */
const closedScalar = (line: Line) => /:\s+[^\s|>#&*!{[]/.test(line.text) || /:\s+["'[{]/.test(line.text);

/**
 * The plain hint for the first structural error at (1-based) `line`: the line to fix, and what it must line up
 * with. Undefined when no neighbour suggests a column.
 */
export function indentationHint(
  text: string,
  line: number,
): { line: number; column: number; hint: string } | undefined {
  const lines = text.split(/\r?\n/);
  let at = line - 1;
  const reported = lineAt(lines, at);
  // The parser often reports the line before the culprit: a value that seems to go on (`critique: …` followed by
  // a line indented deeper). Then the deeper line is the one to fix.
  if (reported && closedScalar(reported)) {
    let next = at + 1;
    while (next < lines.length && !lineAt(lines, next)) next++;
    const following = lineAt(lines, next);
    if (following && following.indent > (reported.keyColumn ?? reported.indent)) at = next;
  }
  const culprit = lineAt(lines, at);
  if (!culprit) return undefined;
  if (/^\s*\t/.test(culprit.text)) {
    return {
      line: culprit.number,
      column: 1,
      hint: `line ${culprit.number} is indented with a tab: YAML needs spaces`,
    };
  }
  const wanted = culprit.item ? culprit.indent : (culprit.keyColumn ?? culprit.indent);
  for (let i = at - 1; i >= 0; i--) {
    const above = lineAt(lines, i);
    if (!above) continue;
    const column = culprit.item ? (above.item ? above.indent : undefined) : above.keyColumn;
    if (column === undefined || column === wanted) continue;
    if (Math.abs(column - wanted) > 2) {
      // A parent (less indented) ends the search: the culprit belongs under it or beside it.
      if (column < wanted) break;
      continue;
    }
    return {
      line: culprit.number,
      column: wanted + 1,
      hint:
        `check the indentation of line ${culprit.number}: ${landmark(culprit, culprit.item)} there starts at ` +
        `column ${wanted + 1}, but must line up with ${landmark(above, culprit.item)} on line ${above.number} ` +
        `(column ${column + 1})`,
    };
  }
  return {
    line: culprit.number,
    column: culprit.indent + 1,
    hint:
      `check the indentation of line ${culprit.number}: keys of one mapping and items of one ` +
      'list line up exactly; what is nested under a key is indented further (spaces, never tabs)',
  };
}
