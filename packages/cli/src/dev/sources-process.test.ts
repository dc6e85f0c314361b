// `eddy dev` on Kafka with the broker and the sources as processes (in process here, the children
// real): a PingSource and a ContainerSource deliver through the broker to a Trigger's subscriber,
// their status comes back from the `eddy sources` process, the container's output reaches eddy dev's
// service output, and a SIGKILLed sources process is restarted and delivers again.

import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { resourceKey } from '@eddy/api';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { StatusResponse } from '../admin/protocol.js';
import { brokerSink, brokerYaml, nodeTemplate, triggerYaml } from '../testing/manifests.js';
import { startDevServer } from './dev-server.js';
import { admin, Cleanups, startSubscriber } from './testing/dev-test-kit.js';
import { waitFor } from './testing/wait.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

describe('eddy dev --kafka, the sources as a process', () => {
  it('runs sources in an `eddy sources` process: events flow, statuses come back, a SIGKILLed process is restarted', async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const ns = `src-${randomUUID().slice(0, 8)}`;
    const printed: string[] = [];
    const output: string[] = [];
    const server = await startDevServer({
      dataDir: join(cleanups.tempDir('eddy-sources-'), '.eddy'),
      kafka: inject('kafkaBrokers'),
      brokerProcesses: { ingresses: 1, dispatchers: 1 },
      sourcesProcess: true,
      port: 0,
      serving: false,
      print: (line) => printed.push(line),
      serviceOutput: ({ revision, line }) => output.push(`${revision} | ${line}`),
    });
    cleanups.push(() => server.close());
    expect(printed).toContainEqual(
      expect.stringMatching(/^ {2}sources {2}as a process \(eddy sources; 1\/1 sources\)/),
    );

    const fixture = join(import.meta.dirname, '../../../sources/src/container/fixtures/emit-once.mjs');
    const manifest = [
      brokerYaml(),
      triggerYaml('pings', '{uri: SUB}'),
      `apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: every-second}
spec:
  schedule: "* * * * * *"
  data: '{"hello": "world"}'
${brokerSink()}`,
      `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: emitter}
spec:
${nodeTemplate(fixture, '          env: [{name: MODE, value: serve}]\n')}${brokerSink()}`,
    ]
      .join('---\n')
      .replaceAll('SUB', `${sub.url}/in`)
      .replace(/metadata: \{name: ([^}]+)\}/g, `metadata: {name: $1, namespace: ${ns}}`);
    const applied = await admin(server, 'POST', '/v1/apply', { text: manifest, file: 'sources.yaml' });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);

    const pings = () => sub.received.filter((e) => e.type === 'dev.knative.sources.ping').length;
    await waitFor('pings through the broker', () => pings() >= 2, 40_000);
    await waitFor('the container event', () =>
      sub.received.some((e) => e.type === 'dev.eddy.test.container'),
    );
    await waitFor('the container output', () => output.find((l) => /^emitter \| sent from \d+/.test(l)));
    const ready = (kind: string, name: string) =>
      server.store
        .get(resourceKey(kind, ns, name))
        ?.resource.status?.conditions?.find((c) => c.type === 'Ready');
    await waitFor(
      'PingSource Ready in the store',
      () => ready('PingSource', 'every-second')?.status === 'True',
    );
    await waitFor(
      'ContainerSource Ready in the store',
      () => ready('ContainerSource', 'emitter')?.status === 'True',
    );

    const status = async () =>
      ((await admin(server, 'GET', '/v1/status')).body as unknown as StatusResponse).sourcesProcess;
    const before = await status();
    expect(before).toMatchObject({ id: 'sources-1', component: 'sources', sources: 2 });
    expect(before?.generation).toBeGreaterThanOrEqual(1);
    expect(before?.pid).toBeGreaterThan(0);

    process.kill(before?.pid ?? 0, 'SIGKILL');
    await waitFor('the restart line', () =>
      printed.find((l) => /^sources sources-1 exited \(signal SIGKILL\); restarting in 1 s/.test(l)),
    );
    await waitFor(
      'the sources process back on the contract',
      async () => {
        const now = await status();
        return now?.pid !== undefined && now.pid !== before?.pid && (now.generation ?? 0) >= 1;
      },
      30_000,
    );
    const afterRestart = pings();
    await waitFor('pings again after the restart', () => pings() >= afterRestart + 2, 30_000);
    await waitFor('PingSource Ready again', () => ready('PingSource', 'every-second')?.status === 'True');
  }, 120_000);
});
