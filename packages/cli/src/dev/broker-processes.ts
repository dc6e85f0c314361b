// `eddy dev --kafka`'s broker data plane: N ingress and M dispatcher processes (`eddy ingress` /
// `eddy dispatcher`, i.e. @eddy/broker's data-plane main) instead of one in-process data plane, so
// the broker uses every core. Each follows the contract feed on the admin server; the ingresses share
// one port (SO_REUSEPORT, the kernel spreads connections), the dispatchers share the Triggers'
// consumer groups (Kafka spreads partitions). supervisor.ts runs them (restarts with backoff, status
// lines, they die with eddy dev).
//
// To the reconcile loop this is a broker data plane like the in-process one: apply() publishes the
// contract and resolves once every live member runs it (bounded), lag() reads the consumer groups'
// committed offsets with the control plane's own Kafka client (so it covers every dispatcher), and
// the groups of deleted Triggers are deleted here, once no dispatcher runs them any more.

import type { DataPlaneContract, DispatchRoute } from '@eddy/api';
import {
  type ApplyOptions,
  type ApplyResult,
  createLogRetryStateStore,
  DATA_PLANE_MAIN,
  type EventLog,
  groupLag,
  type RetryStateStore,
} from '@eddy/broker';
import { ContractFeed, listenUrl } from '@eddy/runtime';
import type { ComponentProcessStatus } from '../admin/protocol.js';
import {
  childLogLevel,
  freePort,
  processStatuses,
  type SupervisedComponentOptions,
  type SupervisedSpec,
  Supervisor,
} from './supervisor.js';

export type BrokerComponent = 'ingress' | 'dispatcher';

export interface BrokerProcessesOptions extends SupervisedComponentOptions {
  kafka: string[];
  /** The ingresses' shared port; 0 = a free one, chosen before they start. */
  port: number;
  ingresses: number;
  dispatchers: number;
  /** The control plane's log client: lag and group deletion. */
  log: EventLog;
}

export class BrokerProcesses {
  readonly feed = new ContractFeed<DataPlaneContract>();
  readonly url: string;
  readonly #o: BrokerProcessesOptions;
  readonly #port: number;
  readonly #supervisor: Supervisor;
  #feedUrl: string | undefined;
  #token: string | undefined;
  #retryState: RetryStateStore | undefined;
  #closed: Promise<void> | undefined;

  static async create(options: BrokerProcessesOptions): Promise<BrokerProcesses> {
    const port = options.port === 0 ? await freePort(options.host) : options.port;
    return new BrokerProcesses(options, port);
  }

  private constructor(options: BrokerProcessesOptions, port: number) {
    this.#o = options;
    this.#port = port;
    this.url = listenUrl(options.host, port);
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

  /** Starts every process, following the feed at `feedUrl` with `token`. */
  start(feedUrl: string, token: string): void {
    this.#feedUrl = feedUrl;
    this.#token = token;
    this.#supervisor.start();
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

  async apply(contract: DataPlaneContract, options: ApplyOptions = {}): Promise<ApplyResult> {
    const previous = this.feed.current;
    if (!this.feed.publish(contract)) return { applied: false, generation: previous?.generation };
    const timeoutMs = this.#o.applyTimeoutMs ?? 30_000;
    // Every process that runs now must run it (one still starting counts: it is about to poll).
    const running = (component: BrokerComponent) => this.#supervisor.running(component);
    const [ingresses, dispatchers] = await Promise.all([
      this.feed.appliedBy('ingress', contract.generation, timeoutMs, running('ingress')),
      this.feed.appliedBy('dispatcher', contract.generation, timeoutMs, running('dispatcher')),
    ]);
    const failing = this.feed.members().filter((m) => m.error !== undefined);
    if (!ingresses || !dispatchers) {
      this.#o.logger.warn(
        { generation: contract.generation, members: this.feed.members() },
        `broker processes: not all run contract generation ${contract.generation} after ${timeoutMs} ms`,
      );
    }
    if (dispatchers && previous && options.deleteGroupsOf) {
      await this.#deleteGroups(previous.routes, contract.routes, options.deleteGroupsOf);
    }
    if (failing.length > 0) {
      throw new Error(failing.map((m) => `${m.id}: ${m.error}`).join('; '));
    }
    return { applied: true, generation: contract.generation };
  }

  /** Records of the route's consumer group not committed yet, across every dispatcher. */
  async lag(routeId: string): Promise<number> {
    const route = this.feed.current?.routes.find((r) => r.id === routeId);
    if (!route) return 0;
    return groupLag(this.#o.log, route.group, route.topic);
  }

  /** Ingresses first, so nothing new lands while the dispatchers drain. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.feed.close();
      await this.#supervisor.stop(['ingress', 'dispatcher']);
      await this.#retryState?.close();
    })();
    return this.#closed;
  }

  async #deleteGroups(
    before: DispatchRoute[],
    after: DispatchRoute[],
    pick: (route: DispatchRoute) => boolean,
  ): Promise<void> {
    const kept = new Set(after.map((r) => r.group));
    for (const route of before) {
      if (kept.has(route.group) || !pick(route)) continue;
      try {
        await this.#o.log.deleteGroup(route.group);
        this.#retryState ??= await createLogRetryStateStore({ log: this.#o.log, logger: this.#o.logger });
        await this.#retryState.deleteGroup(route.group);
      } catch (error) {
        // As in the in-process dispatcher: a re-created route then resumes instead of starting afresh.
        this.#o.logger.warn(
          { err: error, group: route.group },
          `could not delete the consumer group of removed route ${route.id}: ${(error as Error).message}`,
        );
      }
    }
  }

  #command(child: SupervisedSpec): { args: string[]; env: Record<string, string> } {
    const o = this.#o;
    const args = [
      DATA_PLANE_MAIN,
      '--component',
      child.component,
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
      child.component === 'ingress' ? String(this.#port) : '0',
      '--reuse-port',
      String(child.component === 'ingress'),
      '--log-level',
      childLogLevel(o.logger),
      ...(o.extraArgs ?? []),
    ];
    return { args, env: { EDDY_CONTRACT_TOKEN: this.#token ?? '' } };
  }
}
