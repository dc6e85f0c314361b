// `eddy dev --kafka`'s serving data plane as a process: one `eddy serving` child (router/activator,
// autoscaler, the services' replicas as its children) following the serving contract feed on the
// admin server, instead of createServingDataPlane in the eddy dev process. supervisor.ts runs it:
// restarted with backoff and a status line; the new process polls the feed from scratch, gets the
// current contract and starts the replicas again (a restart of the serving process restarts the
// replicas; requests in flight through the dead router fail, Triggers retry theirs).
//
// To the reconcile loop this is a ServingDataPlane like the in-process one: the router's addresses
// are known up front (its port is chosen before the child starts), apply() publishes the contract and
// waits (bounded) until the process runs it, statuses() and decisions() are what the process last
// reported to the feed, and subscribe() fires when that changes. The backlog the process scales on
// it reads from Kafka itself (the contract's backlog routes name the consumer groups).
//
// With `routers` > 1 (`eddy dev --routers N`), N-1 `eddy serving --role router` processes run beside
// that primary, all on the one router port (SO_REUSEPORT: the kernel spreads the connections, no load
// balancer): they follow the same feed, get the ready replicas from the primary's probe port (chosen
// up front too) and push their concurrency to its autoscaler (serving/src/plane/router-process.ts).
// eddy dev's dispatcher processes each run a router of their own too, off the router port
// (`otherRouters`, broker-processes.ts).

import type { ServingContract } from '@eddy/api';
import { type ContractFeed, listenUrl } from '@eddy/runtime';
import {
  type ReplicaOutputLine,
  type RevisionRuntimeStatus,
  replicaOutputOf,
  type ServingDataPlane,
  type TimedDecision,
} from '@eddy/serving';
import type { ComponentProcessStatus } from '../admin/protocol.js';
import { FeedServingPlane, ROUTER_COMPONENT, SERVING_COMPONENT } from '../planes/feed-serving-plane.js';
import {
  childLogLevel,
  childUrl,
  EDDY_MAIN,
  freePort,
  processStatuses,
  type SupervisedComponentOptions,
  type SupervisedSpec,
  Supervisor,
  tlsArgs,
} from './supervisor.js';

const COMPONENT = SERVING_COMPONENT;
const MEMBER_ID = 'serving-1';
/** The extra routers' component on the feed (`router-2`, `router-3`, ...). */
const ROUTER = ROUTER_COMPONENT;

export interface RemoteServingPlaneOptions extends SupervisedComponentOptions {
  /** The router's port; 0 = a free one, chosen before the process starts. */
  port: number;
  /**
   * Routers on that port, the primary's included (default 1: the primary alone); the others are
   * `eddy serving --role router` processes. `extraArgs` are the primary's.
   */
  routers?: number;
  /**
   * Routers other processes run (eddy dev's dispatchers, `eddy dispatcher --router-*`, not on the
   * router port): given, the primary publishes its endpoints for them from the start, apply() waits
   * for the `running()` ones as for the extra routers, and members() has their pids.
   */
  otherRouters?: { running(): number; pid(id: string): number | undefined };
  /** Kafka bootstrap servers the process reads the backlog (consumer lag) from. */
  kafka: string[];
  kafkaClient?: string;
  /** Every line the services' replicas print. */
  serviceOutput?(line: ReplicaOutputLine): void;
}

export class RemoteServingPlane implements ServingDataPlane {
  readonly feed: ContractFeed<ServingContract>;
  readonly url: string;
  readonly #plane: FeedServingPlane;
  readonly #o: RemoteServingPlaneOptions;
  readonly #port: number;
  /** The primary's probe port, where the extra routers find it (0: no extra router, any port). */
  readonly #probePort: number;
  readonly #supervisor: Supervisor;
  #feedUrl = '';
  #token = '';
  #closed: Promise<void> | undefined;

  static async create(options: RemoteServingPlaneOptions): Promise<RemoteServingPlane> {
    const routers = options.routers ?? 1;
    if (!Number.isInteger(routers) || routers < 1 || routers > 64)
      throw new RangeError(`RemoteServingPlane: routers must be an integer from 1 to 64, got ${routers}`);
    const port = options.port === 0 ? await freePort(options.host) : options.port;
    const probePort = routers > 1 || options.otherRouters ? await freePort(options.host) : 0;
    return new RemoteServingPlane(options, port, probePort);
  }

