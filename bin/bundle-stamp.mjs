// The stamp `tenet bundle` puts on the constitutions bundle: a digest of the constitution files it was built from.
// Plain JavaScript, so that bin/tenet.mjs can check it before loading tsx: `tenet dev` bundles in its own process
// and wrangler dev then runs the build command twice at start (its first build, and again when its file watcher is
// ready); each of those finds the bundle current and returns in a tenth of a second instead of a second and a half.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where `tenet bundle` writes the constitutions module the Worker imports (relative to the project root). */
export const bundlePath = 'src/entry/constitutions.bundle.ts';

/** Set by `tenet dev` for wrangler's build command: the digest of the constitutions it has just bundled. */
export const devBundledVariable = 'TENET_DEV_BUNDLED';

/** A digest of constitution files (name and text of each, in name order). */
export function constitutionsDigest(files) {
  const hash = createHash('sha256');
  for (const { name, text } of [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))
    hash.update(`${name}\0${text}\0`);
  return hash.digest('hex').slice(0, 32);
}

/** The digest of the constitution files now in `dir` (those `tenet bundle` reads: *.yaml and *.yml). */
export function readConstitutionsDigest(dir) {
  return constitutionsDigest(
    readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') })),
  );
}

/** The bundle's first line. */
export const stampLine = (digest) => `// constitutions digest: ${digest}`;

/** The digest a bundle is stamped with (its first line), or undefined when `out` has no stamp. */
export function bundleDigest(out) {
  if (!existsSync(out)) return undefined;
  const text = readFileSync(out, 'utf8');
  const first = text.slice(0, text.indexOf('\n'));
  const prefix = stampLine('');
  return first.startsWith(prefix) ? first.slice(prefix.length) : undefined;
}

/**
 * True when `out` was built by `tenet dev` in this run from exactly the files now in `dir`: the digest `tenet dev`
 * passed down (its bundle's stamp) matches both the files and the bundle's stamp now (an edit and its undo
 * rebuild, as the stamp then differs).
 */
export function bundleIsCurrent(dir, out, env = process.env) {
  const expected = env[devBundledVariable];
  if (!expected || !existsSync(dir) || bundleDigest(out) !== expected) return false;
  return readConstitutionsDigest(dir) === expected;
}
