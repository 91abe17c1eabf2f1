// The bundle's stamp: wrangler's build command under `tenet dev` skips only a bundle built from the very files
// now in the folder, and rebuilds after any edit, an undone one included.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleIsCurrent, devBundledVariable, readConstitutionsDigest } from '../../bin/bundle-stamp.mjs';
import { bundleConstitutions } from '../../src/cli/bundle.ts';

const shipped = new URL('../../constitutions/passthrough.yaml', import.meta.url).pathname;

describe('the constitutions bundle stamp', () => {
  it('is current only for the files tenet dev bundled, and not after an edit or its undo', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenet-stamp-'));
    const out = join(dir, 'out', 'bundle.ts');
    const file = join(dir, 'passthrough.yaml');
    copyFileSync(shipped, file);
    const original = readFileSync(file, 'utf8');

    expect(await bundleConstitutions(dir, out, true)).toBe(0);
    const env = { [devBundledVariable]: readConstitutionsDigest(dir) };
    expect(bundleIsCurrent(dir, out, env)).toBe(true);
    // Outside `tenet dev` nothing is skipped.
    expect(bundleIsCurrent(dir, out, {})).toBe(false);

    writeFileSync(file, `${original}\n# an edit\n`);
    expect(bundleIsCurrent(dir, out, env)).toBe(false);
    // wrangler's build then bundles the edit; undoing it gives tenet dev's files back, not its bundle.
    expect(await bundleConstitutions(dir, out, true)).toBe(0);
    writeFileSync(file, original);
    expect(bundleIsCurrent(dir, out, env)).toBe(false);

    // A new file counts as an edit too.
    expect(await bundleConstitutions(dir, out, true)).toBe(0);
    expect(bundleIsCurrent(dir, out, env)).toBe(true);
    writeFileSync(join(dir, 'second.yml'), original.replace(/^name: .*$/m, 'name: second'));
    expect(bundleIsCurrent(dir, out, env)).toBe(false);
  });
});
