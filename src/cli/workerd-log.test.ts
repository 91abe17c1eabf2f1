// wrangler dev's output through the filter: workerd's internal-error dumps folded into the line that names their id.
import { describe, expect, it } from 'vitest';
import { createWorkerdLogFilter } from './workerd-log.ts';

const esc = String.fromCharCode(27);
const dump = (id: string) =>
  `${esc}[31m✘ ${esc}[41;31m[${esc}[41;97mERROR${esc}[41;31m]${esc}[0m ${esc}[1me = kj/async-io-unix.c++:1298: failed: DNS lookup failed.; params.host = api.openai.com; params.service = ; gai_strerror(status) = Name or service not known${esc}[0m\n` +
  `  stack: /x/workerd@51f50be /x/workerd@51f5bb0; sentryErrorContext = jsgInternalError; wdErrId = ${id}\n\n\n`;

function filtered(chunks: string[]): string {
  let out = '';
  const filter = createWorkerdLogFilter((text) => {
    out += text;
  });
  for (const chunk of chunks) filter.push(chunk);
  filter.end();
  return out;
}

describe('the workerd log filter', () => {
  it('folds a dump into the line that names its reference, and passes every other line unchanged', () => {
    const tenetLine =
      '{"level":"error","msg":"The upstream model could not be reached.","cause":"Error: internal error; reference = abc123"}';
    const out = filtered([
      '[wrangler:info] Ready on http://127.0.0.1:8787\n',
      dump('abc123'),
      `${tenetLine.slice(0, 30)}`,
      `${tenetLine.slice(30)}\n`,
      '[wrangler:info] POST /v1/chat/completions 502 Bad Gateway (58ms)\n',
    ]);
    expect(out.split('\n')).toEqual([
      '[wrangler:info] Ready on http://127.0.0.1:8787',
      tenetLine.replace('reference = abc123', 'reference = abc123 (DNS lookup failed: api.openai.com)'),
      '[wrangler:info] POST /v1/chat/completions 502 Bad Gateway (58ms)',
      '',
    ]);
  });

  it('keeps a line without a newline at the end, and blank lines that follow no dump', () => {
    expect(filtered(['a\n\nb'])).toBe('a\n\nb');
  });
});
