// A real Eddy broker ingress (the @eddy/broker one, on an embedded event log in a temp dir) for the
// tests of batch delivery: it takes application/cloudevents-batch+json as one durable append, counts
// its requests, can be stopped and started again on the same port, and reads back what it stored.
// Here under test/, not in @eddy/sources: no package imports a sibling, tests included.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlainEvent } from '@eddy/api';
import { createIngress, type EventLog, type Ingress, openEmbeddedEventLog } from '@eddy/broker';
import pino from 'pino';
import { Registry } from 'prom-client';

export interface EddyIngress {
  /** The broker's URL (the sink a control plane would resolve). */
  url: string;
  /** Requests the ingress answered with `code` (any code when omitted), across restarts. */
  requests(code?: number): Promise<number>;
  /** Every event stored in the broker's topic, all partitions, in no particular order across partitions. */
  stored(): Promise<PlainEvent[]>;
  /** Stops listening (connection refused from now on); the log and what it holds stay. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

const ROUTE = { namespace: 'demo', name: 'default', path: '/demo/default', partitions: 2 };

export interface EddyIngressOptions {
  /** Start stopped: the URL is known but nothing listens until up(). */
  down?: boolean;
  maxBodyBytes?: number;
}

export async function startEddyIngress(options: EddyIngressOptions = {}): Promise<EddyIngress> {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-ingress-'));
  const log: EventLog = await openEmbeddedEventLog({ dataDir: dir });
  const registry = new Registry();
  const logger = pino({ level: 'silent' });
  const topic = 'knative-broker-demo-default';
  const route = { ...ROUTE, topic };
  let port = 0;
  let ingress: Ingress | undefined;
  let group = 0;

  async function up(): Promise<void> {
    const next = createIngress({
      log,
      registry,
      logger,
      port,
      ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
    });
    await next.updateContract([route], []);
    const base = await next.listen();
    port = Number(new URL(base).port);
    ingress = next;
  }

  await up();
  const url = `http://127.0.0.1:${port}${ROUTE.path}`;
  if (options.down) {
    await ingress?.close();
    ingress = undefined;
  }

  return {
    url,
    async requests(code) {
      const metric = (await registry.getMetricsAsJSON()).find(
        (m) => m.name === 'eddy_ingress_request_duration_seconds',
      );
      const values = (metric?.values ?? []) as {
        metricName?: string;
        labels: Record<string, unknown>;
        value: number;
      }[];
      return values
        .filter((v) => v.metricName?.endsWith('_count'))
        .filter((v) => code === undefined || String(v.labels.code) === String(code))
        .reduce((sum, v) => sum + v.value, 0);
    },
    async stored() {
      const lag = await log.lag(`probe-${group}`, topic);
      const total = lag.reduce((sum, p) => sum + p.end, 0);
      const events: PlainEvent[] = [];
      let done!: () => void;
      const all = new Promise<void>((resolve) => {
        done = resolve;
      });
      if (total === 0) return [];
      const consumer = await log.consume({
        group: `reader-${group++}`,
        topic,
        start: 'earliest',
        maxBatchSize: 1000,
        handler: async (batch) => {
          for (const record of batch.records) events.push(record.event);
          if (events.length >= total) done();
        },
      });
      await all;
      await consumer.close();
      return events;
    },
    async down() {
      await ingress?.close();
      ingress = undefined;
    },
    up,
    async close() {
      await ingress?.close();
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
