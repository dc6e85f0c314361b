// `eddy dev --kafka`'s sources: one `eddy sources` process (@eddy/sources' process main) runs every
// source adapter, instead of this process. To the reconcile loop it is a SourceRunner like the
// in-process one:
//   apply()/remove()  change the definitions and publish the next sources contract (definitions and
//                     the Secret/ConfigMap values they refer to) on the feed the process follows;
//                     changes arriving together (one reconcile pass) go out as one generation.
//                     apply() refuses at once what the process would (checkSourceDefinition), then
//                     waits (bounded) for the process to run the new generation.
//   statuses()        what the process last reported for each source; Unknown (Starting) until it
//                     runs the generation with the source's current definition, False while the
//                     process is down.
// supervisor.ts runs the process (restart with backoff, a status line when it exits).

import { isDeepStrictEqual } from 'node:util';
import type { ValueLookupOptions } from '@eddy/api';
import { ContractFeed } from '@eddy/runtime';
import {
  type ContainerOutputLine,
  checkSourceDefinition,
  parseContainerOutputLine,
  type ReadyCondition,
  referencedValues,
  reportedSourceStatuses,
  SOURCES_MAIN,
  type SourceDefinition,
  type SourceRegistry,
  type SourceRunner,
  type SourceStatus,
  type SourcesContract,
  sourceKey,
} from '@eddy/sources';
import type { SourcesProcessInfo } from '../admin/protocol.js';
import { processStatus } from './process-status.js';
import { type SupervisedComponentOptions, Supervisor } from './supervisor.js';

const COMPONENT = 'sources';
const MEMBER_ID = 'sources-1';

export interface RemoteSourceRunnerOptions extends SupervisedComponentOptions {
  /** The adapters the process runs (built-ins and `sourceAdapters`): apply() checks against them. */
  adapters: SourceRegistry;
  /** Third-party adapter packages the process loads (as given to eddy dev, resolved from the cwd). */
  sourceAdapters: readonly string[];
  /** Where the values the definitions refer to are looked up (as the reconciler plans them). */
  values(): ValueLookupOptions;
  /** Every line a ContainerSource's container prints. */
  onContainerOutput?(output: ContainerOutputLine): void;
}

export class RemoteSourceRunner implements SourceRunner {
  readonly feed = new ContractFeed<SourcesContract>();
  readonly #o: RemoteSourceRunnerOptions;
  readonly #supervisor: Supervisor;
  readonly #definitions = new Map<string, SourceDefinition>();
  /** The generation in which each source's definition last changed: older reports are stale. */
  readonly #changedIn = new Map<string, number>();
  readonly #unpublished = new Set<string>();
  #generation = 0;
  #flushing: Promise<number> | undefined;
  /** How the process last exited, while it has not reported since. */
  #exited: string | undefined;
  #feedUrl = '';
  #token = '';
  #closed: Promise<void> | undefined;

