// kafkajs 2.2.4 arms a timer with a negative delay, which Node >= 23 reports as a
// TimeoutNegativeWarning in every process that talks to Kafka; patches/kafkajs@2.2.4.patch fixes it.
// A plain Node process (no vitest) connects a producer and an admin client and must print no warning.
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const SCRIPT = `
const { Kafka, logLevel } = require('kafkajs');
const kafka = new Kafka({ clientId: 'warning-check', brokers: process.env.BROKERS.split(','), logLevel: logLevel.NOTHING });
(async () => {
  const producer = kafka.producer();
  const admin = kafka.admin();
  await producer.connect();
  await admin.connect();
  await admin.listTopics();
  await producer.disconnect();
  await admin.disconnect();
  console.log('done');
})().catch((e) => { console.error(e); process.exit(1); });
`;

describe('kafkajs under this Node', () => {
  it('connects and disconnects without a TimeoutNegativeWarning', async () => {
    const brokers = inject('kafkaBrokers');
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((done, fail) =>
      execFile(
        process.execPath,
        ['-e', SCRIPT],
        {
          cwd: join(ROOT, 'packages/broker'),
          env: { ...process.env, BROKERS: brokers.join(',') },
          timeout: 20_000,
        },
        (err, out, errOut) =>
          err ? fail(new Error(`${err.message}\n${errOut}`)) : done({ stdout: out, stderr: errOut }),
      ),
    );
    expect(stdout.trim()).toBe('done');
    expect(stderr).not.toContain('TimeoutNegativeWarning');
  });
});
