// The control plane's side of a KafkaSink's TopicReady, as Knative's sink reconciler does it: the
// topic on the sink's cluster created when missing or checked (kafka-sink-topic.ts), and whether
// that worked remembered. computeContract reads `status` (a pure function cannot ask Kafka); a change
// calls `onChange`, so the caller reconciles again. A failed check is retried with backoff until it
// succeeds or the sink changes; a topic once ready stays ready (the ingress answers 503 by itself
// when it later cannot produce).

import type { KafkaSinkRoute } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import type { KafkaSinkTopicState } from '../control/kafka-sinks.js';
import { KafkaSinkLogs } from './kafka-sink-logs.js';
import { KafkaSinkTopicError, prepareKafkaSinkTopic } from './kafka-sink-topic.js';

export interface KafkaSinkTopicsOptions {
  /** Called when a sink's topic state changed. */
  onChange: () => void;
  /** The clients' pool (its admin clients check and create the topics); closed with this. Default: one of its own. */
  logs?: KafkaSinkLogs;
  /** First retry delay after a failed check; doubles up to 30 s. Default 1 s. */
  retryMs?: number;
}

interface Check {
  route: KafkaSinkRoute;
  state: KafkaSinkTopicState | undefined;
  stopped: boolean;
}

const MAX_RETRY_MS = 30_000;

export class KafkaSinkTopics {
  readonly #options: KafkaSinkTopicsOptions;
  readonly #logs: KafkaSinkLogs;
  /** By the route's whole content: a changed spec or Secret is a new check. */
  readonly #checks = new Map<string, Check>();

  constructor(options: KafkaSinkTopicsOptions) {
    this.#options = options;
    this.#logs = options.logs ?? new KafkaSinkLogs();
  }

  /** What is known of `route`'s topic (computeContract's `kafkaSinkTopics`). */
  readonly status = (route: KafkaSinkRoute): KafkaSinkTopicState | undefined =>
    this.#checks.get(JSON.stringify(route))?.state;

  /** Checks the topics of `sinks` (new or changed ones now); forgets the others. */
  update(sinks: readonly KafkaSinkRoute[]): void {
    const wanted = new Map(sinks.map((route) => [JSON.stringify(route), route]));
    for (const [key, check] of this.#checks) {
      if (!wanted.has(key)) {
        check.stopped = true;
        this.#checks.delete(key);
      }
    }
    for (const [key, route] of wanted) {
      if (this.#checks.has(key)) continue;
      const check: Check = { route, state: undefined, stopped: false };
      this.#checks.set(key, check);
      void this.#run(check);
    }
    void this.#logs.retain(sinks);
  }

  async close(): Promise<void> {
    for (const check of this.#checks.values()) check.stopped = true;
    this.#checks.clear();
    await this.#logs.close();
  }

  async #run(check: Check): Promise<void> {
    let delay = this.#options.retryMs ?? 1_000;
    const { route } = check;
    while (!check.stopped) {
      let next: KafkaSinkTopicState;
      try {
        await prepareKafkaSinkTopic(this.#logs.logFor(route), route);
        next = { ready: true };
      } catch (error) {
        const reason = error instanceof KafkaSinkTopicError ? error.reason : 'FailedToCheckTopic';
        next = { ready: false, reason, message: (error as Error).message };
      }
      if (check.stopped) return;
      const changed = check.state?.ready !== next.ready || check.state?.message !== next.message;
      check.state = next;
      if (changed) this.#options.onChange();
      if (next.ready) return;
      await sleep(delay, undefined, { unref: true });
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    }
  }
}
