// The `tenet` command: dispatches to its subcommands and turns their failures into exit codes.

import { settings } from '../core/config.ts';
import { envFileArgs, loadEnvFiles, runCommand } from './command.ts';

const usage = `tenet — a principle-based response critic in front of your LLM

Usage:
  tenet serve                     run the proxy on Node (default http://127.0.0.1:8787)
  tenet dev [wrangler dev args]   run the proxy under wrangler dev (Workers runtime, local D1; settings
                                  from .dev.vars, or the --env-file files instead)
  tenet lint [files…]             check constitution files (default: constitutions/*.yaml)
  tenet bundle [dir]              resolve the constitutions into the Worker's bundle
  tenet schema [file]             write the constitution JSON Schema for editors
  tenet settings                  write README.md's settings table and .dev.vars.example from the settings
  tenet logs [filters] [--follow] [--json]
                                  tail the violation log of a running Tenet (admin API)
  tenet stats [--bucket hour|day] [filters] [--json]
                                  per-principle counts and precision, verdict mix, latency, tokens
  tenet export --format jsonl|csv|pairs [--kind requests|violations] [filters] [--out FILE]
                                  stream the filtered log (pairs: preference data of revisions)
  tenet import FILE|- [--reviews FILE]
                                  write an export's records (--kind requests --format jsonl) into the log
                                  TENET_DB names, e.g. a SQLite log moving to Postgres; --reviews adds the
                                  labels of a --kind violations export. Already stored records are skipped
    filters: --principle P --severity S --constitution C --version H --verdict V --model M --protocol P
             --client-request-id ID (the x-client-request-id a client sent)
             --since 1h|2d|DATE (or --from) --to DATE --q TEXT --review confirmed|false_positive|unreviewed
             --shadow judged|agree|disagree (where a shadow candidate judged, agreed or disagreed)
    target:  --url URL (TENET_URL, default http://127.0.0.1:8787), --token T (TENET_ADMIN_TOKEN)
  tenet test [constitutions…] [--runs K] [--concurrency N] [--json FILE|-] [--junit FILE]
                                  judge every principle's examples with the configured critic
                                  (names or files; default: every constitution); exit 1 on a failure
                                  --report: post the results to a running Tenet (--url, --token) for the
                                  dashboard; exit 2 when they could not be sent
  tenet replay --constitution FILE|NAME [filters] [--limit N] [--revise] [--json FILE|-]
                                  judge logged drafts under a candidate constitution: what would change
                                  (--logged NAME|all: whose traffic; default the candidate's name if logged)
  tenet redteam [--constitution NAME] [--category C] [--probes FILE [--no-builtin]] [--stream] [--protocol chat|responses|completions|messages] [--json FILE|-]
                                  send the red-team probes through a running Tenet (--url, --key /
                                  TENET_KEY, --model, default gpt-4o-mini); exit 1 on a miss or over-block
  tenet help                      this text

Every command takes --env-file FILE (repeatable, e.g. --env-file .dev.vars): settings and TENET_URL,
TENET_ADMIN_TOKEN, TENET_KEY are read from it; variables already set in the shell win.

Settings (environment variables):
${Object.entries(settings)
  .map(([k, v]) => `  ${k.padEnd(30)} ${v}`)
  .join('\n')}
`;

type Command = (args: string[], envFiles: string[]) => Promise<number>;

/** Each subcommand, loaded when it runs (`tenet lint` never loads the server, the server never the CLI). */
const commands: Record<string, Command> = {
  serve: async () => {
    const { startNodeServer } = await import('../entry/node.ts');
    const server = await startNodeServer(process.env);
    // Once, however many signals come (one sent to the process group reaches it from `tenet serve`'s own parent
    // as well: a second must not cut the shutdown short, leaving records unwritten).
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      server.close().then(() => process.exit(0));
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return await new Promise<number>(() => {});
  },
  bundle: async (args) => (await import('./bundle.ts')).bundleConstitutions(args[0]),
  schema: async (args) => (await import('./schema.ts')).writeConstitutionSchema(args[0]),
  settings: async () => (await import('./settings-docs.ts')).writeSettingsDocs(),
  lint: async (args) => (await import('./lint.ts')).lintCommand(args),
  logs: async (args) => (await import('./logs.ts')).logsCommand(args),
  stats: async (args) => (await import('./logs.ts')).statsCommand(args),
  export: async (args) => (await import('./logs.ts')).exportCommand(args),
  import: async (args) => (await import('./import.ts')).importCommand(args),
  test: async (args) => (await import('./test.ts')).testCommand(args),
  replay: async (args) => (await import('./replay.ts')).replayCommand(args),
  redteam: async (args) => (await import('./redteam.ts')).redteamCommand(args),
  dev: async (args, envFiles) => (await import('./dev.ts')).runWranglerDev(args, envFiles),
};

const helpWords = new Set([undefined, 'help', '--help', '-h']);

export async function main(argv: string[]): Promise<number> {
  const [command, ...given] = argv;
  return runCommand(undefined, async () => {
    // Every command reads --env-file (the server its settings, the CLI TENET_URL, TENET_ADMIN_TOKEN, TENET_KEY);
    // `tenet dev` hands its files to wrangler instead of .dev.vars.
    const { files: envFiles, rest: args } = envFileArgs(given);
    // `tenet serve --help` prints the usage and settings instead of starting a server (`tenet dev` passes it on).
    if (command !== 'dev' && (args.includes('--help') || args.includes('-h'))) {
      process.stdout.write(usage);
      return 0;
    }
    if (command !== 'dev') loadEnvFiles(envFiles);
    const run = command !== undefined && Object.hasOwn(commands, command) ? commands[command] : undefined;
    if (run) return await run(args, envFiles);
    if (helpWords.has(command)) {
      process.stdout.write(usage);
      return 0;
    }
    process.stderr.write(`tenet: unknown command "${command}"\n\n${usage}`);
    return 2;
  });
}
