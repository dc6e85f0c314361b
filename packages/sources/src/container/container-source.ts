// ContainerSource in embedded mode: the first container of `spec.template` runs as a local process
// with K_SINK / K_CE_OVERRIDES (and K_OIDC_TOKEN_FILE when the sink has an audience) and sends events
// itself (the emitter is not used). A crashing process is restarted with backoff and reported as
// CrashLoop; containers are registered with a ProcessGroupReaper, so they die with a SIGKILLed Eddy.
// README "ContainerSource".

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Container, ContainerSource } from '@eddy/api';
import { ProcessGroupReaper, workingDirectoryProblem } from '@eddy/runtime';
import type { CeOverrides, RunningSource, SourceAdapter, SourceContext } from '../sdk/adapter.js';
import { OIDC_TOKEN_FILE_ENV, startOidcTokenFile } from './oidc-token-file.js';

export type ContainerSourceSpec = ContainerSource['spec'];
type EnvVar = NonNullable<Container['env']>[number];

export interface ContainerSourceOptions {
  /** First restart delay; doubles per consecutive crash. Default 1000 ms. */
  restartDelayMs?: number;
  /** Upper bound of the restart delay. Default 60 000 ms. */
  maxRestartDelayMs?: number;
  /** Up this long = healthy again: Ready, and the backoff starts over. Default 10 000 ms. */
  stableAfterMs?: number;
  /** SIGTERM, then SIGKILL after this long. Default 10 000 ms. */
  stopGraceMs?: number;
  /** Lines of output kept for the CrashLoop message. Default 10. */
  keepLines?: number;
  /**
   * Stops the containers' process groups if Eddy dies without stop() (SIGKILL). Default: one reaper
   * shared by every ContainerSource of this adapter, started with the first container.
   */
  reaper?: ProcessGroupReaper;
  /** Also called with every line a container prints (besides the source's logger), e.g. for `eddy dev`'s console. */
  onOutput?: (line: { namespace: string; name: string; stream: 'stdout' | 'stderr'; line: string }) => void;
}

/** The environment Knative gives a source container: K_SINK, and K_CE_OVERRIDES when set. */
export function sourceContainerEnv(
  sink: string,
  ceOverrides: CeOverrides | undefined,
): Record<string, string> {
  const env: Record<string, string> = { K_SINK: sink };
  if (ceOverrides) env.K_CE_OVERRIDES = JSON.stringify(ceOverrides);
  return env;
}

async function resolveEnv(
  vars: readonly EnvVar[],
  context: Pick<SourceContext, 'secrets' | 'configMaps'>,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const [i, v] of vars.entries()) {
    if (v.value !== undefined) {
      env[v.name] = v.value;
      continue;
    }
    const from = v.valueFrom as
      | {
          secretKeyRef?: { name: string; key: string; optional?: boolean };
          configMapKeyRef?: { name: string; key: string; optional?: boolean };
        }
      | undefined;
    const value = from?.secretKeyRef
      ? await context.secrets.resolve(from.secretKeyRef)
      : from?.configMapKeyRef
        ? await context.configMaps.resolve(from.configMapKeyRef)
        : undefined;
    if (value !== undefined) env[v.name] = value;
    else if (from !== undefined && !from.secretKeyRef && !from.configMapKeyRef)
      throw new TypeError(
        `spec.template.spec.containers[0].env[${i}] (${v.name}): only value, valueFrom.secretKeyRef and valueFrom.configMapKeyRef are supported in embedded mode`,
      );
    else if (from === undefined) env[v.name] = '';
  }
  return env;
}

/**
 * The runner's environment minus embedded-mode secrets (EDDY_SECRET_*): a container gets only the
 * secrets its spec asks for, through valueFrom.secretKeyRef (or configMapKeyRef).
 */
