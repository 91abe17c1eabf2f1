// csvField: RFC 4180 quoting, and logged text that a spreadsheet would run as a formula kept inert.
import { describe, expect, it } from 'vitest';
import { csvField } from './admin-export.ts';

describe('csvField', () => {
  it('quotes commas, quotes and line breaks, doubling quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a, "b"\nc')).toBe('"a, ""b""\nc"');
    expect(csvField(null)).toBe('');
    expect(csvField(-1)).toBe('-1');
  });

  it('neutralises text a spreadsheet would evaluate', () => {
    expect(csvField('=HYPERLINK("http://x","click")')).toBe(`"'=HYPERLINK(""http://x"",""click"")"`);
    expect(csvField('+1+1')).toBe("'+1+1");
    expect(csvField('-2')).toBe("'-2");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
  });
});
