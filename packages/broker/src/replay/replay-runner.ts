// The replays of a dispatcher: started, paused, resumed and removed as the contract's `replays`
// change. Each running replay settles its window once (replay-checkpoints.ts), then runs one
// ReplayTarget per target. Every dispatcher process runs every replay in the same consumer groups, so
// the log spreads a replay's partitions over the processes like a Trigger's. Completion is the
// control plane's call (it reads the checkpoints): a finished replay leaves the contract, and this
// runner then stops it and deletes its groups, retry state and checkpoints, as for a deleted Replay.

import { deepEqual, type ReplayPlan } from '@eddy/api';
import type pino from 'pino';
import type { RouteConsumerDeps } from '../dispatcher/route-consumer.js';
import type { EventLog } from '../eventlog/event-log.js';
import { compileFilter, type EventFilter } from '../filters/index.js';
import { timeWindow } from '../history/time-window.js';
import { Pacer } from './pacer.js';
import type { ReplayCheckpoints } from './replay-checkpoints.js';
import { ReplayTarget } from './replay-target.js';

export interface ReplayRunnerDeps extends Omit<RouteConsumerDeps, 'hooks'> {
  checkpoints: () => Promise<ReplayCheckpoints>;
}

interface Running {
  plan: ReplayPlan;
  targets: ReplayTarget[];
  pacer: Pacer | undefined;
  assigned: Map<string, number>;
  partitions: number;
  /** Starting (window lookup, consumers joining); a stop waits for it. */
  starting: Promise<void> | undefined;
}

/** A replay plan the dispatcher cannot run; names the replay and the field. */
export class InvalidReplayError extends Error {
  override readonly name = 'InvalidReplayError';
}

export class ReplayRunner {
  readonly #deps: ReplayRunnerDeps;
  readonly #log: EventLog;
  readonly #logger: pino.Logger;
  readonly #running = new Map<string, Running>();

  constructor(deps: ReplayRunnerDeps) {
    this.#deps = deps;
    this.#log = deps.log;
    this.#logger = deps.logger;
  }

