// csvField and jsonLine: every text quoted, formula starts inert after any separator, JSON lines safe to split.
import { describe, expect, it } from 'vitest';
import { csvField, jsonLine } from './admin-export.ts';

describe('csvField', () => {
  it('quotes every text field, doubling quotes; numbers stay bare', () => {
    expect(csvField('plain')).toBe('"plain"');
    expect(csvField('a, "b"\nc')).toBe('"a, ""b""\nc"');
    expect(csvField(null)).toBe('');
    expect(csvField(-1)).toBe('-1');
  });

  it('neutralises text a spreadsheet would evaluate, at the start and after any separator', () => {
    expect(csvField('=HYPERLINK("http://x","click")')).toBe(`"'=HYPERLINK(""http://x"",""click"")"`);
    expect(csvField('+1+1')).toBe(`"'+1+1"`);
    expect(csvField('-2')).toBe(`"'-2"`);
    expect(csvField('@SUM(A1)')).toBe(`"'@SUM(A1)"`);
    // A `;`-separated reader splits here: the second cell must not start a formula either.
    expect(csvField('a;=cmd|"/c calc"!A1')).toBe(`"a;'=cmd|""/c calc""!A1"`);
    expect(csvField('x,@SUM(1)\n+2\t-3')).toBe(`"x,'@SUM(1)\n'+2\t'-3"`);
  });
});

describe('jsonLine', () => {
  it('escapes U+2028 and U+2029 and stays valid JSON', () => {
    const line = jsonLine({ text: 'a\u2028b\u2029c' });
    expect(line).toBe('{"text":"a\\u2028b\\u2029c"}\n');
    expect(JSON.parse(line)).toEqual({ text: 'a\u2028b\u2029c' });
  });
});
