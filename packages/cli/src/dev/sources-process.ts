// `eddy dev --kafka`'s sources: `eddy sources` processes (@eddy/sources' process main) run the source
// adapters, instead of this process: one by default, N with `--sources N`, each member `sources-<i+1>`
// with `--shard i/N`. Every member follows the same contract and runs what placement.ts places on it
// (competing consumers such as SqsSource on every member, anything else on its one owner). To the
// reconcile loop this is a SourceRunner like the in-process one:
//   apply()/remove()  change the definitions and publish the next sources contract (definitions and
//                     the Secret/ConfigMap values they refer to) on the feed the process follows;
//                     changes arriving together (one reconcile pass) go out as one generation.
//                     apply() refuses at once what the process would (checkSourceDefinition), then
//                     waits (bounded) for the process to run the new generation.
//   statuses()        what the members that run each source last reported, merged
//                     (mergeMemberStatuses: a once-placed source has its owner's status, an
//                     every-member one is Ready when all are, else names the member that is not);
//                     a member's view is Unknown (Starting) until it runs the generation with the
//                     source's current definition, False (SourcesProcessDown, naming it) while it is
//                     down.
// supervisor.ts runs the process (restart with backoff, a status line when it exits).

import { isDeepStrictEqual } from 'node:util';
import type { ValueLookupOptions } from '@eddy/api';
import { ContractFeed, type MemberState } from '@eddy/runtime';
import {
  type ContainerOutputLine,
  checkSourceDefinition,
  MAX_SOURCE_SHARDS,
  type MemberSourceStatus,
  mergeMemberStatuses,
  parseContainerOutputLine,
  type ReadyCondition,
  referencedValues,
  reportedSourceStatuses,
  SOURCES_MAIN,
  type SourceDefinition,
  type SourceRegistry,
  type SourceRunner,
  type SourceShard,
  type SourceStatus,
  type SourcesContract,
  shardText,
  sourceKey,
  sourceMembers,
} from '@eddy/sources';
import type { SourcesProcessInfo } from '../admin/protocol.js';
import { processStatus } from './process-status.js';
import { childLogLevel, type SupervisedComponentOptions, Supervisor } from './supervisor.js';

const COMPONENT = 'sources';

interface Member {
  id: string;
  shard: SourceShard;
  /** `sources-2 (shard 1/2)`, as messages name it. */
  name: string;
}

export interface RemoteSourceRunnerOptions extends SupervisedComponentOptions {
  /** The adapters the process runs (built-ins and `sourceAdapters`): apply() checks against them. */
  adapters: SourceRegistry;
  /** Third-party adapter packages the process loads (as given to eddy dev, resolved from the cwd). */
  sourceAdapters: readonly string[];
  /** Where the values the definitions refer to are looked up (as the reconciler plans them). */
  values(): ValueLookupOptions;
  /** Every line a ContainerSource's container prints. */
  onContainerOutput?(output: ContainerOutputLine): void;
  /** How many `eddy sources` processes share the sources (1..MAX_SOURCE_SHARDS = 64, default 1). */
  members?: number;
  /**
   * The processes run elsewhere (Kubernetes mode: a Deployment following `eddy controller`'s feed),
   * as `sources-1` ... `sources-<members>` with `--shard`: nothing is started, and a member counts as
   * running once it polls the feed.
   */
  external?: boolean;
}

export class RemoteSourceRunner implements SourceRunner {
  readonly feed = new ContractFeed<SourcesContract>();
  readonly #o: RemoteSourceRunnerOptions;
  readonly #supervisor: Supervisor | undefined;
  readonly #members: Member[];
  readonly #definitions = new Map<string, SourceDefinition>();
  /** The generation in which each source's definition last changed: older reports are stale. */
  readonly #changedIn = new Map<string, number>();
  readonly #unpublished = new Set<string>();
  #generation = 0;
  #flushing: Promise<number> | undefined;
  /** How each member last exited, while it has not reported since. */
  readonly #exited = new Map<string, string>();
  #feedUrl = '';
  /** More environment for the processes (the OIDC signing key's path and issuer URL). */
  #env: Readonly<Record<string, string>> = {};
  #token = '';
  #closed: Promise<void> | undefined;