  /** Makes the running replays exactly the unsuspended `plans`; suspended ones keep their position. */
  async update(plans: readonly ReplayPlan[]): Promise<void> {
    const filters = validatePlans(plans);
    const wanted = new Map(plans.map((p) => [p.uid, p]));
    const removed = [...this.#running.values()].filter((r) => !wanted.has(r.plan.uid));
    const stopped: Promise<void>[] = [];
    for (const running of removed) {
      this.#running.delete(running.plan.uid);
      stopped.push(this.#remove(running));
    }
    for (const plan of plans) {
      const running = this.#running.get(plan.uid);
      if (running !== undefined && (plan.suspended || !sameRun(running.plan, plan))) {
        this.#running.delete(plan.uid);
        stopped.push(this.#stop(running));
      }
    }
    await Promise.all(stopped);
    const failures: string[] = [];
    await Promise.all(
      plans.map(async (plan) => {
        const running = this.#running.get(plan.uid);
        if (running !== undefined) {
          running.plan = plan;
          this.#pace(running);
          return;
        }
        if (plan.suspended) return;
        try {
          await this.#start(plan, filters.get(plan.uid)!);
        } catch (error) {
          failures.push(`${plan.id}: ${(error as Error).message}`);
        }
      }),
    );
    if (failures.length > 0)
      throw new Error(`replays could not start yet (retrying): ${failures.join('; ')}`);
  }

  /** Stops every replay (positions kept). */
  async close(): Promise<void> {
    const all = [...this.#running.values()];
    this.#running.clear();
    await Promise.all(all.map((r) => this.#stop(r)));
  }

  async #start(plan: ReplayPlan, filter: EventFilter): Promise<void> {
    const checkpoints = await this.#deps.checkpoints();
    const window = await checkpoints.settleWindow(
      plan.uid,
      await timeWindow(this.#log, plan.topic, plan.from, plan.to),
    );
    const running: Running = {
      plan,
      targets: [],
      pacer: plan.rate !== undefined ? new Pacer(plan.rate) : undefined,
      assigned: new Map(),
      partitions: Math.max(1, window.length),
      starting: undefined,
    };
    running.targets = plan.targets.map(
      (route) =>
        new ReplayTarget(
          {
            uid: plan.uid,
            id: plan.id,
            route,
            filter: both(filter, compileFilter(route.filter, `${plan.id}: target ${route.id}.filter`)),
            window,
            checkpoints,
            pacer: running.pacer,
            dryRun: () => running.plan.dryRun,
            onAssignment: (count) => {
              running.assigned.set(route.id, count);
              this.#pace(running);
            },
          },
          this.#deps,
        ),
    );
    this.#running.set(plan.uid, running);
    this.#logger.info(
      { replay: plan.id, from: new Date(plan.from).toISOString(), to: new Date(plan.to).toISOString() },
      `replay ${plan.id}: starting ${plan.dryRun ? '(dry run) ' : ''}${plan.targets.length} target(s)`,
    );
    running.starting = Promise.all(running.targets.map((t) => t.consumer.start())).then(() => {});
    try {
      await running.starting;
    } finally {
      running.starting = undefined;
    }
  }

  /** The rate is shared by partition: this process's share is its share of the partitions. */
  #pace(running: Running): void {
    const { pacer, plan } = running;
    if (pacer === undefined || plan.rate === undefined) return;
    const owned = [...running.assigned.values()].reduce((a, b) => a + b, 0);
    // Before the log reports an assignment, assume this process has it all.
    const share =
      running.assigned.size === 0 ? 1 : owned / (running.partitions * Math.max(1, plan.targets.length));
    pacer.rate = Math.max(plan.rate * Math.min(1, share), 0.001);
  }

  async #stop(running: Running): Promise<void> {
    await running.starting?.catch(() => {});
    await Promise.all(running.targets.map((t) => t.consumer.stop()));
  }

  /** Stops a replay that is gone (deleted or finished) and deletes what it kept on the log. */
  async #remove(running: Running): Promise<void> {
    await this.#stop(running);
    const { plan } = running;
    try {
      for (const route of plan.targets) {
        await this.#log.deleteGroup(route.group);
        await this.#deps.retryState.deleteGroup(route.group);
      }
      await (await this.#deps.checkpoints()).forget(plan.uid);
      this.#logger.info({ replay: plan.id }, `replay ${plan.id}: stopped and cleaned up`);
    } catch (error) {
      this.#logger.warn(
        { err: error, replay: plan.id },
        `replay ${plan.id}: could not delete its consumer groups or checkpoints: ${(error as Error).message}`,
      );
    }
  }
}

/** Whether a running replay can take the new plan in place (rate and dry run may change). */
function sameRun(a: ReplayPlan, b: ReplayPlan): boolean {
  return (
    a.topic === b.topic &&
    a.from === b.from &&
    a.to === b.to &&
    deepEqual(a.filter, b.filter) &&
    deepEqual(a.targets, b.targets)
  );
}

function both(a: EventFilter, b: EventFilter): EventFilter {
  return (event) => (a(event) === 'fail' ? 'fail' : b(event));
}

function validatePlans(plans: readonly ReplayPlan[]): Map<string, EventFilter> {
  if (!Array.isArray(plans)) throw new InvalidReplayError('replays must be an array');
  const filters = new Map<string, EventFilter>();
  for (const [i, plan] of plans.entries()) {
    const where = `replays[${i}]${typeof plan?.id === 'string' ? ` (${plan.id})` : ''}`;
    if (typeof plan?.uid !== 'string' || plan.uid === '')
      throw new InvalidReplayError(`${where}.uid: expected a non-empty string`);
    if (filters.has(plan.uid)) throw new InvalidReplayError(`${where}.uid: duplicate "${plan.uid}"`);
    if (!Number.isFinite(plan.from) || !Number.isFinite(plan.to) || plan.to < plan.from)
      throw new InvalidReplayError(`${where}: expected from <= to (epoch ms), got ${plan.from}..${plan.to}`);
    if (plan.rate !== undefined && !(plan.rate > 0))
      throw new InvalidReplayError(`${where}.rate: expected > 0, got ${plan.rate}`);
    if (!Array.isArray(plan.targets) || plan.targets.length === 0)
      throw new InvalidReplayError(`${where}.targets: expected at least one route`);
    try {
      filters.set(plan.uid, compileFilter(plan.filter, `${where}.filter`));
    } catch (error) {
      throw new InvalidReplayError((error as Error).message);
    }
  }
  return filters;
}
