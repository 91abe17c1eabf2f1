/** Bundles the `tenet` command into `outfile`, with `split` its commands' chunks beside it (see build-cli.mjs). */
export function buildCli(outfile: string, options?: { run?: boolean; split?: boolean }): Promise<string[]>;
