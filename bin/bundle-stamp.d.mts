/** See bundle-stamp.mjs. */
export const bundlePath: string;
export const devBundledVariable: string;
export function constitutionsDigest(files: readonly { name: string; text: string }[]): string;
export function readConstitutionsDigest(dir: string): string;
export function stampLine(digest: string): string;
export function bundleDigest(out: string): string | undefined;
export function bundleIsCurrent(dir: string, out: string, env?: Record<string, string | undefined>): boolean;