  constructor(options: RemoteSourceRunnerOptions) {
    this.#o = options;
    this.#supervisor = new Supervisor(
      {
        label: 'sources',
        logger: options.logger,
        print: options.print,
        command: () => this.#command(),
        onLine: (_child, line) => {
          const output = parseContainerOutputLine(line);
          if (output) options.onContainerOutput?.(output);
        },
        onExit: (child, how) => {
          this.#exited = how;
          this.feed.forget(child.id);
        },
      },
      [{ component: COMPONENT, id: MEMBER_ID }],
    );
    this.feed.onChange(() => {
      if (this.feed.members(COMPONENT).length > 0) this.#exited = undefined;
    });
  }

  /** Starts the process, following the feed at `feedUrl` with `token`. */
  start(feedUrl: string, token: string): void {
    this.#feedUrl = feedUrl;
    this.#token = token;
    this.#supervisor.start();
  }

  /** `1/1 sources (1 restart)`. */
  summary(): string {
    return this.#supervisor.summary(COMPONENT, COMPONENT);
  }

  /** The process as the admin API's status shows it. */
  info(): SourcesProcessInfo {
    const member = this.feed.members(COMPONENT)[0];
    const pid = this.#supervisor.pid(MEMBER_ID);
    return {
      ...(member
        ? processStatus(member, pid)
        : { id: MEMBER_ID, component: COMPONENT, ...(pid !== undefined ? { pid } : {}) }),
      ...(this.#exited !== undefined ? { down: `exited (${this.#exited}), restarting` } : {}),
      sources: this.#definitions.size,
    };
  }

  async apply(source: SourceDefinition): Promise<SourceStatus> {
    if (this.#closed) throw new Error('source runner is closed');
    checkSourceDefinition(this.#o.adapters, source);
    const key = sourceKey(source);
    if (!isDeepStrictEqual(this.#definitions.get(key), source)) {
      this.#definitions.set(key, structuredClone(source));
      this.#unpublished.add(key);
      const generation = await this.#flush();
      // One still starting counts: it is about to poll.
      if (this.#supervisor.running(COMPONENT) > 0 && this.#changedIn.get(key) === generation)
        await this.feed.appliedBy(COMPONENT, generation, this.#o.applyTimeoutMs ?? 10_000);
    }
    return this.#status(key) ?? this.#starting(source, 'waiting for the sources process');
  }

  /** Forgets the source now; the process stops it with the next generation (not waited for). */
  async remove(key: string): Promise<void> {
    if (!this.#definitions.delete(key)) return;
    this.#changedIn.delete(key);
    this.#unpublished.delete(key);
    void this.#flush();
  }

  statuses(): SourceStatus[] {
    return [...this.#definitions.keys()].flatMap((key) => this.#status(key) ?? []);
  }

  /** Stops the process (it drains its sources). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.feed.close();
      await this.#supervisor.stop();
    })();
    return this.#closed;
  }

  /** Publishes the definitions once the calls of this turn are in; resolves with the generation. */
  #flush(): Promise<number> {
    this.#flushing ??= new Promise<number>((resolve) =>
      setImmediate(() => {
        this.#flushing = undefined;
        const generation = ++this.#generation;
        for (const key of this.#unpublished) this.#changedIn.set(key, generation);
        this.#unpublished.clear();
        const sources = [...this.#definitions.values()];
        this.feed.publish({ generation, sources, values: referencedValues(sources, this.#o.values()) });
        resolve(generation);
      }),
    );
    return this.#flushing;
  }

  #status(key: string): SourceStatus | undefined {
    const definition = this.#definitions.get(key);
    if (!definition) return undefined;
    if (this.#exited !== undefined)
      return this.#condition(definition, {
        status: 'False',
        reason: 'SourcesProcessDown',
        message: `the sources process exited (${this.#exited}) and is being restarted`,
      });
    const member = this.feed.members(COMPONENT)[0];
    const changedIn = this.#changedIn.get(key);
    if (!member || changedIn === undefined || (member.applied ?? -1) < changedIn)
      return this.#starting(
        definition,
        `waiting for the sources process to run generation ${changedIn ?? '?'}`,
      );
    return (
      reportedSourceStatuses(member.status)?.find((s) => s.key === key) ??
      this.#starting(definition, 'waiting for the sources process to report it')
    );
  }

  #starting(definition: SourceDefinition, message: string): SourceStatus {
    return this.#condition(definition, { status: 'Unknown', reason: 'Starting', message });
  }

  #condition(
    d: SourceDefinition,
    ready: Pick<ReadyCondition, 'status' | 'reason' | 'message'>,
  ): SourceStatus {
    return {
      key: sourceKey(d),
      apiVersion: d.apiVersion,
      kind: d.kind,
      namespace: d.namespace,
      name: d.name,
      ready: { type: 'Ready', ...ready, lastTransitionTime: new Date().toISOString() },
    };
  }

  #command(): { args: string[]; env: Record<string, string> } {
    const o = this.#o;
    const args = [
      SOURCES_MAIN,
      '--contract',
      this.#feedUrl,
      '--member-id',
      MEMBER_ID,
      '--host',
      o.host,
      '--log-level',
      o.logger.level === 'silent' ? 'warn' : o.logger.level,
      ...(o.sourceAdapters.length > 0 ? ['--source-adapters', o.sourceAdapters.join(',')] : []),
      ...(o.extraArgs ?? []),
    ];
    return { args, env: { EDDY_CONTRACT_TOKEN: this.#token } };
  }
}
