// The event registry under eddy dev: applied EventTypes are Ready when their reference exists (and
// say which one is missing otherwise); with auto-create on, the events a Broker receives become
// EventTypes owned by it, with Knative's name and attributes; `eddy get eventtypes` shows when they
// were first and last seen and at what rate; with it off none are made, until Knative's
// config-features ConfigMap turns it on. Once on the embedded log, once with `--kafka`, where the
// ingresses are `eddy ingress` processes reporting what they saw through the contract feed.

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePorts } from '../harness/free-ports.ts';
import { waitFor } from '../harness/wait.ts';
import { buildCli, type RunningDev, runEddy, sendJsonEvent, spawnEddyDev } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'eddy-eventtypes-'));
beforeAll(() => buildCli(), 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface EventTypeJson {
  metadata: { name: string; ownerReferences?: { kind: string; name: string }[] };
  spec: {
    reference?: { apiVersion: string; kind: string; name: string; namespace?: string };
    attributes?: { name: string; value?: string; required?: boolean }[];
    description?: string;
  };
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    annotations?: Record<string, string>;
  };
}

/** Knative's auto-created name: et-<broker>-md5(type, source, namespace, broker). */
const knativeName = (broker: string, namespace: string, type: string, source: string) =>
  `et-${broker}-${createHash('md5').update(`${type}${source}${namespace}${broker}`).digest('hex')}`;

const REQUIRED = `
    - {name: source, required: true}
    - {name: specversion, required: true}
    - {name: id, required: true}`;

function manifests(namespace: string, withBroker = true): string {
  const broker = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: ${namespace}}
---
`;
  return `${withBroker ? broker : ''}apiVersion: eventing.knative.dev/v1beta3
kind: EventType
metadata: {name: order-created, namespace: ${namespace}}
spec:
  reference: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
  description: an order was placed
  attributes:
    - {name: type, required: true, value: order.created}${REQUIRED}
---
apiVersion: eventing.knative.dev/v1beta3
kind: EventType
metadata: {name: lost, namespace: ${namespace}}
spec:
  reference: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: missing}
  attributes:
    - {name: type, required: true, value: order.lost}${REQUIRED}