  private constructor(options: RemoteServingPlaneOptions, port: number, probePort: number) {
    this.#o = options;
    this.#port = port;
    this.#probePort = probePort;
    this.url = childUrl(options, listenUrl(options.host, port));
    this.#plane = new FeedServingPlane({
      url: this.url,
      logger: options.logger,
      ...(options.applyTimeoutMs !== undefined ? { applyTimeoutMs: options.applyTimeoutMs } : {}),
      // The supervised primary is about to poll even before the feed has heard from it.
      expectedPrimaries: () => 1,
      expectedRouters: () => this.#supervisor.running(ROUTER) + (options.otherRouters?.running() ?? 0),
    });
    this.feed = this.#plane.feed;
    const routers: SupervisedSpec[] = [];
    for (let i = 2; i <= (options.routers ?? 1); i++)
      routers.push({ component: ROUTER, id: `${ROUTER}-${i}` });
    this.#supervisor = new Supervisor(
      {
        label: 'serving',
        logger: options.logger,
        print: options.print,
        command: (child) => (child.component === ROUTER ? this.#routerCommand(child) : this.#command()),
        onLine: (_child, line) => {
          const output = replicaOutputOf(line);
          if (output) options.serviceOutput?.(output);
        },
        onExit: (child) => this.feed.forget(child.id),
      },
      [{ component: COMPONENT, id: MEMBER_ID }, ...routers],
    );
  }

  /** Starts the process, following the feed at `feedUrl` with `token`. */
  start(feedUrl: string, token: string): void {
    this.#feedUrl = feedUrl;
    this.#token = token;
    this.#supervisor.start();
  }

  /** The primary's probe URL its extra routers follow (its /v1/endpoints, /metrics); undefined without. */
  get primaryUrl(): string | undefined {
    return this.#probePort > 0 ? listenUrl(this.#o.host, this.#probePort) : undefined;
  }

  /** `1/1 serving (1 restart)`, `1/1 serving, 2/2 routers` with extra routers. */
  summary(): string {
    const primary = this.#supervisor.summary(COMPONENT, COMPONENT);
    return this.#extraRouters > 0 ? `${primary}, ${this.#supervisor.summary(ROUTER)}` : primary;
  }

  /** What the feed knows of the processes, the primary's and the routers' (for the admin API's status). */
  members(): ComponentProcessStatus[] {
    const other = this.#o.otherRouters;
    return processStatuses(this.feed, this.#supervisor).map((m) => {
      const pid = m.pid ?? other?.pid(m.id);
      return pid === undefined ? m : { ...m, pid };
    });
  }

  get #extraRouters(): number {
    return (this.#o.routers ?? 1) - 1;
  }

  routeUrl(namespace: string, name: string): string {
    return this.#plane.routeUrl(namespace, name);
  }

  tagUrl(namespace: string, name: string, tag: string): string {
    return this.#plane.tagUrl(namespace, name, tag);
  }

  /** Publishes the contract and resolves once the process runs it (FeedServingPlane.apply). */
  async apply(contract: ServingContract): Promise<void> {
    if (this.#closed) throw new Error('the serving process is stopped');
    await this.#plane.apply(contract);
  }

  statuses(): RevisionRuntimeStatus[] {
    return this.#plane.statuses();
  }

  decisions(namespace: string, revision: string): TimedDecision[] {
    return this.#plane.decisions(namespace, revision);
  }

  subscribe(listener: () => void): () => void {
    return this.#plane.subscribe(listener);
  }

  /** Stops the process (it drains: requests in flight finish, replicas get SIGTERM). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#plane.close();
      await this.#supervisor.stop();
    })();
    return this.#closed;
  }

  #command(): { args: string[]; env: Record<string, string> } {
    const o = this.#o;
    const args = [
      EDDY_MAIN,
      'serving',
      '--member-id',
      MEMBER_ID,
      '--contract',
      this.#feedUrl,
      '--host',
      o.host,
      '--port',
      String(this.#port),
      '--log',
      'kafka',
      '--brokers',
      o.kafka.join(','),
      ...(o.kafkaClient ? ['--kafka-client', o.kafkaClient] : []),
      '--log-level',
      childLogLevel(o.logger),
      ...(this.#extraRouters > 0 ? ['--reuse-port', 'true'] : []),
      ...(this.#probePort > 0 ? ['--probe-port', String(this.#probePort)] : []),
      ...tlsArgs(o),
      ...(o.extraArgs ?? []),
    ];
    return { args, env: { EDDY_CONTRACT_TOKEN: this.#token } };
  }

  /** An extra router: the same feed and port, the ready replicas from the primary's probe port. */
  #routerCommand(child: SupervisedSpec): { args: string[]; env: Record<string, string> } {
    const o = this.#o;
    const args = [
      EDDY_MAIN,
      'serving',
      '--role',
      'router',
      '--primary',
      this.primaryUrl ?? '',
      '--member-id',
      child.id,
      '--contract',
      this.#feedUrl,
      '--host',
      o.host,
      '--port',
      String(this.#port),
      '--reuse-port',
      'true',
      '--log-level',
      childLogLevel(o.logger),
      ...tlsArgs(o),
    ];
    return { args, env: { EDDY_CONTRACT_TOKEN: this.#token } };
  }
}
