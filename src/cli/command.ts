// Every `tenet` command's failures, turned into a message and an exit code in one place.
import { TenetFault, UsageError } from '../core/errors.ts';

export interface CommandOptions {
  /**
   * The exit code of every fault, for commands whose exit 1 is a result (`test`: a failed example, `replay`: a
   * regression, `redteam`: a missed probe): there any fault that stops the command is exit 2.
   */
  faultExit?: 2;
}

/** node:util's parseArgs rejects unknown or malformed flags with a TypeError carrying an ERR_PARSE_ARGS_* code. */
const isArgsError = (err: unknown): err is TypeError => err instanceof TypeError && 'code' in err;

/**
 * Runs a command body; a fault it throws is written to stderr as `tenet NAME: message` and ends it with the
 * fault's exit code (`tenet: cannot start, …` for the server's own faults). Anything else is a bug and is thrown.
 */
export async function runCommand(
  name: string | undefined,
  body: () => Promise<number> | number,
  options: CommandOptions = {},
): Promise<number> {
  try {
    return await body();
  } catch (thrown) {
    const err = isArgsError(thrown) ? new UsageError(thrown.message) : thrown;
    if (!(err instanceof TenetFault)) throw err;
    const what = name === undefined && err.exitCode === 1 ? `cannot start, ${err.message}` : err.message;
    process.stderr.write(`${name === undefined ? 'tenet' : `tenet ${name}`}: ${what}\n`);
    return options.faultExit ?? err.exitCode;
  }
}
