// What every data-plane process's entry point shares (the broker's ingress/dispatcher, the sources,
// ...), so each speaks the same way: every flag has an environment variable (the flag wins), a bad
// value is a UsageError naming the flag or variable it came from (exit 2), a process that cannot
// start exits 1, SIGHUP re-reads a contract file, SIGTERM/SIGINT drain and exit 0.

import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** One flag as the usage text shows it: `--port <port>  EDDY_X_PORT  listen port`. */
export interface FlagSpec {
  value: string;
  help: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** A parsed command line; every accessor throws UsageError naming where a bad value came from. */
export interface ParsedFlags<N extends string> {
  /** The value and how to name it in a message (`--port` or `EDDY_BROKER_PORT`). */
  read(name: N): { text: string; source: string } | undefined;
  text(name: N): string | undefined;
  int(name: N, min: number, max: number): number | undefined;
  choice<C extends string>(name: N, allowed: readonly C[]): C | undefined;
  /** A comma-separated `host:port,...` list (Kafka bootstrap brokers). */
  hostPorts(name: N): string[] | undefined;
}

/** `"a" or "b"`, `"a", "b" or "c"`: the allowed values in a message. */
export function choiceList(values: readonly string[]): string {
  const quoted = values.map((v) => `"${v}"`);
  return quoted.length <= 1 ? (quoted[0] ?? '') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

/**
 * Parses `argv` (only `--name value` flags of `specs`), taking a flag it leaves out from its
 * environment variable in `env` (an empty variable counts as unset).
 */
export function parseFlags<N extends string>(
  argv: readonly string[],
  specs: Readonly<Record<N, FlagSpec>>,
  env: Env,
  envName: (flag: N) => string,
): ParsedFlags<N> {
  let flags: Record<string, string | undefined>;
  try {
    ({ values: flags } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.keys(specs).map((name) => [name, { type: 'string' }])),
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const read = (name: N) => {
    const flag = flags[name];
    if (flag !== undefined) return { text: flag, source: `--${name}` };
    const fromEnv = env[envName(name)];
    return fromEnv === undefined || fromEnv === '' ? undefined : { text: fromEnv, source: envName(name) };
  };
  return {
    read,
    text: (name) => read(name)?.text,
    int(name, min, max) {
      const option = read(name);
      if (option === undefined) return undefined;
      const n = Number(option.text);
      if (!Number.isInteger(n) || n < min || n > max)
        throw new UsageError(
          `${option.source} must be an integer from ${min} to ${max}, got "${option.text}"`,
        );
      return n;
    },
    choice(name, allowed) {
      const option = read(name);
      if (option === undefined) return undefined;
      const found = allowed.find((a) => a === option.text);
      if (found === undefined)
        throw new UsageError(`${option.source} must be ${choiceList(allowed)}, got "${option.text}"`);
      return found;
    },
    hostPorts(name) {
      const option = read(name);
      if (option === undefined) return undefined;
      const list = option.text
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean);
      if (list.length === 0) throw new UsageError(`${option.source} lists no host:port`);
      for (const b of list)
        if (!/^[^:\s]+:\d+$/.test(b)) throw new UsageError(`${option.source}: "${b}" is not host:port`);
      return list;
    },
  };
}

/** The usage text: the synopsis, then one line per flag with its variable. */
export function usageText<N extends string>(
  synopsis: string,
  specs: Readonly<Record<N, FlagSpec>>,
  envName: (flag: N) => string,
): string {
  return [
    `usage: ${synopsis}`,
    ...(Object.entries(specs) as [N, FlagSpec][]).map(
      ([name, o]) => `  ${`--${name} ${o.value}`.padEnd(34)} ${envName(name).padEnd(38)} ${o.help}`,
    ),
    `  ${'--help'.padEnd(34)} ${''.padEnd(38)} this text`,
  ].join('\n');
}

/**
 * Reads a contract file and checks it with `check` (which throws saying what is wrong); every
 * error names the file. For the start of a process: a typo should exit, not wait forever.
 */
export async function readContractFile(file: string, check: (value: unknown) => void): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read contract file ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`contract file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    check(value);
  } catch (error) {
    throw new Error(`contract file ${file}: ${(error as Error).message}`);
  }
  return value;
}

/** True when the module at `moduleUrl` is the script node was started with (not an import). */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false; // argv[1] is not a file (a REPL, an eval, a bundler's virtual path)
  }
}

/** The subset of a pino logger a process main needs. */
export interface MainLogger {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
  fatal(fields: object, message: string): void;
}

export interface RunningProcess {
  /** Re-reads a contract file (SIGHUP). Never rejects. */
  reload(): Promise<void>;
  /** Drains and stops (SIGTERM/SIGINT). */
  stop(): Promise<void>;
}

export interface ProcessMainSpec<O, L extends MainLogger> {
  argv: string[];
  /** How the user ran it (`main.js`, `eddy sources`), for the usage text. */
  program: string;
  usage(program: string): string;
  /** Throws UsageError for a bad command line. */
  parse(argv: string[], env: Env): O;
  logger(options: O): L;
  /** Names the process in its log lines: `data plane`, `sources`. */
  name: string;
  start(options: O, logger: L): Promise<RunningProcess>;
}

/**
 * The process around `start`: `--help` prints the usage, a bad command line exits 2 (message and
 * usage on stderr), a failed start exits 1, SIGHUP reloads, SIGTERM/SIGINT stop (exit 0, or 1 when
 * the stop failed).
 */
export async function runProcessMain<O, L extends MainLogger>(spec: ProcessMainSpec<O, L>): Promise<void> {
  const { argv, program, name } = spec;
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${spec.usage(program)}\n`);
    return;
  }
  let options: O;
  try {
    options = spec.parse(argv, process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${spec.usage(program)}\n`);
    process.exit(2);
  }
  const logger = spec.logger(options);
  let running: RunningProcess;
  try {
    running = await spec.start(options, logger);
  } catch (error) {
    logger.fatal({ err: error }, `${name} failed to start: ${(error as Error).message}`);
    process.exit(1);
  }
  process.on('SIGHUP', () => {
    logger.info({}, 'SIGHUP: re-reading the contract');
    void running.reload();
  });
  // once: a second SIGTERM/SIGINT while draining ends the process at once (Node's default).
  const shutdown = (signal: string) => {
    logger.info({}, `${signal}: draining`);
    running.stop().then(
      () => {
        logger.info({}, `${name} stopped`);
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, `${name} did not stop cleanly`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
