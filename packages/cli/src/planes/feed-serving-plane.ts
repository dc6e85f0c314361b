// The serving data plane as a control plane sees it when `eddy serving` runs on its own and follows a
// contract feed: `eddy dev --kafka` supervises that process (dev/serving-process.ts), on Kubernetes it
// is a Deployment `eddy controller` never starts. apply() publishes the contract and resolves once the
// serving primary runs it (bounded); statuses() and decisions() are what the primary last reported.

import type { ServingContract } from '@eddy/api';
import { ContractFeed } from '@eddy/runtime';
import {
  asServingProcessReport,
  type RevisionRuntimeStatus,
  reportedDecisions,
  routeAddress,
  type ServingDataPlane,
  type ServingProcessReport,
  type TimedDecision,
  tagAddress,
} from '@eddy/serving';
import type pino from 'pino';

/** The feed component of the serving primary (router + autoscaler + runtime). */
export const SERVING_COMPONENT = 'serving';
/** The feed component of extra routers (`eddy serving --role router`). */
export const ROUTER_COMPONENT = 'router';

export interface FeedServingPlaneOptions {
  /** The router's address as clients reach it (routes' and tags' URLs are built on it). */
  url: string;
  logger: pino.Logger;
  /** How long apply() waits for the primary; default 30 s. */
  applyTimeoutMs?: number;
  /**
   * Serving primaries that must run a contract before apply() resolves. Default: the live ones the
   * feed knows (none yet = resolve at once: on Kubernetes the Deployment may not be up, and the
   * statuses say so until it reports).
   */
  expectedPrimaries?(): number;
  /** Extra routers that should run it too (late ones are only a warning); default the live ones. */
  expectedRouters?(): number;
}

export class FeedServingPlane implements ServingDataPlane {
  readonly feed = new ContractFeed<ServingContract>();
  readonly url: string;
  readonly #o: FeedServingPlaneOptions;
  /** The last contract given to apply() as it came (the feed's copy has the feed's generation). */
  #given: { generation: number; text: string } | undefined;
  #closed = false;

  constructor(options: FeedServingPlaneOptions) {
    this.#o = options;
    this.url = options.url;
  }

  routeUrl(namespace: string, name: string): string {
    return routeAddress(this.url, namespace, name);
  }

  tagUrl(namespace: string, name: string, tag: string): string {
    return tagAddress(this.url, namespace, name, tag);
  }

  /**
   * Publishes the contract and resolves once the primary runs it; rejects with the process's error
   * when it failed, or when it did not run it within the timeout. The feed numbers its own
   * generations: the loop hands over the same serving generation again when only the backlog routes
   * (the eventing contract) changed, and a process must see that as new.
   */
  async apply(contract: ServingContract): Promise<void> {
    if (this.#closed) throw new Error('the serving plane is stopped');
    if (this.#given && contract.generation < this.#given.generation) return;
    const text = JSON.stringify(contract);
    if (text !== this.#given?.text) {
      this.#given = { generation: contract.generation, text };
      this.feed.publish({ ...contract, generation: (this.feed.current?.generation ?? 0) + 1 });
    }
    const generation = this.feed.current?.generation ?? 0;
    const timeoutMs = this.#o.applyTimeoutMs ?? 30_000;
    const primaries = this.#o.expectedPrimaries?.() ?? this.feed.members(SERVING_COMPONENT).length;
    // Every extra router that runs now should route the new contract too (one still starting counts:
    // it is about to poll); one that is late only routes the old one a while longer, so it is a warning.
    const routers = this.#o.expectedRouters?.() ?? this.feed.members(ROUTER_COMPONENT).length;
    const [primaryDone, routersDone] = await Promise.all([
      primaries > 0 ? this.feed.appliedBy(SERVING_COMPONENT, generation, timeoutMs, primaries) : true,
      routers > 0 ? this.feed.appliedBy(ROUTER_COMPONENT, generation, timeoutMs, routers) : true,
    ]);
    if (!primaryDone) {
      if (this.#closed) return;
      throw new Error(
        `the serving process did not run contract generation ${generation} within ${timeoutMs} ms`,
      );
    }
    if (!routersDone && !this.#closed)
      this.#o.logger.warn(
        { generation, members: this.feed.members(ROUTER_COMPONENT) },
        `serving routers: not all run contract generation ${generation} after ${timeoutMs} ms`,
      );
    const failed = this.feed.members().find((m) => m.error !== undefined);
    if (failed) throw new Error(`serving process ${failed.id}: ${failed.error}`);
  }

  statuses(): RevisionRuntimeStatus[] {
    return this.#report()?.revisions ?? [];
  }

  decisions(namespace: string, revision: string): TimedDecision[] {
    return reportedDecisions(this.#report(), namespace, revision);
  }

  subscribe(listener: () => void): () => void {
    return this.feed.onChange(listener);
  }

  /** Releases the feed's waiters; the processes themselves are someone else's to stop. */
  async close(): Promise<void> {
    this.#closed = true;
    this.feed.close();
  }

  #report(): ServingProcessReport | undefined {
    return asServingProcessReport(this.feed.members(SERVING_COMPONENT)[0]?.status);
  }
}