`;
}

async function send(url: string, type: string, source: string, dataschema?: string): Promise<void> {
  expect(await sendJsonEvent(url, type, {}, source, dataschema ? { dataschema } : {})).toBe(202);
}

async function eventTypes(dataDir: string, namespace: string): Promise<EventTypeJson[]> {
  const r = await runEddy(['get', 'eventtypes', '-n', namespace, '-o', 'json', '--data-dir', dataDir]);
  expect(r.stderr).toBe('');
  return (JSON.parse(r.stdout) as { items: EventTypeJson[] }).items;
}

async function startDev(
  name: string,
  args: string[],
): Promise<{ dev: RunningDev; port: number; dataDir: string }> {
  const dataDir = join(dir, `${name}-data`);
  const [port] = (await freePorts(1)) as [number];
  const dev = spawnEddyDev([...args, '--port', String(port), '--data-dir', dataDir], dir);
  return { dev, port, dataDir };
}

async function stop(dev: RunningDev): Promise<void> {
  dev.child.kill('SIGINT');
  await dev.exited;
}

/** Sends two kinds of events to the broker and checks the two EventTypes auto-create made of them. */
async function expectAutoCreated(
  url: string,
  dataDir: string,
  namespace: string,
  dev: RunningDev,
): Promise<void> {
  await send(url, 'order.created', '/orders');
  await send(url, 'order.created', '/orders');
  await send(url, 'payment.received', '/payments', 'https://schemas.example.com/payment');
  const created = knativeName('default', namespace, 'order.created', '/orders');
  const payment = knativeName('default', namespace, 'payment.received', '/payments');
  let last: EventTypeJson[] = [];
  const items = await waitFor(
    'two auto-created EventTypes with their discovery data',
    async () => {
      last = await eventTypes(dataDir, namespace);
      const found = last.filter((e) => e.metadata.name.startsWith('et-'));
      const seen = found.every((e) => e.status?.annotations?.['eddy.dev/last-seen'] !== undefined);
      return found.length === 2 && seen ? last : undefined;
    },
    {
      timeoutMs: 60_000,
      describe: () =>
        `EventTypes: ${JSON.stringify(last.map((e) => [e.metadata.name, e.status?.annotations]))}\n${dev.lines.join('\n')}`,
    },
  );
  const byName = new Map(items.map((e) => [e.metadata.name, e]));
  expect(byName.get(created)?.metadata.ownerReferences).toEqual([
    expect.objectContaining({ kind: 'Broker', name: 'default' }),
  ]);
  expect(byName.get(payment)?.spec).toEqual({
    reference: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default', namespace },
    description: 'Event Type auto-created by controller',
    attributes: [
      { name: 'type', value: 'payment.received', required: true },
      { name: 'source', value: '/payments', required: true },
      { name: 'schemadata', value: 'https://schemas.example.com/payment', required: true },
      { name: 'specversion', value: '1.0', required: true },
      { name: 'id', required: true },
    ],
  });
  expect(byName.get(created)?.status?.annotations?.['eddy.dev/events']).toBe('2');
  expect(byName.get(created)?.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');

  const table = await runEddy(['get', 'eventtypes', '-n', namespace, '--data-dir', dataDir]);
  const lines = table.stdout.trimEnd().split('\n');
  expect(lines[0]).toMatch(
    /^NAME\s+TYPE\s+SOURCE\s+REFERENCE\s+FIRST SEEN\s+LAST SEEN\s+RATE\s+READY\s+REASON\s+AGE$/,
  );
  // Two events in the last minute: 2/60 events/s.
  expect(lines.find((l) => l.startsWith(created))).toMatch(
    /^et-default-\w+\s+order\.created\s+\/orders\s+Broker\/default\s+\d+s\s+\d+s\s+0\.03\/s\s+True\s+/,
  );
  expect(lines.find((l) => l.startsWith(payment))).toMatch(
    /payment\.received\s+\/payments\s+Broker\/default\s+\d+s\s+\d+s\s+0\.02\/s\s+True/,
  );
  // The applied EventType (no source value: any source) matches the order.created events too.
  expect(lines.find((l) => l.startsWith('order-created'))).toMatch(
    /^order-created\s+order\.created\s+Broker\/default\s+\d+s\s+\d+s\s+0\.03\/s\s+True\s/,
  );
}

describe('EventTypes under eddy dev', () => {
  it('applied EventTypes are Ready by their reference; auto-create makes owned EventTypes of what the broker receives', {
    timeout: 120_000,
  }, async () => {
    writeFileSync(join(dir, 'registry.yaml'), manifests('default'));
    const { dev, port, dataDir } = await startDev('auto', ['-f', 'registry.yaml', '--eventtype-auto-create']);
    try {
      await dev.waitFor(/^EventType default\/order-created {2}Ready$/, 60_000);
      await dev.waitFor(
        /^EventType default\/lost {2}NotReady {2}ResourceDoesNotExist: spec\.reference: Broker default\/missing \(eventing\.knative\.dev\/v1\) does not exist$/,
      );
      const lost = (await eventTypes(dataDir, 'default')).find((e) => e.metadata.name === 'lost');
      expect(lost?.status?.conditions?.find((c) => c.type === 'ReferenceExists')).toMatchObject({
        status: 'False',
        reason: 'ResourceDoesNotExist',
      });
      const described = await runEddy(['describe', 'eventtype', 'order-created', '--data-dir', dataDir]);
      expect(described.stdout).toMatch(/Kind:\s+EventType \(eventing\.knative\.dev\/v1beta3\)/);
      expect(described.stdout).toMatch(/ReferenceExists\s+True/);

      await expectAutoCreated(`http://127.0.0.1:${port}/default/default`, dataDir, 'default', dev);

      // Deleting the broker deletes the EventTypes it owns; the applied one loses its reference.
      writeFileSync(join(dir, 'registry.yaml'), manifests('default', false));
      await dev.waitFor(/^EventType default\/order-created {2}NotReady {2}ResourceDoesNotExist/);
      await waitFor('the owned EventTypes deleted with their broker', async () => {
        const left = (await eventTypes(dataDir, 'default')).map((e) => e.metadata.name).sort();
        return left.join(',') === 'lost,order-created' ? true : undefined;
      });
    } finally {
      await stop(dev);
    }
  });

  it('with auto-create off, events make no EventTypes (but are counted on the applied one) until config-features enables it', {
    timeout: 120_000,
  }, async () => {
    writeFileSync(join(dir, 'off.yaml'), manifests('default'));
    const { dev, port, dataDir } = await startDev('off', ['-f', 'off.yaml']);
    try {
      await dev.waitFor(/^EventType default\/order-created {2}Ready$/, 60_000);
      const url = `http://127.0.0.1:${port}/default/default`;
      await send(url, 'order.created', '/orders');
      await send(url, 'order.shipped', '/orders');
      await waitFor('the applied EventType shows the order.created event', async () => {
        const applied = (await eventTypes(dataDir, 'default')).find(
          (e) => e.metadata.name === 'order-created',
        );
        return applied?.status?.annotations?.['eddy.dev/events'] === '1' ? true : undefined;
      });
      // A discovery pass has run with both kinds observed: auto-create would have made them by now.
      expect((await eventTypes(dataDir, 'default')).map((e) => e.metadata.name).sort()).toEqual([
        'lost',
        'order-created',
      ]);

      writeFileSync(
        join(dir, 'features.yaml'),
        `apiVersion: v1
kind: ConfigMap
metadata: {name: config-features, namespace: knative-eventing}
data:
  eventtype-auto-create: enabled
`,
      );
      const applied = await runEddy(['apply', '-f', join(dir, 'features.yaml'), '--data-dir', dataDir]);
      expect(applied.code).toBe(0);
      const shipped = knativeName('default', 'default', 'order.shipped', '/orders');
      await waitFor('auto-create turned on by config-features', async () =>
        (await eventTypes(dataDir, 'default')).some((e) => e.metadata.name === shipped) ? true : undefined,
      );
    } finally {
      await stop(dev);
    }
  });

  it('--kafka: two eddy ingress processes report what they saw through the feed; auto-create makes the EventTypes', {
    timeout: 180_000,
  }, async () => {
    const namespace = `et-${Date.now().toString(36)}`;
    writeFileSync(join(dir, 'kafka.yaml'), manifests(namespace));
    const brokers = inject('kafkaBrokers').join(',');
    const { dev, port, dataDir } = await startDev('kafka', [
      '-f',
      'kafka.yaml',
      '--eventtype-auto-create',
      '--kafka',
      brokers,
      '--ingresses',
      '2',
      '--dispatchers',
      '1',
      '--sources',
      '1',
    ]);
    try {
      await dev.waitFor(new RegExp(`^EventType ${namespace}/order-created {2}Ready$`), 120_000);
      await dev.waitFor(new RegExp(`^Broker ${namespace}/default {2}Ready$`), 60_000);
      await expectAutoCreated(`http://127.0.0.1:${port}/${namespace}/default`, dataDir, namespace, dev);
    } finally {
      await stop(dev);
    }
  });
});
