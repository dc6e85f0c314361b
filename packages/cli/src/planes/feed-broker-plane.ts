// The broker data plane as a control plane sees it when ingress and dispatcher processes run on
// their own and follow a contract feed: `eddy dev --kafka` supervises them (dev/broker-processes.ts),
// on Kubernetes they are Deployments that `eddy controller` never starts. Either way apply()
// publishes the contract and resolves once the members that must run it do (bounded), lag() reads
// the consumer groups' committed offsets with the control plane's own Kafka client (so it covers
// every dispatcher), and a removed route's group is deleted only once no dispatcher runs it, since a
// dispatcher still consuming would commit the group back into existence.

import type { DataPlaneContract, DispatchRoute } from '@eddy/api';
import {
  type ApplyOptions,
  type ApplyResult,
  createLogRetryStateStore,
  type EventLog,
  groupLag,
  type RetryStateStore,
} from '@eddy/broker';
import { ContractFeed } from '@eddy/runtime';
import type pino from 'pino';

export type BrokerComponent = 'ingress' | 'dispatcher';

export interface FeedBrokerPlaneOptions {
  /** The ingress address brokers are reached at (the Broker's status.address base). */
  url: string;
  /** The control plane's log client: lag and group deletion. */
  log: EventLog;
  logger: pino.Logger;
  /** How long apply() waits for the members; default 30 s. */
  applyTimeoutMs?: number;
  /**
   * How many members of a component must run a contract before apply() resolves; 0 = none to wait
   * for. Default: the live members the feed knows.
   */
  expected?(component: BrokerComponent): number;
}

export class FeedBrokerPlane {
  readonly feed = new ContractFeed<DataPlaneContract>();
  readonly url: string;
  readonly #o: FeedBrokerPlaneOptions;
  #retryState: RetryStateStore | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: FeedBrokerPlaneOptions) {
    this.#o = options;
    this.url = options.url;
  }

  /** The contract the feed hands out now. */
  get current(): DataPlaneContract | undefined {
    return this.feed.current;
  }

  async apply(contract: DataPlaneContract, options: ApplyOptions = {}): Promise<ApplyResult> {
    const previous = this.feed.current;
    if (!this.feed.publish(contract)) return { applied: false, generation: previous?.generation };
    const confirmed = await this.confirmed(contract.generation);
    if (confirmed.dispatcher && previous && options.deleteGroupsOf) {
      const kept = new Set(contract.routes.map((r) => r.group));
      const removed = previous.routes.filter((r) => !kept.has(r.group) && options.deleteGroupsOf?.(r));
      await this.deleteGroups(removed);
    }
    const failing = this.feed.members().filter((m) => m.error !== undefined);
    if (failing.length > 0) throw new Error(failing.map((m) => `${m.id}: ${m.error}`).join('; '));
    return { applied: true, generation: contract.generation };
  }

  /** Whether every member of each component that must run `generation` does, within the apply timeout. */
  async confirmed(generation: number): Promise<Record<BrokerComponent, boolean>> {
    const timeoutMs = this.#o.applyTimeoutMs ?? 30_000;
    const wait = (component: BrokerComponent) => {
      const expected = this.#o.expected?.(component) ?? this.feed.members(component).length;
      return expected === 0
        ? Promise.resolve(true)
        : this.feed.appliedBy(component, generation, timeoutMs, expected);
    };
    const [ingress, dispatcher] = await Promise.all([wait('ingress'), wait('dispatcher')]);
    if (!ingress || !dispatcher)
      this.#o.logger.warn(
        { generation, members: this.feed.members() },
        `broker processes: not all run contract generation ${generation} after ${timeoutMs} ms`,
      );
    return { ingress, dispatcher };
  }

  /** Records of the route's consumer group not committed yet, across every dispatcher. */
  async lag(routeId: string): Promise<number> {
    const route = this.feed.current?.routes.find((r) => r.id === routeId);
    if (!route) return 0;
    return groupLag(this.#o.log, route.group, route.topic);
  }

  /**
   * Deletes the consumer groups (and retry state) of routes no dispatcher runs any more; returns the
   * groups that could not be deleted (a re-created route then resumes instead of starting afresh).
   */
  async deleteGroups(routes: readonly Pick<DispatchRoute, 'id' | 'group'>[]): Promise<string[]> {
    const failed: string[] = [];
    for (const route of routes) {
      try {
        await this.#o.log.deleteGroup(route.group);
        this.#retryState ??= await createLogRetryStateStore({ log: this.#o.log, logger: this.#o.logger });
        await this.#retryState.deleteGroup(route.group);
      } catch (error) {
        failed.push(route.group);
        this.#o.logger.warn(
          { err: error, group: route.group },
          `could not delete the consumer group of removed route ${route.id}: ${(error as Error).message}`,
        );
      }
    }
    return failed;
  }

  /** Releases every waiting poll and apply. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.feed.close();
      await this.#retryState?.close();
    })();
    return this.#closed;
  }
}
