// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: the holder renews every
// `retryPeriod`; another replica takes the Lease only once `leaseDuration` has passed since the last
// renewal it observed (its own clock: clocks of two nodes are never compared); a leader that has not
// renewed within `renewDeadline` stops leading before anyone else may take over. Writes use the
// Lease's resourceVersion, so two replicas racing for it cannot both win.

import { randomUUID } from 'node:crypto';
import {
  CoordinationV1Api,
  type KubeConfig,
  type V1Lease,
  type V1LeaseSpec,
  V1MicroTime,
} from '@kubernetes/client-node';
import type pino from 'pino';
import { kubeErrorMessage, kubeStatusCode } from './kube-errors.js';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The Lease's name; default `eddy-controller`. */
  name?: string;
  /** This replica; default the host name and a random suffix. */
  identity?: string;
  /** Default 15 s, 10 s and 2 s (client-go's defaults). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: pino.Logger;
  onStartedLeading(): void;
  /** Leadership lost (or stop() while leading); the replica must stop writing at once. */
  onStoppedLeading(): void;
}

/** The client reads MicroTimes back as Dates, which it would then send with millisecond precision the API refuses. */
function withMicroTimes(spec: V1LeaseSpec): V1LeaseSpec {
  const micro = (t: Date | string | undefined) =>
    t === undefined ? undefined : new V1MicroTime(new Date(t).getTime());
  return { ...spec, acquireTime: micro(spec.acquireTime), renewTime: micro(spec.renewTime) };
}

export class LeaderElector {
  readonly identity: string;
  readonly #o: LeaderElectionOptions;
  readonly #api: CoordinationV1Api;
  readonly #name: string;
  readonly #leaseMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  #leading = false;
  #lastRenew = 0;
  /** What this replica last saw of another holder: its record, and when (by our clock) it changed. */
  #observed: { record: string; at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#o = options;
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#name = options.name ?? 'eddy-controller';
    this.identity = options.identity ?? `${process.env.HOSTNAME ?? 'eddy'}_${randomUUID().slice(0, 8)}`;
    this.#leaseMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryMs = options.retryPeriodMs ?? 2_000;
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    const tick = async () => {
      if (this.#stopped) return;
      this.#running = this.#tryOnce();
      await this.#running;
      if (!this.#stopped) this.#timer = setTimeout(tick, this.#retryMs);
    };
    void tick();
  }

  /** Stops; a leader gives the Lease up (holder cleared) so a standby takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    if (!this.#leading) return;
    this.#setLeading(false);
    try {
      const lease = await this.#api.readNamespacedLease({ name: this.#name, namespace: this.#o.namespace });
      if (lease.spec?.holderIdentity === this.identity) {
        lease.spec = { ...withMicroTimes(lease.spec), holderIdentity: undefined, leaseDurationSeconds: 1 };
        await this.#api.replaceNamespacedLease({
          name: this.#name,
          namespace: this.#o.namespace,
          body: lease,
        });
      }
    } catch (error) {
      this.#o.logger.debug(`releasing the lease: ${kubeErrorMessage(error)}`);
    }
  }

  async #tryOnce(): Promise<void> {
    const now = Date.now();
    try {
      const won = await this.#acquireOrRenew(now);
      if (won) {
        this.#lastRenew = now;
        if (!this.#leading) this.#setLeading(true);
      } else if (this.#leading) this.#setLeading(false);
    } catch (error) {
      this.#o.logger.warn(
        { err: error },
        `lease ${this.#o.namespace}/${this.#name}: ${kubeErrorMessage(error)}`,
      );
    }
    if (this.#leading && Date.now() - this.#lastRenew > this.#renewDeadlineMs) {
      this.#o.logger.error(
        `lease ${this.#o.namespace}/${this.#name}: not renewed for ${this.#renewDeadlineMs} ms`,
      );
      this.#setLeading(false);
    }
  }

  async #acquireOrRenew(now: number): Promise<boolean> {
    const ns = this.#o.namespace;
    const stamp = new V1MicroTime(now);
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ name: this.#name, namespace: ns });
    } catch (error) {
      if (kubeStatusCode(error) !== 404) throw error;
      try {
        await this.#api.createNamespacedLease({
          namespace: ns,
          body: {
            metadata: { name: this.#name, namespace: ns },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000),
              acquireTime: stamp,
              renewTime: stamp,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (createError) {
        if (kubeStatusCode(createError) === 409) return false;
        throw createError;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    if (holder !== this.identity && holder) {
      // Expiry is judged by when *we* saw the record change, never by the holder's timestamps.
      const record = JSON.stringify([holder, spec.renewTime, spec.leaseDurationSeconds]);
      if (this.#observed?.record !== record) this.#observed = { record, at: now };
      const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.#leaseMs / 1000)) * 1000;
      if (now - this.#observed.at < durationMs) return false;
    }
    const taking = holder !== this.identity;
    lease.spec = {
      ...withMicroTimes(spec),
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000),
      renewTime: stamp,
      ...(taking
        ? { acquireTime: stamp, leaseTransitions: (spec.leaseTransitions ?? 0) + (holder ? 1 : 0) }
        : {}),
    };
    try {
      await this.#api.replaceNamespacedLease({ name: this.#name, namespace: ns, body: lease });
      if (taking)
        this.#o.logger.info(
          `lease ${ns}/${this.#name}: ${this.identity} is the leader${holder ? ` (was ${holder})` : ''}`,
        );
      return true;
    } catch (error) {
      if (kubeStatusCode(error) === 409) return false;
      throw error;
    }
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    if (leading) this.#o.onStartedLeading();
    else this.#o.onStoppedLeading();
  }
}
