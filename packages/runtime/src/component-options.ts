// The command line of a data-plane component process (`eddy serving`, ...): every option is a
// `--flag <value>` or, when the flag is left out, an environment variable (`envName`), so a container
// image is configured either way. Errors are UsageErrors naming the flag or the variable the bad
// value came from; the process prints them with its usage text and exits 2.

import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface OptionSpec {
  /** The value's placeholder in the usage text, e.g. `<port>` or `none|kafka`. */
  value: string;
  help: string;
}

/** One option's text and how to name where it came from (`--port` or `EDDY_SERVING_PORT`). */
export interface OptionValue {
  text: string;
  source: string;
}

export interface ComponentOptions<N extends string> {
  read(name: N): OptionValue | undefined;
  /** An integer from `min` to `max`, or undefined when not given. */
  int(name: N, min: number, max: number): number | undefined;
  /** One of `values`, `fallback` when not given. */
  oneOf<T extends string>(name: N, values: readonly T[], fallback: T): T;
  /** `host:port,...`, or undefined when not given. */
  hostPorts(name: N): string[] | undefined;
}

/** Parses `argv` against `options` (each a string flag); throws UsageError for an unknown flag. */
export function componentOptions<N extends string>(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  options: Readonly<Record<N, OptionSpec>>,
  envName: (name: N) => string,
): ComponentOptions<N> {
  let flags: Record<string, string | undefined>;
  try {
    ({ values: flags } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.keys(options).map((name) => [name, { type: 'string' }])),
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const read = (name: N): OptionValue | undefined => {
    const flag = flags[name];
    if (flag !== undefined) return { text: flag, source: `--${name}` };
    const fromEnv = env[envName(name)];
    return fromEnv === undefined || fromEnv === '' ? undefined : { text: fromEnv, source: envName(name) };
  };
  return {
    read,
    int(name, min, max) {
      const option = read(name);
      if (option === undefined) return undefined;
      const n = Number(option.text);
      if (!/^-?\d+$/.test(option.text.trim()) || n < min || n > max)
        throw new UsageError(
          `${option.source} must be an integer from ${min} to ${max}, got "${option.text}"`,
        );
      return n;
    },
    oneOf<T extends string>(name: N, values: readonly T[], fallback: T): T {
      const option = read(name);
      if (option === undefined) return fallback;
      if (!values.includes(option.text as T))
        throw new UsageError(`${option.source} must be ${alternatives(values)}, got "${option.text}"`);
      return option.text as T;
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

/** The usage text: the synopsis, then one line per option with its variable. */
export function usageText<N extends string>(
  synopsis: string,
  options: Readonly<Record<N, OptionSpec>>,
  envName: (name: N) => string,
): string {
  return [
    `usage: ${synopsis}`,
    ...(Object.entries(options) as [N, OptionSpec][]).map(
      ([name, o]) => `  ${`--${name} ${o.value}`.padEnd(34)} ${envName(name).padEnd(38)} ${o.help}`,
    ),
    `  ${'--help'.padEnd(34)} ${''.padEnd(38)} this text`,
  ].join('\n');
}

/** `"a"`, `"a" or "b"`, `"a", "b" or "c"`. */
function alternatives(values: readonly string[]): string {
  const quoted = values.map((v) => `"${v}"`);
  return quoted.length <= 1 ? (quoted[0] ?? '""') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}