  constructor(options: RemoteSourceRunnerOptions) {
    this.#o = options;
    const count = options.members ?? 1;
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SOURCE_SHARDS)
      throw new RangeError(`sources members must be an integer from 1 to ${MAX_SOURCE_SHARDS}, got ${count}`);
    this.#members = Array.from({ length: count }, (_, index) => {
      const shard = { index, count };
      const id = `${COMPONENT}-${index + 1}`;
      return { id, shard, name: `${id} (shard ${shardText(shard)})` };
    });
    this.#supervisor = options.external
      ? undefined
      : new Supervisor(
          {
            label: 'sources',
            logger: options.logger,
            print: options.print,
            command: (child) => this.#command(child.id),
            onLine: (_child, line) => {
              const output = parseContainerOutputLine(line);
              if (output) options.onContainerOutput?.(output);
            },
            onExit: (child, how) => {
              this.#exited.set(child.id, how);
              this.feed.forget(child.id);
            },
          },
          this.#members.map((m) => ({ component: COMPONENT, id: m.id })),
        );
    this.feed.onChange(() => {
      for (const m of this.feed.members(COMPONENT)) this.#exited.delete(m.id);
    });
  }

  /** Starts the processes, following the feed at `feedUrl` with `token`. */
  start(feedUrl: string, token: string, env: Readonly<Record<string, string>> = {}): void {
    this.#feedUrl = feedUrl;
    this.#token = token;
    this.#env = env;
    this.#supervisor?.start();
  }

  /** How many `eddy sources` processes share the sources. */
  get members(): number {
    return this.#members.length;
  }

  /** `2/2 sources (1 restart)`. */
  summary(): string {
    return (
      this.#supervisor?.summary(COMPONENT, COMPONENT) ?? `${this.#running()}/${this.#members.length} sources`
    );
  }

  /** Each process, in shard order, as the admin API's status shows it. */
  info(): SourcesProcessInfo[] {
    const live = new Map(this.feed.members(COMPONENT).map((m) => [m.id, m]));
    const placed = new Array<number>(this.#members.length).fill(0);
    for (const [key, d] of this.#definitions)
      for (const index of sourceMembers(this.#o.adapters.placement(d.apiVersion, d.kind), key, placed.length))
        placed[index] = (placed[index] ?? 0) + 1;
    return this.#members.map(({ id, shard }, index) => {
      const member = live.get(id);
      const pid = this.#supervisor?.pid(id);
      const exited = this.#exited.get(id);
      return {
        ...(member
          ? processStatus(member, pid)
          : { id, component: COMPONENT, ...(pid !== undefined ? { pid } : {}) }),
        shard: shardText(shard),
        ...(exited !== undefined ? { down: `exited (${exited}), restarting` } : {}),
        sources: placed[index] ?? 0,
      };
    });
  }

  async apply(source: SourceDefinition): Promise<SourceStatus> {
    if (this.#closed) throw new Error('source runner is closed');
    checkSourceDefinition(this.#o.adapters, source);
    const key = sourceKey(source);
    if (!isDeepStrictEqual(this.#definitions.get(key), source)) {
      this.#definitions.set(key, structuredClone(source));
      this.#unpublished.add(key);
      const generation = await this.#flush();
      // Every member that runs now (one still starting counts: it is about to poll).
      const running = this.#running();
      if (running > 0 && this.#changedIn.get(key) === generation)
        await this.feed.appliedBy(COMPONENT, generation, this.#o.applyTimeoutMs ?? 10_000, running);
    }
    return this.#status(key) ?? this.#starting(source, 'waiting for the sources processes');
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

  /** Stops the processes (they drain their sources). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.feed.close();
      await this.#supervisor?.stop();
    })();
    return this.#closed;
  }

  /** Members that run now: started ones (one still starting is about to poll), or external ones polling. */
  #running(): number {
    return this.#supervisor?.running(COMPONENT) ?? this.feed.members(COMPONENT).length;
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

  /** The source's status merged from the members placed to run it. */
  #status(key: string): SourceStatus | undefined {
    const definition = this.#definitions.get(key);
    if (!definition) return undefined;
    const placement = this.#o.adapters.placement(definition.apiVersion, definition.kind);
    const live = new Map(this.feed.members(COMPONENT).map((m) => [m.id, m]));
    return mergeMemberStatuses(
      sourceMembers(placement, key, this.#members.length).map((index): MemberSourceStatus => {
        const member = this.#members[index] as Member;
        return { member: member.name, status: this.#memberStatus(member, live.get(member.id), definition) };
      }),
    );
  }

  /** What one member says about a source it runs, or why it says nothing. */
  #memberStatus(member: Member, state: MemberState | undefined, definition: SourceDefinition): SourceStatus {
    const exited = this.#exited.get(member.id);
    if (exited !== undefined)
      return this.#condition(definition, {
        status: 'False',
        reason: 'SourcesProcessDown',
        message: `sources process ${member.name} exited (${exited}) and is being restarted`,
      });
    const key = sourceKey(definition);
    const changedIn = this.#changedIn.get(key);
    if (!state || changedIn === undefined || (state.applied ?? -1) < changedIn)
      return this.#starting(
        definition,
        `waiting for sources process ${member.name} to run generation ${changedIn ?? '?'}`,
      );
    return (
      reportedSourceStatuses(state.status)?.find((s) => s.key === key) ??
      this.#starting(definition, `waiting for sources process ${member.name} to report it`)
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

  #command(id: string): { args: string[]; env: Record<string, string> } {
    const o = this.#o;
    const member = this.#members.find((m) => m.id === id) as Member;
    const args = [
      SOURCES_MAIN,
      '--contract',
      this.#feedUrl,
      '--member-id',
      id,
      '--shard',
      shardText(member.shard),
      '--host',
      o.host,
      '--log-level',
      childLogLevel(o.logger),
      ...(o.sourceAdapters.length > 0 ? ['--source-adapters', o.sourceAdapters.join(',')] : []),
      ...(o.extraArgs ?? []),
    ];
    return { args, env: { ...this.#env, EDDY_CONTRACT_TOKEN: this.#token } };
  }
}