function inheritedEnv(): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('EDDY_SECRET_')));
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exited with code ${code}`;
}

export function createContainerSourceAdapter(
  options: ContainerSourceOptions = {},
): SourceAdapter<ContainerSourceSpec> {
  const restartDelayMs = options.restartDelayMs ?? 1_000;
  const maxRestartDelayMs = options.maxRestartDelayMs ?? 60_000;
  const stableAfterMs = options.stableAfterMs ?? 10_000;
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  const keepLines = options.keepLines ?? 10;
  let reaper = options.reaper;

  async function start(context: SourceContext<ContainerSourceSpec>): Promise<RunningSource> {
    const { spec, logger, setHealth } = context;
    reaper ??= new ProcessGroupReaper({ logger });
    const groups = reaper;
    const container = spec.template.spec.containers?.[0];
    if (!container) throw new TypeError('spec.template.spec.containers: expected one container, found none');
    const [command, ...commandArgs] = container.command ?? [];
    if (!command) {
      throw new TypeError(
        `spec.template.spec.containers[0].command: required in embedded mode (image ${JSON.stringify(container.image ?? '')} runs only on Kubernetes)`,
      );
    }
    const args = [...commandArgs, ...(container.args ?? [])];
    // Checked here: spawn in a missing directory fails with ENOENT naming the command instead.
    const cwdProblem =
      container.workingDir === undefined ? undefined : workingDirectoryProblem(container.workingDir);
    if (cwdProblem) throw new TypeError(`spec.template.spec.containers[0].workingDir: ${cwdProblem}`);
    const ownEnv = await resolveEnv(container.env ?? [], context);
    // With an audience on the sink, the process gets its token as a file, as Knative mounts one at /oidc.
    const tokenFile = context.sinkAuthorization
      ? await startOidcTokenFile(context.sinkAuthorization, logger)
      : undefined;
    const env = {
      ...inheritedEnv(),
      ...ownEnv,
      ...sourceContainerEnv(context.sink, context.ceOverrides),
      ...(tokenFile ? { [OIDC_TOKEN_FILE_ENV]: tokenFile.path } : {}),
    };
    const lastLines: string[] = [];
    let child: ChildProcess | undefined;
    let exited: Promise<unknown> = Promise.resolve();
    let stopping = false;
    let crashes = 0;
    let restartTimer: NodeJS.Timeout | undefined;
    let stableTimer: NodeJS.Timeout | undefined;

    function remember(line: string): void {
      lastLines.push(line);
      if (lastLines.length > keepLines) lastLines.shift();
    }

    function pipe(stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr'): void {
      if (!stream) return;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        remember(line);
        if (name === 'stderr') logger.warn({ stream: name }, line);
        else logger.info({ stream: name }, line);
        options.onOutput?.({ namespace: context.namespace, name: context.name, stream: name, line });
      });
    }

    function onEnded(proc: ChildProcess, why: string): void {
      if (child !== proc) return;
      child = undefined;
      clearTimeout(stableTimer);
      if (stopping) return;
      crashes++;
      const delay = Math.min(restartDelayMs * 2 ** (crashes - 1), maxRestartDelayMs);
      const tail = lastLines.length > 0 ? `; last output: ${lastLines.join(' | ')}` : '';
      logger.warn({ crashes, restartInMs: delay }, `container process ${why}`);
      setHealth({
        ready: false,
        reason: 'CrashLoop',
        message: `${command} ${why}; restart ${crashes} in ${delay} ms${tail}`,
      });
      restartTimer = setTimeout(run, delay);
    }

    function run(): void {
      restartTimer = undefined;
      if (stopping) return;
      const proc = spawn(command as string, args, {
        env,
        cwd: container?.workingDir,
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so stop() reaches the children it starts too.
        detached: true,
      });
      child = proc;
      exited = new Promise<void>((resolve) => {
        let ended = false;
        const end = (why: string) => {
          if (ended) return;
          ended = true;
          onEnded(proc, why);
          resolve();
        };
        proc.once('error', (err) => end(`could not start: ${err.message}`));
        proc.once('exit', (code, signal) => {
          if (proc.pid !== undefined) groups.forget(proc.pid);
          end(describeExit(code, signal));
        });
      });
      pipe(proc.stdout, 'stdout');
      pipe(proc.stderr, 'stderr');
      proc.once('spawn', () => {
        if (proc.pid !== undefined) groups.watch(proc.pid);
        logger.info({ pid: proc.pid, command, args }, 'container process started');
        if (crashes === 0) {
          setHealth({ ready: true, reason: 'Running' });
          return;
        }
        stableTimer = setTimeout(() => {
          if (child !== proc) return;
          crashes = 0;
          setHealth({ ready: true, reason: 'Running' });
        }, stableAfterMs);
      });
    }

    function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
      try {
        if (proc.pid !== undefined) process.kill(-proc.pid, signal);
      } catch {
        // Already gone.
      }
    }

    run();
    // The first spawn either starts or fails right away; report start() after that.
    if (child) await Promise.race([once(child, 'spawn').catch(() => {}), exited]);

    return {
      async stop() {
        stopping = true;
        clearTimeout(restartTimer);
        clearTimeout(stableTimer);
        const proc = child;
        if (proc && proc.exitCode === null && proc.signalCode === null) {
          signalGroup(proc, 'SIGTERM');
          const grace = setTimeout(() => signalGroup(proc, 'SIGKILL'), stopGraceMs);
          await exited;
          clearTimeout(grace);
          // Children that ignored SIGTERM while their leader exited.
          signalGroup(proc, 'SIGKILL');
        }
        await tokenFile?.close();
      },
    };
  }

  // One container per source: run by one sources process.
  return { apiVersion: 'sources.knative.dev/v1', kind: 'ContainerSource', placement: 'once', start };
}

export const containerSourceAdapter = createContainerSourceAdapter();
