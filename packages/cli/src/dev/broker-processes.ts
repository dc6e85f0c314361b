// `eddy dev --kafka`'s broker data plane: N ingress and M dispatcher processes (`eddy ingress` /
// `eddy dispatcher`, i.e. @eddy/broker's data-plane main) instead of one in-process data plane, so
// the broker uses every core. Each follows the contract feed on the admin server; the ingresses share
// one port (SO_REUSEPORT, the kernel spreads connections), the dispatchers share the Triggers'
// consumer groups (Kafka spreads partitions). supervisor.ts runs them (restarts with backoff, status
// lines, they die with eddy dev). With serving as a process too, each dispatcher also runs a serving
// router of its own (`eddy dispatcher --router-*`): its deliveries to Services go straight from that
// router to a replica (those to revisions with a containerConcurrency limit through the router port).
//
// To the reconcile loop this is a broker data plane like the in-process one: apply() publishes the
// contract and resolves once every live member runs it (bounded), lag() reads the consumer groups'
// committed offsets with the control plane's own Kafka client (so it covers every dispatcher), and
// the groups of deleted Triggers are deleted once no dispatcher runs them any more: the shared part
// is ../planes/feed-broker-plane.ts, this file adds the processes.

import type { DataPlaneContract } from '@eddy/api';
import {
  type ApplyOptions,
  type ApplyResult,
  DATA_PLANE_MAIN,
  type EventLog,
  type IngressLimits,
  ingressLimitArgs,
} from '@eddy/broker';
import { listenUrl } from '@eddy/runtime';
import type { ComponentProcessStatus } from '../admin/protocol.js';
import { type BrokerComponent, FeedBrokerPlane } from '../planes/feed-broker-plane.js';
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

export type { BrokerComponent };

/** A serving router in each dispatcher process (`eddy dispatcher --router-*`, commands/dispatcher-main.ts). */
export interface DispatcherRouters {
  /** The serving primary's probe URL (its endpoints and stats). */
  primary: string;
  /** The serving contract feed (the same token as the broker's). */
  contract: string;
  /** The router's address as deliveries name it (the router port's URL). */
  origin: string;
}

export interface BrokerProcessesOptions extends SupervisedComponentOptions {
  kafka: string[];
  /** The ingresses' shared port; 0 = a free one, chosen before they start. */
  port: number;
  ingresses: number;
  dispatchers: number;
  /** The ingresses' request limits that differ from the defaults (`--ingress-max-body-bytes`...). */
  ingressLimits?: IngressLimits;
  /** The control plane's log client: lag and group deletion. */
  log: EventLog;
}

export class BrokerProcesses {
  readonly url: string;
  readonly #o: BrokerProcessesOptions;
  readonly #port: number;
  readonly #supervisor: Supervisor;
  readonly #plane: FeedBrokerPlane;
  #feedUrl: string | undefined;
  /** More environment for the processes (the OIDC signing key's path and issuer URL). */
  #env: Readonly<Record<string, string>> = {};
  #token: string | undefined;
  #routers: DispatcherRouters | undefined;
  #closed: Promise<void> | undefined;

  static async create(options: BrokerProcessesOptions): Promise<BrokerProcesses> {
    const port = options.port === 0 ? await freePort(options.host) : options.port;
    return new BrokerProcesses(options, port);
  }

  private constructor(options: BrokerProcessesOptions, port: number) {
    this.#o = options;
    this.#port = port;
    this.url = childUrl(options, listenUrl(options.host, port));
    // Every process that runs now must run a new contract (one still starting counts: it is about to poll).
    this.#plane = new FeedBrokerPlane({
      url: this.url,
      log: options.log,
      logger: options.logger,
      ...(options.applyTimeoutMs !== undefined ? { applyTimeoutMs: options.applyTimeoutMs } : {}),
      expected: (component) => Math.max(1, this.#supervisor.running(component)),
    });
    const children: SupervisedSpec[] = [];
    const add = (component: BrokerComponent, count: number) => {
      for (let i = 1; i <= count; i++) children.push({ component, id: `${component}-${i}` });
    };
    add('ingress', options.ingresses);
    add('dispatcher', options.dispatchers);
    this.#supervisor = new Supervisor(
      {
        label: 'broker',
        logger: options.logger,
        print: options.print,
        command: (child) => this.#command(child),
        onExit: (child) => this.feed.forget(child.id),
      },
      children,
    );
  }

  /**
   * Starts every process, following the feed at `feedUrl` with `token`; with `routers`, each
   * dispatcher runs a serving router of its own and hands it its deliveries to Services.
   */
  start(
    feedUrl: string,
    token: string,
    env: Readonly<Record<string, string>> = {},
    routers?: DispatcherRouters,
  ): void {
    this.#feedUrl = feedUrl;
    this.#token = token;
    this.#env = env;
    this.#routers = routers;
    this.#supervisor.start();
  }

  /** Dispatcher processes running now (each with a serving router when started with routers). */
  get runningDispatchers(): number {
    return this.#supervisor.running('dispatcher');
  }

  /** The pid of the process `id` (`dispatcher-1`) now; undefined while it is down. */
  pid(id: string): number | undefined {
    return this.#supervisor.pid(id);
  }

  /** One line per component: how many run, and restarts so far. */
  summary(): string {
    return [this.#supervisor.summary('ingress', 'ingresses'), this.#supervisor.summary('dispatcher')].join(
      ', ',
    );
  }

  /** What the feed knows of each process (for the admin API's status). */
  members(): ComponentProcessStatus[] {
    return processStatuses(this.feed, this.#supervisor);
  }

  get feed() {
    return this.#plane.feed;
  }

  apply(contract: DataPlaneContract, options: ApplyOptions = {}): Promise<ApplyResult> {
    return this.#plane.apply(contract, options);
  }

  /** Records of the route's consumer group not committed yet, across every dispatcher. */
  lag(routeId: string): Promise<number> {
    return this.#plane.lag(routeId);
  }

  /** Ingresses first, so nothing new lands while the dispatchers drain. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.feed.close();
      await this.#supervisor.stop(['ingress', 'dispatcher']);
      await this.#plane.close();
    })();
    return this.#closed;
  }

  #command(child: SupervisedSpec): { args: string[]; env: Record<string, string> } {
    const o = this.#o;
    const ingress = child.component === 'ingress';
    const routers = ingress ? undefined : this.#routers;
    const args = [
      // A dispatcher with a router is the CLI's composition of the two (`eddy dispatcher --router-*`).
      ...(routers ? [EDDY_MAIN, 'dispatcher'] : [DATA_PLANE_MAIN, '--component', child.component]),
      '--member-id',
      child.id,
      '--contract',
      this.#feedUrl ?? '',
      '--log',
      'kafka',
      '--brokers',
      o.kafka.join(','),
      '--host',
      o.host,
      '--port',
      ingress ? String(this.#port) : '0',
      '--reuse-port',
      String(ingress),
      '--log-level',
      childLogLevel(o.logger),
      ...(ingress ? [...tlsArgs(o), ...ingressLimitArgs(o.ingressLimits ?? {})] : []),
      ...(routers
        ? [
            '--router-primary',
            routers.primary,
            '--router-contract',
            routers.contract,
            '--router-origin',
            routers.origin,
            ...(o.tlsFiles ? ['--router-tls-cert', o.tlsFiles.cert, '--router-tls-key', o.tlsFiles.key] : []),
          ]
        : []),
      ...(o.extraArgs ?? []),
    ];
    return { args, env: { ...this.#env, EDDY_CONTRACT_TOKEN: this.#token ?? '' } };
  }
}
