// `eddy dispatcher`: the broker's dispatcher (@eddy/broker's data-plane main, --component
// dispatcher) and, with --router-primary, a serving router of its own in the same process. That router
// follows the same serving contract and the primary's endpoints as an `eddy serving --role router`,
// pushes its stats to the one autoscaler, and takes this process's deliveries to the router origin
// (--router-origin) as calls, not through a socket to the router port: a Trigger's delivery to a
// Service costs one proxied request (router -> replica) instead of two, and no single serving process
// carries every delivery (`eddy dev --kafka` runs its dispatchers this way). It is not on the shared
// router port and takes no share of containerConcurrency: a delivery to a revision with a limit is
// declined and goes to the router port, whose routers split the limit among themselves. The two
// halves only meet here, in the CLI, so neither package depends on the other.

import { type MainOptions, parseMainArgs, runDataPlane, usage } from '@eddy/broker';
import {
  type FlagSpec,
  InProcessOrigins,
  parseFlags,
  runProcessMain,
  tlsFlagFiles,
  UsageError,
  usageText,
} from '@eddy/runtime';
import { type RunningServingRouter, runServingRouter } from '@eddy/serving';
import pino from 'pino';

const ROUTER_FLAGS = {
  'router-primary': {
    value: '<url>',
    help: "run a serving router in this process and hand it this process's deliveries to Services: the serving primary's probe URL (its /v1/endpoints and /v1/stats)",
  },
  'router-contract': { value: '<file|url>', help: 'the serving contract (required with --router-primary)' },
  'router-origin': {
    value: '<url>',
    help: "the serving router's address as deliveries name it (http(s)://host:port; required with --router-primary): requests to it are served in this process",
  },
  'router-probe-port': {
    value: '<port>',
    help: "the router's /healthz, /readyz, /metrics (default 0: a free one)",
  },
  'router-push-interval-ms': { value: '<ms>', help: 'how often its stats go to the primary (default 1000)' },
  'router-tls-cert': {
    value: '<file>',
    help: "the router's own listener serves HTTPS with this PEM certificate",
  },
  'router-tls-key': { value: '<file>', help: 'the PEM private key of --router-tls-cert' },
} as const satisfies Record<string, FlagSpec>;
type RouterFlag = keyof typeof ROUTER_FLAGS;

const routerEnvName = (flag: string): string => `EDDY_DISPATCHER_${flag.toUpperCase().replaceAll('-', '_')}`;

export interface DispatcherRouterOptions {
  primary: string;
  contract: string;
  /** The origin (`http://127.0.0.1:8081`) whose requests this process's router takes. */
  origin: string;
  probePort: number;
  pushIntervalMs: number;
  tls?: { cert: string; key: string };
}

export interface DispatcherMainOptions {
  dispatcher: MainOptions;
  router?: DispatcherRouterOptions;
}

/** The usage text: the dispatcher's flags, then the router's. */
export function dispatcherUsage(program = 'eddy dispatcher'): string {
  // usageText's first line is a synopsis and its last --help: the dispatcher's text has both.
  const routerLines = usageText('', ROUTER_FLAGS, routerEnvName).split('\n').slice(1, -1);
  return [
    usage(program),
    '',
    'A serving router in the same process (what `eddy dev --kafka` runs):',
    ...routerLines,
  ].join('\n');
}

/** `--router-*` flags (with their values) apart from the rest, which are the dispatcher's. */
function splitRouterFlags(argv: readonly string[]): { router: string[]; rest: string[] } {
  const router: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const name = /^--([^=]+)/.exec(arg)?.[1];
    if (name === undefined || !(name in ROUTER_FLAGS)) {
      rest.push(arg);
      continue;
    }
    router.push(arg);
    if (!arg.includes('=') && i + 1 < argv.length) router.push(argv[++i] ?? '');
  }
  return { router, rest };
}

