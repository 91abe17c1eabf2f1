/** Bundles the `tenet` command into `outfile` (see build-cli.mjs). */
export function buildCli(outfile: string, options?: { run?: boolean }): Promise<void>;
