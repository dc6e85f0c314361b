// `eddy serving` as a process, exactly as deployed (packages/cli/dist/main.js): from a contract file
// it runs a revision whose replica is a tiny Node HTTP server behind its router, answers its probes,
// and on SIGTERM exits 0 with the replica gone; bad flags exit 2 naming the flag. From a feed URL with
// `--log kafka` it reads the backlog of a real Kafka consumer group itself and scales a revision at
// zero up, and says so in its status report to the feed.

import { writeFileSync } from 'node:fs';
import type { ServingContract } from '@eddy/api';
import { openKafkaEventLog } from '@eddy/broker';
import { ContractFeed, isRunning, serveContractFeed } from '@eddy/runtime';
import { asServingProcessReport } from '@eddy/serving';
import { request } from 'undici';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { testContract, testRevision } from '../../packages/serving/src/testing/contracts.ts';
import { eddyJs } from '../broker/data-plane-processes.ts';
import { freshDir } from '../broker/helpers.ts';
import { freePorts } from '../harness/free-ports.ts';
import { spawnNodeScript } from '../harness/node-process.ts';
import { quiet, unique, waitFor } from './helpers.ts';

/** Answers `<revision> <pid>` on every path; drains on SIGTERM. */
const SERVER = `const s = require('node:http').createServer((q, r) => r.end(process.env.K_REVISION + ' ' + process.pid)).listen(+process.env.PORT, '127.0.0.1', () => console.log('replica listening')); process.on('SIGTERM', () => s.close(() => process.exit(0)));`;

const revision = (namespace: string, name: string, annotations: Record<string, string> = {}) =>
  testRevision(namespace, name, { script: SERVER, annotations, extra: { terminationGraceMs: 5_000 } });

const serving = (args: string[]) => spawnNodeScript(eddyJs, ['serving', ...args]);

describe('eddy serving (the serving process)', () => {
  it('runs a contract file: routes to the replica, answers its probes, drains on SIGTERM (exit 0, replica gone)', {
    timeout: 60_000,
  }, async () => {
    const ns = unique('svp');
    const file = `${freshDir('serving-contract')}.json`;
    writeFileSync(file, JSON.stringify(testContract(ns, 1, [revision(ns, 'svc-00001')])));
    const [port, probePort] = await freePorts(2);
    const p = serving([
      '--contract',
      file,
      '--port',
      String(port),
      '--probe-port',
      String(probePort),
      '--log-level',
      'info',
    ]);
    await p.waitForLine(/serving listening on http:\/\/127\.0\.0\.1:\d+ /);
    await p.waitForLine(/applied serving contract generation 1/);
    // What the replica prints comes out as a JSON line eddy dev recognises.
    const printed = await p.waitForLine(/"replicaOutput".*replica listening/);
    expect(JSON.parse(printed).replicaOutput).toMatchObject({ namespace: ns, revision: 'svc-00001' });

    const res = await request(`http://127.0.0.1:${port}/${ns}/svc`);
    const [answeredBy, pid] = (await res.body.text()).split(' ');
    expect(res.statusCode).toBe(200);
    expect(answeredBy).toBe('svc-00001');
    const replica = Number(pid);
    expect(isRunning(replica)).toBe(true);

    const probe = async (path: string) => {
      const r = await request(`http://127.0.0.1:${probePort}${path}`);
      return { status: r.statusCode, text: await r.body.text() };
    };
    expect(await probe('/healthz')).toMatchObject({ status: 200 });
    const ready = await probe('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ok', generation: 1 });
    const metrics = await probe('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/eddy_serving_\w+\{[^}]*revision="svc-00001"/);

    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    await waitFor('the replica gone', () => !isRunning(replica), 10_000);
  });

  it('exits 2 on a bad flag, naming it; 1 on a contract file that is not one, naming the field', {
    timeout: 90_000,
  }, async () => {
    // Each message is unit-tested (packages/serving/src/plane/main.test.ts); here: how the process ends.
    const usage = serving(['--contract', 'c.json', '--port', 'x']);
    const file = `${freshDir('bad-contract')}.json`;
    writeFileSync(file, JSON.stringify({ generation: 1, revisions: [{}], routes: [] }));
    const bad = serving(['--contract', file]);
    expect(await usage.exited).toEqual({ code: 2, signal: null });
    expect(usage.output.join('\n')).toMatch(/--port must be an integer from 0 to 65535, got "x"/);
    expect(usage.output.join('\n')).toMatch(/usage: eddy serving --contract/);
    // A file that is not a contract: exit 1, the error names the file and the field.
    expect(await bad.exited).toEqual({ code: 1, signal: null });
    expect(bad.output.join('\n')).toContain(
      `contract file ${file}: serving contract: revisions[0].namespace must be a non-empty string`,
    );
  });

  it('from a feed with --log kafka: the lag of a real consumer group scales a revision up from zero', {
    timeout: 90_000,
  }, async () => {
    const brokers = inject('kafkaBrokers');
    const ns = unique('svk');
    const topic = unique('serving-backlog');
    const group = unique('serving-group');
    // 250 events no one consumed: the group's lag, read from Kafka's offsets.
    const log = openKafkaEventLog({ brokers, logger: quiet });
    onTestFinished(() => log.close());
    await log.ensureTopic(topic, { partitions: 2 });
    await log.append(
      topic,
      Array.from({ length: 250 }, (_, i) => ({ specversion: '1.0', id: `e${i}`, source: 'test', type: 't' })),
    );

    const feed = new ContractFeed<ServingContract>();
    const server = await serveContractFeed(feed, { path: '/v1/contract/serving' });
    onTestFinished(() => server.close());
    const rev = {
      ...revision(ns, 'svc-00001', { 'autoscaling.knative.dev/initial-scale': '0' }),
      backlog: [{ routeId: `${ns}/to-svc`, group, topic, share: 1 }],
    };
    feed.publish(testContract(ns, 1, [rev]));
    const p = serving([
      '--contract',
      server.url,
      '--member-id',
      'serving-test',
      '--log',
      'kafka',
      '--brokers',
      brokers.join(','),
      '--tick-ms',
      '200',
      '--log-level',
      'warn',
    ]);
    expect(await feed.appliedBy('serving', 1, 30_000)).toBe(true);

    const report = () => asServingProcessReport(feed.members('serving')[0]?.status);
    const scaled = await waitFor(
      'the revision scaled up for the backlog',
      () => {
        const status = report()?.revisions.find((r) => r.name === 'svc-00001');
        return status && status.desiredReplicas > 0 && status.actualReplicas > 0 ? status : undefined;
      },
      { timeoutMs: 45_000, describe: () => ({ report: report(), output: p.output.slice(-10) }) },
    );
    expect(scaled.lag).toBe(250);
    // ceil(250 / the default lag-target 100)
    expect(scaled.desiredReplicas).toBe(3);
    const decisions = report()?.decisions[`${ns}/svc-00001`] ?? [];
    expect(decisions.some((d) => d.reason === 'backlog' && d.desired === 3)).toBe(true);

    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });
});