/** Parses `eddy dispatcher`'s command line; throws UsageError naming the bad flag or variable. */
export function parseDispatcherArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): DispatcherMainOptions {
  const { router, rest } = splitRouterFlags(argv);
  const dispatcher = parseMainArgs(['--component', 'dispatcher', ...rest], env);
  const flags = parseFlags<RouterFlag>(router, ROUTER_FLAGS, env, routerEnvName);
  const primary = flags.text('router-primary');
  if (primary === undefined) {
    const stray = (Object.keys(ROUTER_FLAGS) as RouterFlag[]).find((f) => flags.read(f) !== undefined);
    if (stray) throw new UsageError(`${flags.read(stray)?.source} needs --router-primary <url>`);
    return { dispatcher };
  }
  const url = (flag: 'router-primary' | 'router-origin') => {
    const given = flags.read(flag);
    if (given && !/^https?:\/\/[^/]+/.test(given.text))
      throw new UsageError(`${given.source} must be an http(s) URL, got "${given.text}"`);
    return given?.text;
  };
  url('router-primary');
  const contract = flags.text('router-contract');
  if (!contract) throw new UsageError('--router-primary needs --router-contract <file|url>');
  const origin = url('router-origin');
  if (origin === undefined) throw new UsageError('--router-primary needs --router-origin <url>');
  const tls = tlsFlagFiles(flags.text('router-tls-cert'), flags.text('router-tls-key'), 'router-');
  return {
    dispatcher,
    router: {
      primary,
      contract,
      origin: new URL(origin).origin,
      probePort: flags.int('router-probe-port', 0, 65535) ?? 0,
      pushIntervalMs: flags.int('router-push-interval-ms', 50, 60_000) ?? 1000,
      ...tls,
    },
  };
}

/** Starts the router (when asked) and then the dispatcher, which hands it its deliveries to the router origin. */
export async function runDispatcher(
  options: DispatcherMainOptions,
  logger: pino.Logger,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ reload(): Promise<void>; stop(): Promise<void> }> {
  const d = options.dispatcher;
  const r = options.router;
  let router: RunningServingRouter | undefined;
  const origins = new InProcessOrigins();
  if (r) {
    router = await runServingRouter(
      {
        contract: r.contract,
        primary: r.primary,
        // One router per dispatcher, named after it on the serving feed and in the capacity split.
        id: d.memberId ?? `dispatcher-${process.pid}`,
        // Its own listener (a free port): the shared router port is for the routers that share capacity.
        host: d.host,
        port: 0,
        probePort: r.probePort,
        reusePort: false,
        share: false,
        pushIntervalMs: r.pushIntervalMs,
        watchIntervalMs: d.watchIntervalMs,
        ...(r.tls ? { tls: r.tls } : {}),
        ...(env.EDDY_CONTRACT_TOKEN ? { token: env.EDDY_CONTRACT_TOKEN } : {}),
      },
      logger,
    );
    const handler = router.router.requestInProcess?.bind(router.router);
    if (handler) origins.register(r.origin, handler);
  }
  let dispatcher: Awaited<ReturnType<typeof runDataPlane>>;
  try {
    dispatcher = await runDataPlane(d, logger, env, { inProcess: origins });
  } catch (error) {
    await router?.stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    reload: async () => {
      await Promise.all([dispatcher.reload(), router?.reload()]);
    },
    // The dispatcher first: deliveries in flight finish through the router, then the router drains.
    stop() {
      stopping ??= (async () => {
        await dispatcher.stop();
        await router?.stop();
      })();
      return stopping;
    },
  };
}

/** The process: `eddy dispatcher [--router-primary <url> ...]`. */
export function dispatcherMain(argv: string[], program = 'eddy dispatcher'): Promise<void> {
  return runProcessMain({
    argv,
    program,
    usage: dispatcherUsage,
    parse: parseDispatcherArgs,
    logger: (options) => pino({ level: options.dispatcher.logLevel, base: { pid: process.pid } }),
    name: 'dispatcher',
    start: (options, logger) => runDispatcher(options, logger, process.env),
  });
}
